"""Trained models shipped with the package, so that ``andicam predict`` works without training.

Each shipped model is a folder ``trained_models/<name>/`` holding ``model.pt`` (a file written by
``andicam train``, copied byte for byte) and ``manifest.json``: where the model came from (config,
preset, commit, seeds, training shards), what it scores (test accuracy clean and under localisation
noise, with Wilson intervals; a check set that can be regenerated from its spec), and the commands
that rebuild and re-ship it. ``andicam ship-model`` writes the folder (``ship_model``), all of it or
nothing; ``andicam models`` lists them; ``andicam predict --model NAME`` uses one, and without
``--model`` the default model of ``--task`` (``DEFAULT_MODELS``).

Nothing here imports torch at import time (``andicam models`` needs none); ``ship_model`` does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from andicam.dataio import ANDI_MODELS, CLASS_NAMES, FORMAT as SHARD_FORMAT, DataFileError, open_hdf5
from andicam.errors import UserInputError
from andicam.files import read_json, write_json

if TYPE_CHECKING:
    import torch

SHIPPED_DIR = Path(__file__).resolve().parent / "trained_models"
MODEL_FILE = "model.pt"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "andicam-shipped-model/1"

# Class names of each task, in label order: the paper's eight classes, and the five models of the
# AnDi 2020 challenge's task 2 (andi-datasets' labels 0..4).
TASKS: dict[str, tuple[str, ...]] = {
    "paper8": CLASS_NAMES,
    "andi2020": ANDI_MODELS,
}
DEFAULT_TASK = "paper8"
# The model `andicam predict` uses without --model, per task. paper8: noise-robust (measured tracks
# carry localisation noise) and trained on lengths 10..1000 (measured tracks have any length).
DEFAULT_MODELS: dict[str, str] = {"paper8": "robust-variable", "andi2020": "andi2020-task2"}
# What to do where a task's default model is not shipped.
HOW_TO_GET: dict[str, str] = {
    "paper8": "train one (`snakemake --cores all robust_models --configfile presets/quick.yaml`) and pass "
              "--model results/robust/models/variable/seed0/model.pt, or ship it with `andicam ship-model` "
              "(docs/predict.md)",
    "andi2020": "train one (`snakemake --cores all andi2020 --configfile presets/quick.yaml`) and pass --model "
                "results/andi2020/models/seed0/model.pt, or ship it as andi2020-task2 with `andicam ship-model` "
                "(docs/predict.md)",
}
# Noise levels of the test accuracy every manifest records (sigma in units of the step std).
TEST_SIGMAS: tuple[float, ...] = (0.0, 0.5, 1.0)
REQUIRED = ("format", "name", "file", "sha256", "size_bytes", "task", "class_names", "architecture", "check")
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")


@dataclass(frozen=True)
class ShippedModel:
    name: str
    folder: Path
    manifest: dict[str, Any]

    @property
    def model_path(self) -> Path:
        return self.folder / self.manifest["file"]

    @property
    def task(self) -> str:
        return self.manifest["task"]


@dataclass(frozen=True)
class ResolvedModel:
    """The model file a ``--model`` spec names; ``shipped`` when it is a shipped model."""

    path: Path
    shipped: ShippedModel | None = None

    @property
    def name(self) -> str | None:
        return None if self.shipped is None else self.shipped.name


def shipped_dir() -> Path:
    """The package's folder of shipped models (read at call time, so tests can point it elsewhere)."""
    return SHIPPED_DIR


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise UserInputError(f"model name {name!r}: use lower-case letters, digits, '.', '_' and '-', "
                             "starting with a letter or digit")
    return name


def read_manifest(folder: str | Path) -> ShippedModel:
    """A shipped model's folder; DataFileError naming the manifest when it is missing or incomplete."""
    folder = Path(folder)
    path = folder / MANIFEST_FILE
    try:
        manifest = read_json(path)
    except FileNotFoundError:
        raise DataFileError(f"{path}: no manifest (a shipped model's folder holds {MODEL_FILE} and "
                            f"{MANIFEST_FILE})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DataFileError(f"{path}: not a readable manifest: {exc}") from None
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise DataFileError(f"{path}: manifest lacks {', '.join(missing)}")
    if manifest["format"] != MANIFEST_FORMAT:
        raise DataFileError(f"{path}: format {manifest['format']!r}, expected {MANIFEST_FORMAT!r}")
    if manifest["name"] != folder.name:
        raise DataFileError(f"{path}: names the model {manifest['name']!r}, but its folder is {folder.name!r}")
    return ShippedModel(folder.name, folder, manifest)


def list_shipped(root: str | Path | None = None) -> list[ShippedModel]:
    """Every shipped model under ``root`` (default: the package's), by name; hidden folders (a ship in
    progress) are not models."""
    root = shipped_dir() if root is None else Path(root)
    if not root.is_dir():
        return []
    return [read_manifest(p) for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith((".", "_"))]


def verify(model: ShippedModel) -> bool:
    """Whether the model file is there and has the manifest's size and sha256."""
    path = model.model_path
    return (path.is_file() and path.stat().st_size == model.manifest["size_bytes"]
            and sha256_file(path) == model.manifest["sha256"])


def default_model(task: str = DEFAULT_TASK, root: str | Path | None = None) -> ShippedModel:
    check_task(task)
    name = DEFAULT_MODELS[task]
    shipped = {m.name: m for m in list_shipped(root)}
    if name not in shipped:
        raise UserInputError(f"no model is shipped for task {task} yet (its default would be {name!r}); "
                             f"{HOW_TO_GET[task]}")
    return shipped[name]


def check_task(task: str) -> str:
    if task not in TASKS:
        raise UserInputError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    return task


def resolve_model(spec: str | Path | None, task: str | None = None,
                  root: str | Path | None = None) -> ResolvedModel:
    """The model a ``--model`` spec names: an existing file (as the workflow passes its own models), else
    a shipped model's name; none: the default shipped model of ``task`` (default ``DEFAULT_TASK``)."""
    if spec is None:
        model = default_model(check_task(task or DEFAULT_TASK), root)
        return ResolvedModel(model.model_path, model)
    if Path(spec).is_file():
        return ResolvedModel(Path(spec))
    shipped = {m.name: m for m in list_shipped(root)}
    if str(spec) not in shipped:
        names = ", ".join(shipped) or "none yet"
        raise UserInputError(f"--model {spec}: neither a model file nor a shipped model (shipped: {names}; "
                             "`andicam models` lists them)")
    model = shipped[str(spec)]
    if task is not None and check_task(task) != model.task:
        raise UserInputError(f"--model {spec} is a {model.task} model, not {task}")
    return ResolvedModel(model.model_path, model)


def summary_rows(models: Sequence[ShippedModel]) -> list[dict[str, Any]]:
    """One row per shipped model: what ``andicam models`` prints (hashes each file)."""
    rows = []
    for m in models:
        test = m.manifest.get("test", {}).get("accuracy", [])
        rows.append({"name": m.name, "task": m.task, "default": DEFAULT_MODELS.get(m.task) == m.name,
                     "classes": len(m.manifest["class_names"]), "kind": m.manifest.get("kind"),
                     "regime": m.manifest.get("regime"), "test_n": m.manifest.get("test", {}).get("n"),
                     **{f"acc_sigma_{format_sigma(s)}": accuracy_at(test, s) for s in TEST_SIGMAS},
                     "size_bytes": m.manifest["size_bytes"], "hash_ok": verify(m)})
    return rows


def models_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """``summary_rows`` as a fixed-width table; accuracies are the manifests' test accuracies."""
    if not rows:
        return "no shipped models yet (docs/predict.md says how to ship one)"
    head = ["name", "task", "classes", "kind", "regime", *(f"acc s={format_sigma(s)}" for s in TEST_SIGMAS),
            "test n", "size", "hash"]
    body = [[row["name"] + (" (default)" if row["default"] else ""), row["task"], str(row["classes"]),
             str(row["kind"]), str(row["regime"]),
             *("-" if row[f"acc_sigma_{format_sigma(s)}"] is None else f"{row[f'acc_sigma_{format_sigma(s)}']:.3f}"
               for s in TEST_SIGMAS),
             str(row["test_n"]), f"{row['size_bytes'] / 1e6:.1f} MB", "ok" if row["hash_ok"] else "MISMATCH"]
            for row in rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [head, *body]]
    return "\n".join(lines) + "\naccuracy: on the test shards, clean and at localisation noise sigma (step std units)"


# --- shipping ---------------------------------------------------------------------------------------------------


def portable(path: str | Path) -> str:
    """A path as the manifest records it: relative to the workflow folder (the working directory) where it
    lies inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def shard_provenance(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """File, regime, split, shard, seed and master seed of trajectory shards, from their attributes."""
    rows = []
    for path in paths:
        f, attrs = open_hdf5(path, SHARD_FORMAT)
        f.close()
        rows.append({"file": portable(path),
                     **{k: attrs.get(k) for k in ("regime", "split", "shard", "seed", "master_seed", "n_per_class")}})
    return rows


def accuracy_rows(table: Any) -> list[dict[str, Any]]:
    """Rows (sigma, n, correct, accuracy, Wilson 95 % low and high) of an ``evaluate_at_noise`` table."""
    from andicam.intervals import wilson_interval

    rows = []
    for record in table.to_dict("records"):
        n = int(record["n"])
        correct = int(round(float(record["accuracy"]) * n))
        low, high = wilson_interval(correct, n)
        rows.append({"sigma": float(record["sigma"]), "n": n, "correct": correct,
                     "accuracy": float(record["accuracy"]), "wilson_low": low, "wilson_high": high})
    return rows


def accuracy_at(rows: Sequence[Mapping[str, Any]], sigma: float) -> float | None:
    return next((float(r["accuracy"]) for r in rows if float(r["sigma"]) == sigma), None)


@dataclass(frozen=True)
class ShipRequest:
    """What ``andicam ship-model`` was asked: enough to ship the model again (``reship_command``)."""

    model: str
    name: str
    config: tuple[str, ...]
    preset: str
    test: tuple[str, ...]
    rebuild: str
    task: str | None = None
    check_generator: str | None = None
    check_n: int = 100
    check_seed: int = 0
    check_sigmas: tuple[float, ...] = (0.0, 0.5)
    test_sigmas: tuple[float, ...] = TEST_SIGMAS


def reship_command(req: ShipRequest) -> str:
    """The ``andicam ship-model`` command that ships the same model with the same spec again."""
    words = ["andicam", "ship-model", "--model", req.model, "--name", req.name, "--config", *req.config,
             "--preset", req.preset, "--test", *req.test, "--rebuild", req.rebuild]
    if req.task is not None:
        words += ["--task", req.task]
    if req.check_generator is not None:
        words += ["--check-generator", req.check_generator]
    words += ["--check-n", str(req.check_n), "--check-seed", str(req.check_seed),
              "--check-sigmas", *map(format_sigma, req.check_sigmas),
              "--test-sigmas", *map(format_sigma, req.test_sigmas), "--replace"]
    return shlex.join(words)


def format_sigma(sigma: float) -> str:
    return format(float(sigma), "g")


def infer_task(num_classes: int) -> str:
    tasks = [t for t, names in TASKS.items() if len(names) == num_classes]
    if len(tasks) != 1:
        raise UserInputError(f"a model with {num_classes} classes matches no single task ({', '.join(TASKS)}); "
                             "give --task")
    return tasks[0]


def build_manifest(*, req: ShipRequest, task: str, sha256: str, size_bytes: int, architecture: Mapping[str, Any],
                   meta: Mapping[str, Any], kind: str, training_noise: Mapping[str, Any], config: Mapping[str, Any],
                   commit: Mapping[str, Any], training_data: list[dict[str, Any]], test: Mapping[str, Any],
                   check: Mapping[str, Any], training: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest of a shipped model, from what ``ship_model`` measured and read (pure)."""
    tags = dict(meta.get("tags", {}))
    return {
        "format": MANIFEST_FORMAT,
        "name": req.name,
        "file": MODEL_FILE,
        "sha256": sha256,
        "size_bytes": int(size_bytes),
        "task": task,
        "class_names": list(TASKS[task]),
        "architecture": dict(architecture),
        "kind": kind,
        "training_noise": dict(training_noise),
        "regime": tags.get("regime"),
        "tags": tags,
        "preset": req.preset,
        "config_files": list(req.config),
        "config": dict(config),
        "commit": dict(commit),
        "master_seed": meta.get("master_seed"),
        "training_seed": meta.get("seed"),
        "torch_seed": meta.get("torch_seed"),
        "training_data": training_data,
        "training": dict(training),
        "test": dict(test),
        "check": dict(check),
        "versions": dict(meta.get("versions", {})),
        "source": req.model,
        "rebuild": req.rebuild,
        "reship": reship_command(req),
    }


def write_shipped(model_file: str | Path, manifest: Mapping[str, Any], root: str | Path | None = None,
                  replace: bool = False) -> ShippedModel:
    """``root/<name>/`` with a copy of the model and the manifest, complete or not at all.

    Written into a hidden temporary folder beside it and renamed into place; a model shipped before
    under the same name is replaced only with ``replace``, and kept if the rename fails.
    """
    root = shipped_dir() if root is None else Path(root)
    name = check_name(manifest["name"])
    final = root / name
    if final.exists() and not replace:
        raise UserInputError(f"a model named {name} is already shipped; --replace ships over it")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp", dir=root))
    old = root / f".{name}.old{os.getpid()}"
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide an installed model from other users
        shutil.copyfile(model_file, tmp / MODEL_FILE)
        if sha256_file(tmp / MODEL_FILE) != manifest["sha256"]:
            raise DataFileError(f"{model_file}: the copy's sha256 differs from the file's (changed while shipping?)")
        write_json(tmp / MANIFEST_FILE, manifest)
        if final.exists():
            os.replace(final, old)
        try:
            os.replace(tmp, final)
        except OSError:
            if old.exists():
                os.replace(old, final)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return read_manifest(final)


def ship_model(req: ShipRequest, root: str | Path | None = None, replace: bool = False,
               device: torch.device | str = "cpu", batch_size: int = 512) -> ShippedModel:
    """Measure, describe and ship one model: ``andicam ship-model``, run from the workflow folder that trained it.

    Scores the model on the test shards (``andicam.noise.evaluate_at_noise`` with the model's master seed,
    so the numbers are those of the workflow's noise tables) and on a fresh check set, reads the seeds of
    its training shards, and writes ``root/<name>/`` (``write_shipped``). Inputs from different runs
    (config, shards, model) are refused before anything is written.
    """
    from dataclasses import asdict

    from andicam import checkset
    from andicam.config import load_config
    from andicam.dataio import read_many
    from andicam.model import count_parameters, load_model
    from andicam.noise import evaluate_at_noise
    from andicam.pages import code_version
    from andicam.predict import model_kind, model_noise

    if (shipped_dir() if root is None else Path(root)).joinpath(check_name(req.name)).exists() and not replace:
        raise UserInputError(f"a model named {req.name} is already shipped; --replace ships over it")
    model = load_model(req.model, device)
    meta = dict(model.meta)
    task = check_task(req.task) if req.task is not None else infer_task(model.cfg.num_classes)
    if model.cfg.num_classes != len(TASKS[task]):
        raise UserInputError(f"{req.model}: {model.cfg.num_classes} classes, but task {task} has {len(TASKS[task])}")
    config = load_config(req.config)
    regime = meta.get("tags", {}).get("regime")
    if regime is None:
        raise UserInputError(f"{req.model}: no regime tag in its metadata (the workflow trains with --tag regime=...)")
    if meta.get("master_seed") != config["seed"]:
        raise UserInputError(f"{req.model} was trained with master seed {meta.get('master_seed')}, but the config "
                             f"({', '.join(req.config)}) has seed {config['seed']}: not the config that trained it")
    train_files = [*meta.get("data", {}).get("train", []), *meta.get("data", {}).get("val", [])]
    missing = [f for f in train_files if not Path(f).is_file()]
    if missing:
        raise UserInputError(f"the training shards named in {req.model}'s metadata are not here ({missing[0]}, ...): "
                             "ship from the workflow folder that trained it")
    training_data = shard_provenance(train_files)
    test_data = shard_provenance(req.test)
    for shard in test_data:
        if shard["split"] != "test" or shard["master_seed"] != config["seed"] or shard["regime"] != regime:
            raise UserInputError(f"{shard['file']}: a {shard['regime']} {shard['split']} shard of master seed "
                                 f"{shard['master_seed']}; --test needs the {regime} test shards of seed "
                                 f"{config['seed']}")

    data = read_many(req.test)
    table = evaluate_at_noise([req.model], [{}], data, req.test_sigmas, int(config["seed"]), ["accuracy"],
                              device=device, batch_size=batch_size)
    test = {"files": test_data, "n": len(data), "noise_seed_master": int(config["seed"]),
            "interval": "Wilson 95 % over test trajectories", "accuracy": accuracy_rows(table)}

    gen_name = req.check_generator or task
    try:
        spec = checkset.CheckSpec(gen_name, req.check_n, req.check_seed, tuple(req.check_sigmas),
                                  checkset.generator(gen_name).options(config, regime))
        check_rows = checkset.check_scores(model, spec, batch_size)
    except ValueError as exc:
        raise UserInputError(f"check set: {exc}") from None
    check = {**spec.as_dict(), "n": check_rows[0]["n"], "accuracy": check_rows,
             "tolerance": "|a - a_recorded| <= 4 sqrt(a (1 - a) / n) + 1 / n (andicam.checkset.tolerance)"}

    metrics_path = Path(req.model).with_name("metrics.json")
    metrics = read_json(metrics_path) if metrics_path.is_file() else {}
    training = {k: metrics[k] for k in ("best_epoch", "best_val_acc", "best_val_loss", "n_train", "n_val")
                if k in metrics}
    noise = model_noise(model)
    manifest = build_manifest(
        req=req, task=task, sha256=sha256_file(req.model), size_bytes=Path(req.model).stat().st_size,
        architecture={**asdict(model.cfg), "n_parameters": count_parameters(model)}, meta=meta,
        kind=model_kind(noise), training_noise={"low": noise.low, "high": noise.high, "rotate": noise.rotate,
                                                "clean_share": noise.clean},
        config=config, commit=code_version("."), training_data=training_data, test=test, check=check,
        training=training)
    return write_shipped(req.model, manifest, root, replace)

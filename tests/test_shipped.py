"""Shipped models: every folder of the package's trained_models checks out (hash, architecture, check set),
and ``ship-model``, ``models`` and ``predict`` without ``--model`` work on a tiny model trained here."""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

import andicam.shipped as shipped
from andicam.checkset import GENERATORS, CheckSpec, check_scores, make_check_sets, noiseless, tolerance
from andicam.cli import main as cli_main
from andicam.dataio import open_hdf5
from andicam.errors import UserInputError
from andicam.model import count_parameters, load_model
from andicam.shipped import (
    DEFAULT_MODELS,
    MANIFEST_FILE,
    ShippedModel,
    list_shipped,
    read_manifest,
    resolve_model,
    sha256_file,
    verify,
    write_shipped,
)
from helpers import REPO, modules_loaded_by, tiny_trained_model

CONFIG = [str(REPO / "config.yaml"), str(REPO / "presets" / "tiny.yaml")]
NAME = DEFAULT_MODELS["paper8"]


def _shipped_params() -> list:
    models = list_shipped()
    if not models:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no model is shipped in trained_models yet; the "
                                                               "tests below ship a tiny one into a temporary folder"))]
    return [pytest.param(m, id=m.name) for m in models]


def assert_architecture(model: ShippedModel) -> None:
    net = load_model(str(model.model_path))
    arch = dict(model.manifest["architecture"])
    assert arch.pop("n_parameters") == count_parameters(net)
    assert arch == asdict(net.cfg)
    assert net.cfg.num_classes == len(model.manifest["class_names"])


def assert_check_set(model: ShippedModel) -> None:
    """The check set regenerated from the manifest's spec scores as recorded, within ``tolerance``."""
    spec = CheckSpec.from_dict(model.manifest["check"])
    recorded = model.manifest["check"]["accuracy"]
    got = check_scores(load_model(str(model.model_path)), spec)
    assert [(r["sigma"], r["n"]) for r in got] == [(r["sigma"], r["n"]) for r in recorded]
    for now, then in zip(got, recorded):
        assert abs(now["accuracy"] - then["accuracy"]) <= tolerance(then["accuracy"], then["n"]), (now, then)


# --- every model shipped with the package ------------------------------------------------------------------------


@pytest.mark.parametrize("model", _shipped_params())
def test_shipped_model_matches_its_hash(model: ShippedModel) -> None:
    assert model.model_path.stat().st_size == model.manifest["size_bytes"]
    assert sha256_file(model.model_path) == model.manifest["sha256"]


@pytest.mark.parametrize("model", _shipped_params())
def test_shipped_model_loads_with_its_architecture(model: ShippedModel) -> None:
    assert_architecture(model)
    assert model.task in shipped.TASKS and model.manifest["class_names"] == list(shipped.TASKS[model.task])


@pytest.mark.parametrize("model", _shipped_params())
def test_shipped_model_scores_its_check_set(model: ShippedModel) -> None:
    assert model.manifest["check"]["generator"] in GENERATORS
    assert_check_set(model)


def test_shipped_folder_holds_only_complete_models() -> None:
    root = shipped.shipped_dir()
    folders = [p for p in root.iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert all(not p.name.startswith(".") for p in folders), "a half-written ship was left behind"
    assert [m.name for m in list_shipped()] == sorted(p.name for p in folders)


# --- shipping a tiny model trained here --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("run")
    model, test = tiny_trained_model(folder)
    return {"model": model, "test": test, "folder": folder}


def _ship(tiny: dict[str, Path], root: Path, *extra: str, name: str = NAME, test: Path | None = None) -> int:
    return cli_main(["ship-model", "--model", str(tiny["model"]), "--name", name, "--config", *CONFIG,
                     "--preset", "tiny", "--test", str(test or tiny["test"]), "--rebuild",
                     "snakemake --cores all robust_models --configfile presets/tiny.yaml", "--check-n", "3",
                     "--check-seed", "5", "--dir", str(root), "--device", "cpu", *extra])


@pytest.fixture(scope="module")
def shipped_root(tiny: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trained_models")
    assert _ship(tiny, root) == 0
    return root


def test_ship_writes_the_model_and_its_manifest(tiny: dict[str, Path], shipped_root: Path) -> None:
    model = read_manifest(shipped_root / NAME)
    m = model.manifest
    assert sorted(p.name for p in (shipped_root / NAME).iterdir()) == [MANIFEST_FILE, "model.pt"]
    assert m["sha256"] == sha256_file(tiny["model"]) == sha256_file(model.model_path)
    assert m["size_bytes"] == tiny["model"].stat().st_size and verify(model)
    assert m["task"] == "paper8" and m["class_names"][0] == "SubATTM" and len(m["class_names"]) == 8
    assert m["kind"] == "robust" and m["regime"] == "variable" and m["training_noise"]["high"] == 0.5
    assert m["preset"] == "tiny" and m["config"]["run_name"] == "tiny" and m["config"]["seed"] == 2024
    assert set(m["commit"]) == {"commit", "modified"}
    assert m["master_seed"] == 2024 and m["training_seed"] == 0 and isinstance(m["torch_seed"], int)
    assert_architecture(model)
    # The seeds of the training shards, as their files say.
    assert [d["split"] for d in m["training_data"]] == ["train", "val"]
    for d in m["training_data"]:
        f, attrs = open_hdf5(d["file"], "andicam-trajectories/1")
        f.close()
        assert (d["seed"], d["master_seed"]) == (attrs["seed"], attrs["master_seed"])
    # Test accuracy clean and under noise, with its Wilson interval.
    assert [r["sigma"] for r in m["test"]["accuracy"]] == [0.0, 0.5, 1.0]
    for r in m["test"]["accuracy"]:
        assert r["n"] == m["test"]["n"] == 48 and r["correct"] == round(r["accuracy"] * r["n"])
        assert 0 <= r["wilson_low"] <= r["accuracy"] <= r["wilson_high"] <= 1
    # The check set: its spec, with the regime's lengths from the config, and its accuracy.
    c = m["check"]
    assert (c["generator"], c["n_per_class"], c["seed"], c["sigmas"]) == ("paper8", 3, 5, [0.0, 0.5])
    assert c["options"] == {"min_length": 10, "max_length": 1000, "alpha_sub": [0.1, 0.9], "alpha_sup": [1.1, 1.9]}
    assert [r["n"] for r in c["accuracy"]] == [24, 24]
    assert m["rebuild"].startswith("snakemake ") and m["training"]["n_train"] == 48
    assert shlex.split(m["reship"])[:2] == ["andicam", "ship-model"] and "--replace" in m["reship"]


def test_a_shipped_model_scores_its_check_set_again(shipped_root: Path) -> None:
    assert_check_set(read_manifest(shipped_root / NAME))


def test_the_reship_command_ships_the_same_manifest(shipped_root: Path, tmp_path: Path) -> None:
    before = read_manifest(shipped_root / NAME).manifest
    root = tmp_path / "again"
    assert cli_main([*shlex.split(before["reship"])[1:], "--dir", str(root)]) == 0
    assert read_manifest(root / NAME).manifest == before


def test_a_failing_ship_leaves_no_folder(tiny: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "models"
    train_shard = tiny["test"].parents[1] / "train" / "shard0.h5"
    assert _ship(tiny, root, test=train_shard) == 2  # refused before anything is written
    assert "--test needs the variable test shards" in capsys.readouterr().err
    assert not root.exists() or not any(root.iterdir())

    def broken(path: Path, obj: object) -> None:
        Path(path).write_text("{")  # half a manifest, then the process dies
        raise RuntimeError("killed while writing")

    monkeypatch.setattr(shipped, "write_json", broken)
    with pytest.raises(RuntimeError, match="killed"):
        _ship(tiny, root)
    assert list(root.iterdir()) == []  # neither the model's folder nor its temporary one


def test_a_failing_reship_keeps_the_model_shipped_before(shipped_root: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "models"
    shutil.copytree(shipped_root, root)
    model = read_manifest(root / NAME)
    with pytest.raises(UserInputError, match="already shipped; --replace"):
        write_shipped(model.model_path, model.manifest, root)
    real_replace = shipped.os.replace

    def rename_fails(src: Path, dst: Path) -> None:  # the new folder onto the name, after the old one moved aside
        if Path(src).name.startswith(f".{NAME}.tmp") and Path(dst).name == NAME:
            raise OSError("rename failed")
        real_replace(src, dst)

    monkeypatch.setattr(shipped.os, "replace", rename_fails)
    with pytest.raises(OSError, match="rename failed"):
        write_shipped(shipped_root / NAME / "model.pt", {**model.manifest, "preset": "other"}, root, replace=True)
    assert sorted(p.name for p in root.iterdir()) == [NAME]
    assert read_manifest(root / NAME).manifest == model.manifest and verify(read_manifest(root / NAME))


# --- resolving --model, and the models listing -------------------------------------------------------------------


def test_model_spec_is_a_file_or_a_shipped_name(tiny: dict[str, Path], shipped_root: Path) -> None:
    by_name = resolve_model(NAME, root=shipped_root)
    assert by_name.path == shipped_root / NAME / "model.pt" and by_name.name == NAME
    by_file = resolve_model(str(tiny["model"]), root=shipped_root)
    assert by_file.path == tiny["model"] and by_file.shipped is None
    default = resolve_model(None, root=shipped_root)
    assert default.name == NAME and resolve_model(None, "paper8", root=shipped_root).name == NAME
    with pytest.raises(UserInputError, match=rf"--model robust-fixd: neither a model file nor a shipped model "
                                             rf"\(shipped: {NAME};"):
        resolve_model("robust-fixd", root=shipped_root)
    with pytest.raises(UserInputError, match=f"--model {NAME} is a paper8 model, not andi2020"):
        resolve_model(NAME, "andi2020", root=shipped_root)
    with pytest.raises(UserInputError, match="no model is shipped for task andi2020 yet .*'andi2020-task2'"):
        resolve_model(None, "andi2020", root=shipped_root)
    with pytest.raises(UserInputError, match="shipped: none yet"):
        resolve_model("anything", root=shipped_root / "empty")


def test_models_lists_and_verifies(shipped_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["models", "--dir", str(shipped_root)]) == 0
    out = capsys.readouterr().out
    header, row = out.splitlines()[:2]
    assert header.split()[:5] == ["name", "task", "classes", "kind", "regime"]
    assert row.split()[:7] == [NAME, "(default)", "paper8", "8", "robust", "variable", "%.3f" % read_manifest(
        shipped_root / NAME).manifest["test"]["accuracy"][0]["accuracy"]]
    assert row.split()[-1] == "ok"
    assert cli_main(["models", "--dir", str(shipped_root), "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["name"] == NAME and entry["hash_ok"] and entry["manifest"]["sha256"] == sha256_file(
        shipped_root / NAME / "model.pt")

    damaged = tmp_path / "models"
    shutil.copytree(shipped_root, damaged)
    with open(damaged / NAME / "model.pt", "r+b") as f:
        f.seek(100)
        f.write(b"\0" * 8)
    assert cli_main(["models", "--dir", str(damaged)]) == 1
    assert capsys.readouterr().out.splitlines()[1].split()[-1] == "MISMATCH"
    assert cli_main(["models", "--dir", str(tmp_path / "none")]) == 0
    assert "no shipped models yet" in capsys.readouterr().out


def test_models_command_imports_no_torch() -> None:
    _, torch_loaded, _ = modules_loaded_by(["models"], ("andicam.",))
    assert not torch_loaded


# --- predict with a shipped model -----------------------------------------------------------------------------


def _tracks_csv(path: Path) -> Path:
    rng = np.random.default_rng(3)
    lines = ["track_id,frame,x,y"]
    for t in range(3):
        xy = np.cumsum(rng.normal(size=(40, 2)), axis=0)
        lines += [f"t{t},{f},{x!r},{y!r}" for f, (x, y) in enumerate(xy.tolist())]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_predict_without_model_uses_the_shipped_default(shipped_root: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    tracks = _tracks_csv(tmp_path / "tracks.csv")
    monkeypatch.setattr(shipped, "SHIPPED_DIR", tmp_path / "empty")
    assert cli_main(["predict", "--input", str(tracks), "--out", str(tmp_path / "none.csv")]) == 2
    assert "no model is shipped for task paper8 yet" in capsys.readouterr().err

    monkeypatch.setattr(shipped, "SHIPPED_DIR", shipped_root)
    sha = read_manifest(shipped_root / NAME).manifest["sha256"]
    assert cli_main(["predict", "--input", str(tracks), "--out", str(tmp_path / "a.csv")]) == 0
    assert f"(robust model {NAME})" in capsys.readouterr().err
    meta = json.loads((tmp_path / "a.json").read_text())
    assert (meta["model_name"], meta["model_sha256"], meta["model_kind"]) == (NAME, sha, "robust")
    assert cli_main(["predict", "--model", NAME, "--input", str(tracks), "--out", str(tmp_path / "b.csv")]) == 0
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    # A model file is used as before; its sha256 is recorded, and no shipped name.
    own = shipped_root / NAME / "model.pt"
    assert cli_main(["predict", "--model", str(own), "--input", str(tracks), "--out", str(tmp_path / "c.csv")]) == 0
    meta = json.loads((tmp_path / "c.json").read_text())
    assert (meta["model_name"], meta["model_sha256"]) == (None, sha)


def test_predict_refuses_a_damaged_shipped_model(shipped_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "models"
    shutil.copytree(shipped_root, root)
    with open(root / NAME / "model.pt", "ab") as f:
        f.write(b"\0")
    monkeypatch.setattr(shipped, "SHIPPED_DIR", root)
    tracks = _tracks_csv(tmp_path / "tracks.csv")
    assert cli_main(["predict", "--input", str(tracks), "--out", str(tmp_path / "p.csv")]) == 2
    assert "does not match the sha256 of its manifest" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


# --- check sets -------------------------------------------------------------------------------------------------


def test_a_check_set_is_regenerated_identically() -> None:
    spec = CheckSpec("paper8", 2, 11, (0.0, 0.5), {"min_length": 10, "max_length": 300, "alpha_sub": [0.1, 0.9],
                                                   "alpha_sup": [1.1, 1.9]})
    (a0, a5), labels = make_check_sets(spec)
    (b0, b5), again = make_check_sets(CheckSpec.from_dict(json.loads(json.dumps(spec.as_dict()))))
    assert a0.shape == (16, 2, 1000) and sorted(labels.tolist()) == sorted(list(range(8)) * 2)
    np.testing.assert_array_equal(a0, b0)
    np.testing.assert_array_equal(a5, b5)
    np.testing.assert_array_equal(labels, again)
    assert not np.array_equal(a0, a5)
    other, _ = make_check_sets(CheckSpec("paper8", 2, 12, (0.0,), spec.options))
    assert not np.array_equal(other[0], a0)


def test_the_andi2020_check_set_is_the_challenges_data() -> None:
    """5 x n tracks of the challenge's recipe (its own noise), as the benchmark's files hold them."""
    from andicam.andi2020 import generate_task2, to_trajectories
    from andicam.preprocess import to_model_input

    (x,), labels = make_check_sets(CheckSpec("andi2020", 4, 9))
    data = to_trajectories(generate_task2(20, 9))
    np.testing.assert_array_equal(x, to_model_input(data.trajectories, data.lengths))
    np.testing.assert_array_equal(labels, data.labels)
    with pytest.raises(ValueError, match="challenge's own noise"):
        make_check_sets(CheckSpec("andi2020", 4, 9, (0.0, 0.5)))


def test_another_generator_plugs_into_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    def five_models(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        return rng.random((5 * n, 2, 1000), dtype=np.float32), np.repeat(np.arange(5), n)

    monkeypatch.setitem(GENERATORS, "five", noiseless(five_models))
    (x,), labels = make_check_sets(CheckSpec("five", 3, 1))
    assert x.shape == (15, 2, 1000) and labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    with pytest.raises(ValueError, match="noiseless sets"):
        make_check_sets(CheckSpec("five", 3, 1, (0.0, 0.5)))
    with pytest.raises(ValueError, match="unknown check-set generator 'nope'; known: .*paper8"):
        make_check_sets(CheckSpec("nope", 3, 1))


def test_tolerance_is_four_standard_errors_and_one_trajectory() -> None:
    assert tolerance(0.9, 800) == pytest.approx(4 * (0.9 * 0.1 / 800) ** 0.5 + 1 / 800)
    assert tolerance(1.0, 800) == 1 / 800

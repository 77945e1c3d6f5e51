"""Shared test helpers: run the workflow from a private copy of the repository, small models and data."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from andicam.dataio import ANDI_MODELS, Trajectories
from andicam.model import build_model

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ("Snakefile", "config.yaml", "workflow", "presets", "profiles", "envs")


def copy_workflow(dest: Path) -> Path:
    """The workflow's own files (not results or caches) copied under ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    return dest


def snakemake(workdir: Path, *args: str, timeout: int = 1800, venv_on_path: bool = True) -> subprocess.CompletedProcess:
    """``snakemake ARGS`` in ``workdir``, run by this interpreter's ``snakemake``.

    ``venv_on_path``: this interpreter's bin directory first on PATH (an activated venv); False removes
    it from PATH, as in a shell that never activated the venv.
    """
    bindir = str(Path(sys.executable).parent)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != Path(bindir).resolve()]
    env = {**os.environ, "PATH": os.pathsep.join(([bindir] if venv_on_path else []) + path), "PYTHONHASHSEED": "0"}
    if not venv_on_path:
        env.pop("VIRTUAL_ENV", None)
    return subprocess.run([os.path.join(bindir, "snakemake"), *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)


def trained_like_model(width: int = 4, dtype: torch.dtype = torch.float32) -> nn.Module:
    """A seeded depth-10 model in eval mode whose BatchNorms are not the identity (as after training)."""
    torch.manual_seed(1)
    model = build_model(depth=10, width=width)
    gen = torch.Generator().manual_seed(2)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.2, 0.2, generator=gen)
            m.running_var.uniform_(0.5, 2.0, generator=gen)
            m.weight.data.uniform_(0.5, 1.5, generator=gen)
            m.bias.data.uniform_(-0.2, 0.2, generator=gen)
    return model.to(dtype).eval()


def random_walks(n_per_class: list[int], tmax: int = 60, min_length: int = 10, seed: int = 0) -> Trajectories:
    """Unit-step Gaussian walks from 0, left-aligned, variable lengths; class c has n_per_class[c] members."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(n_per_class)), n_per_class).astype(np.int8)
    labels = labels[rng.permutation(labels.size)]
    n = labels.size
    lengths = rng.integers(min_length, tmax + 1, size=n).astype(np.int32)
    steps = rng.standard_normal((n, 2, tmax)).astype(np.float32)
    steps[:, :, 0] = 0
    traj = np.cumsum(steps, axis=2)
    traj *= np.arange(tmax)[None, None, :] < lengths[:, None, None]
    alpha = rng.uniform(0.1, 1.9, size=n).astype(np.float32)
    return Trajectories(traj.astype(np.float32), lengths, labels, alpha, {"regime": "variable", "split": "train"})


def andi_walks(n_per_class: int, tmax: int = 60, seed: int = 0, split: str = "train") -> Trajectories:
    """``random_walks`` labelled with the five AnDi models (``ANDI_MODELS``), as a 5-class file holds them."""
    data = random_walks([n_per_class] * len(ANDI_MODELS), tmax=tmax, seed=seed)
    data.attrs.update({"class_names": list(ANDI_MODELS), "split": split})
    return data


def andi_model(width: int = 4) -> nn.Module:
    """``trained_like_model`` with the five AnDi models as its classes, recorded in its metadata."""
    torch.manual_seed(1)
    model = build_model(depth=10, width=width, num_classes=len(ANDI_MODELS)).eval()
    model.meta = {"class_names": list(ANDI_MODELS)}
    return model


class Killed(Exception):
    """Stands for a process killed where ``kill_at`` raised it."""


def kill_at(prefix: str) -> Callable[[str], None]:
    """A training log callback that raises Killed at the first line starting with ``prefix``; "epoch   3/"
    is logged after epoch 3 trained and before its checkpoint, so the run dies with epoch 2's."""
    def log(line: str) -> None:
        if line.startswith(prefix):
            raise Killed
    return log


def modules_loaded_by(argv: list[str], prefixes: tuple[str, ...]) -> tuple[list[str], bool, bool]:
    """Run ``andicam ARGV`` (``--help`` exits) in a fresh interpreter: the andicam modules under ``prefixes``
    it imported, and whether it imported torch and matplotlib."""
    code = ("import sys; from andicam.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"loaded = sorted(m for m in sys.modules if m.startswith({prefixes!r}))\n"
            "print(repr((loaded, 'torch' in sys.modules, 'matplotlib' in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO / "workflow")}).stdout.strip().splitlines()[-1]
    loaded, torch_loaded, mpl_loaded = ast.literal_eval(out)  # a tuple of a list and two bools
    return loaded, torch_loaded, mpl_loaded


def tiny_trained_model(folder: Path, master_seed: int = 2024, regime: str = "variable") -> tuple[Path, Path]:
    """(model file, test shard): a depth-10, width-4 noise-robust model trained for one epoch by ``andicam
    train`` on shards simulated by ``andicam simulate``, with the workflow's tags and file layout (seconds)."""
    from andicam.cli import main

    shards = {split: folder / "data" / regime / split / "shard0.h5" for split in ("train", "val", "test")}
    for split, path in shards.items():
        assert main(["simulate", "--regime", regime, "--split", split, "--shard", "0", "--master-seed",
                     str(master_seed), "--n-per-class", "6", "--min-length", "10", "--max-length", "1000",
                     "--out", str(path)]) == 0
    out = folder / "robust" / "models" / regime / "seed0"
    assert main(["train", "--train", str(shards["train"]), "--val", str(shards["val"]),
                 "--out-model", str(out / "model.pt"), "--out-metrics", str(out / "metrics.json"),
                 "--out-history", str(out / "history.csv"), "--checkpoint", str(folder / "checkpoint.pt"),
                 "--seed", "0", "--master-seed", str(master_seed), "--tag", f"regime={regime}", "--tag", "kind=robust",
                 "--depth", "10", "--width", "4", "--epochs", "1", "--batch-size", "16", "--lr", "3e-3",
                 "--no-amp", "--threads", "1", "--device", "cpu", "--noise-max", "0.5", "--rotate"]) == 0
    return out / "model.pt", shards["test"]

"""Run the workflow from a test: a private copy of the repository, the venv's tools on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def snakemake(workdir: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    """``snakemake ARGS`` in ``workdir`` with this interpreter's bin directory first on PATH."""
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"}
    return subprocess.run([os.path.join(bindir, "snakemake"), *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)

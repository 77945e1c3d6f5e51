"""The conda environments pin the same versions as the pip lock (conda cannot be built here)."""

from __future__ import annotations

import re
import tomllib

import yaml

from helpers import REPO


def _name(requirement: str) -> str:
    return re.split(r"[=<>!~ \[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[_name(name)] = version.strip()
    return pins


def _env_pip(path) -> list[str]:
    env = yaml.safe_load(path.read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda
    return next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))


def _env_pins(path) -> dict[str, str]:
    """Each pip package of the env file with its exact version, local label (+cpu) included."""
    pins = {}
    for line in _env_pip(path):
        if line.startswith("-"):
            continue
        assert "==" in line, f"{path.name}: {line} is not pinned"
        name, version = line.split("==")
        assert _name(name) not in pins, f"{path.name}: {name} pinned twice"
        pins[_name(name)] = version.strip()
    return pins


def test_lock_pins_the_known_constraints():
    lock = _lock()
    assert lock["torch"] == "2.13.0"
    assert lock["numpy"] == "1.26.4"
    assert lock["andi-datasets"] == "2.1.13"
    assert lock["stochastic"] == "0.6.0"
    assert lock["snakemake-executor-plugin-slurm"] == "2.6.1"
    assert "ipython" in lock and "pygments" in lock


def test_conda_envs_pin_every_package_of_the_lock():
    lock = _lock()
    direct = {_name(d) for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert direct <= set(lock)
    for name in ("andicam-cpu.yaml", "andicam-cuda.yaml"):
        pip = _env_pip(REPO / "envs" / name)
        # Snakemake names a conda env by the hash of its file, not of files it includes.
        assert not [line for line in pip if line.startswith(("-r", "--requirement", "-c", "--constraint"))], name
        pins = _env_pins(REPO / "envs" / name)
        assert set(pins) == set(lock), f"{name}: lacks {set(lock) - set(pins)}, extra {set(pins) - set(lock)}"
        for package, version in pins.items():
            if package != "torch":
                assert version == lock[package], f"{name}: {package}=={version}, lock has {lock[package]}"


def test_torch_is_the_cpu_build_for_cpu_rules_and_the_cuda_build_for_gpu_rules():
    version = _lock()["torch"]
    cpu_pip = _env_pip(REPO / "envs" / "andicam-cpu.yaml")
    assert _env_pins(REPO / "envs" / "andicam-cpu.yaml")["torch"] == f"{version}+cpu"
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in cpu_pip
    # PyPI's Linux wheel of the pinned version is the CUDA 13 build; the file says which driver it needs.
    cuda = REPO / "envs" / "andicam-cuda.yaml"
    assert _env_pins(cuda)["torch"] == version
    assert not [line for line in _env_pip(cuda) if "index-url" in line]
    assert "CUDA 13" in cuda.read_text() and "driver >= 580" in cuda.read_text()


def test_make_env_installs_the_locked_torch():
    makefile = (REPO / "Makefile").read_text()
    assert "TORCH_VERSION := $(shell sed -n 's/^torch==//p' requirements.lock)" in makefile
    assert "torch==$(TORCH_VERSION)" in makefile and "-r requirements.lock" in makefile


def test_rules_use_only_existing_envs():
    rules = "\n".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    assert "conda:" in rules
    for env in ("andicam-cpu.yaml", "andicam-cuda.yaml"):
        assert (REPO / "envs" / env).is_file()

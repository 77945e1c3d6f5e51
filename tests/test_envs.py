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


def _env_pins(path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda
    pins = {}
    for line in pip:
        if line.startswith("-"):
            continue
        assert "==" in line, f"{path.name}: {line} is not pinned"
        name, version = line.split("==")
        pins[_name(name)] = version.split("+")[0]  # torch==2.13.0+cpu is the CPU build of 2.13.0
    return pins


def test_lock_pins_the_known_constraints():
    lock = _lock()
    assert lock["torch"] == "2.13.0"
    assert lock["numpy"] == "1.26.4"
    assert lock["andi-datasets"] == "2.1.13"
    assert lock["stochastic"] == "0.6.0"
    assert lock["snakemake-executor-plugin-slurm"] == "2.6.1"
    assert "ipython" in lock and "pygments" in lock


def test_conda_envs_agree_with_the_lock():
    lock = _lock()
    direct = {_name(d) for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    for name in ("andicam-cpu.yaml", "andicam-cuda.yaml"):
        pins = _env_pins(REPO / "envs" / name)
        assert direct <= set(pins), f"{name} lacks {direct - set(pins)}"
        for package, version in pins.items():
            assert lock.get(package) == version, f"{name}: {package}=={version}, lock has {lock.get(package)}"


def test_rules_use_only_existing_envs():
    rules = "\n".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    assert "conda:" in rules
    for env in ("andicam-cpu.yaml", "andicam-cuda.yaml"):
        assert (REPO / "envs" / env).is_file()

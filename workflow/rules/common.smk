# Shared by every rule file: config validation, the package on the path, paths and wildcards.

import os
import sys
from pathlib import Path

PKG_DIR = str(Path(workflow.basedir) / "workflow")
# Rules import andicam from the workflow itself, so no environment (pip or conda) needs it installed.
sys.path.insert(0, PKG_DIR)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (PKG_DIR, os.environ.get("PYTHONPATH")) if p)

from andicam.config import ConfigError, validate

try:
    validate(config)
except ConfigError as exc:
    sys.stderr.write(f"{exc}\n")
    sys.exit(1)

ANDICAM = "python -m andicam"
CPU_ENV = "../../envs/andicam-cpu.yaml"
GPU_ENV = "../../envs/andicam-cuda.yaml"
REGIMES = ("fixed", "variable")


wildcard_constraints:
    regime="fixed|variable",
    split="train|val|test",
    shard=r"\d+",
    depth=r"\d+",
    seed=r"\d+",


def shards(regime, split):
    """Every shard file of one regime and split, in index order."""
    n = config["data"]["regimes"][regime]["shards"][split]
    return [f"results/data/{regime}/{split}/shard{i}.h5" for i in range(n)]


def main_model(regime):
    """The model every analysis stage explains: main depth, first training seed."""
    depth, seed = config["model"]["main_depth"], config["train"]["seeds"][0]
    return f"results/models/{regime}/depth{depth}/seed{seed}/model.pt"


def caption(name):
    return f"../report/{name}.rst"

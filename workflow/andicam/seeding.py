"""Seeds derived from one master seed and the identity of a job.

A job's seed depends only on the master seed and names (regime, split,
shard, ...), never on the order or number of jobs, so results are identical
however the workflow is scheduled.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np


def derive_seed(master: int, *keys: object) -> int:
    """A 63-bit seed from the master seed and any printable keys (stable across runs and machines)."""
    text = "/".join([str(int(master)), *map(str, keys)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy's legacy state and torch; return a fresh NumPy Generator."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)

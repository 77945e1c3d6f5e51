"""Every test starts from the same seeds; GPU tests skip where there is no GPU."""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _close_figures():
    """Figures drawn by a test are closed after it (pyplot warns once more than 20 are open)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def nvidia_driver(tmp_path, monkeypatch):
    """A stand-in `nvidia-smi` first on PATH: the workflow then takes this machine for one with an NVIDIA
    driver, and its network jobs claim a card (`gpu_claim` in workflow/rules/common.smk)."""
    fake = tmp_path / "driver" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def one_thread():
    """Tiny tensors: one thread avoids the scheduling overhead of several on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)

"""The one-command GPU check runs end to end at toy sizes on a CPU, and refuses the full sizes without CUDA."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from andicam.dataio import read_trajectories

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.mark.slow
def test_tiny_check_simulates_trains_evaluates_and_runs_the_cuda_tests(tmp_path: Path) -> None:
    # One model of the tiny DAG: the whole DAG runs in test_workflow; here the check's plumbing is tested.
    run = subprocess.run([sys.executable, str(SCRIPT), "--tiny", "--work", str(tmp_path), "--jobs", "2",
                          "--device", "cpu", "--dag-target", "results/models/fixed/depth10/seed0/model.pt"],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    out = run.stdout
    assert "[simulate] 192 trajectories (train 128, test 64) in 3 shards" in out
    # 16 training trajectories per class in shards of 8 per class; the test file's 8 per class in one.
    for split, shards in (("train", 2), ("test", 1)):
        files = sorted((tmp_path / "data" / split).glob("shard*.h5"))
        assert len(files) == shards
        for f in files:
            assert np.bincount(read_trajectories(f).labels, minlength=8).tolist() == [8] * 8
    assert re.search(r"\[workflow\] tiny DAG on cpu: .*steps \(100%\) done; 1 training and evaluation jobs on cpu in IEEE fp32",
                     out)
    assert "[resume] killed after epoch 1 (exit 75), resumed after epoch 1 and finished 2 epochs on cpu" in out
    assert (tmp_path / "tiny-dag" / "results" / "models" / "fixed" / "depth10" / "seed0" / "model.pt").is_file()
    assert "[plan] depth 10 width 4 on cpu: batch 64" in out
    epoch = re.search(r"\[epoch 1/1\] .* ([\d,]+) samples/s, .* test accuracy ([\d.]+) % \(64 trajectories\)", out)
    assert epoch and float(epoch.group(1).replace(",", "")) > 0 and 0 <= float(epoch.group(2)) <= 100
    assert re.search(r"\[cuda tests\] .*(passed|skipped)", out)
    assert "[total]" in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_full_sizes_need_cuda(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), "--work", str(tmp_path)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2 and "sees no CUDA device" in run.stderr
    assert not any(tmp_path.iterdir())  # nothing simulated

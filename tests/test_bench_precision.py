"""The precision benchmarks run at toy sizes and print what they promise (the fp32 stem itself: test_model)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from andicam.dataio import write_trajectories
from helpers import random_walks

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_bench_inference_runs_and_reports_every_way() -> None:
    run = subprocess.run([sys.executable, str(BENCHMARKS / "bench_inference.py"), "--n", "64", "--width", "4",
                          "--depth", "10", "--batch-size", "32"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    for way in ("fp32", "bf16", "bf16, fp32 stem"):
        assert re.search(rf"  {re.escape(way)} +[\d,]+ trajectories/s", run.stdout), run.stdout
    assert re.search(r"^\| 10 \| 4 \| [\d,]+ \| [\d,]+ \| [\d,]+ \| [\d.]+ \| [\d.]+ \|$", run.stdout, re.M)


def test_bench_precision_training_pairs_the_ways_by_seed(tmp_path: Path) -> None:
    train, val, test = (tmp_path / f"{split}.h5" for split in ("train", "val", "test"))
    for i, (path, n) in enumerate(((train, 8), (val, 2), (test, 4))):
        write_trajectories(path, random_walks([n] * 8, seed=i))
    out = tmp_path / "table.csv"
    run = subprocess.run([sys.executable, str(BENCHMARKS / "bench_precision_training.py"), "--train", str(train),
                          "--val", str(val), "--test", str(test), "--width", "4", "--epochs", "1", "--seeds", "0", "1",
                          "--sigmas", "0", "1", "--out-csv", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    table = pd.read_csv(out)
    assert len(table) == 2 * 2 * 2 and set(table["way"]) == {"bf16", "bf16, fp32 stem"}
    assert table["accuracy"].between(0, 1).all()
    assert "64 training, 16 validation, 32 test trajectories" in run.stdout
    assert len(re.findall(r"^sigma [01]: bf16 [\d.]+ %, fp32 stem [\d.]+ %: [+-][\d.]+ \[", run.stdout, re.M)) == 2


def test_bench_noise_eval_size_reports_the_paired_difference_and_the_interval_ratio(tmp_path: Path) -> None:
    """The test set's se of targeted - random at N is sd(d) / sqrt(N), and the interval over seeds at N is
    sqrt(s^2 - v / N0 + v / N) / s times its width at N0 (= 1 at N0), as the docstring derives."""
    import math

    import numpy as np
    import torch

    from andicam.model import build_model, save_model
    from andicam.noise import inference_model, noise_seed, noisy_inputs, predict

    data = random_walks([25] * 8)
    write_trajectories(tmp_path / "test.h5", data)
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        save_model(str(tmp_path / f"m{seed}.pt"), build_model(depth=10, width=4), {"seed": seed})
        models.append(str(tmp_path / f"m{seed}.pt"))
    run = subprocess.run([sys.executable, str(BENCHMARKS / "bench_noise_eval_size.py"), "--models", *models,
                          "--data", str(tmp_path / "test.h5"), "--sigmas", "0.5", "--sizes", "50", "200",
                          "--seed-sd", "0.1", "--seed", "9", "--threads", "1"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    right = [predict(inference_model(m), noisy_inputs(data, 0.5, noise_seed(9, 0.5))) == data.labels for m in models]
    d = right[0].astype(float) - right[1].astype(float)
    v = d.var(ddof=1)
    for n in (50, 200):
        se = re.search(rf"N {n:>7,}: test-set se of the difference ([\d.]+) points", run.stdout)
        assert se and float(se.group(1)) == round(100 * math.sqrt(v / n), 2)
        ratio = re.search(rf"N {n:>7,}: .*interval over seeds ([\d.]+)x", run.stdout)
        assert ratio and float(ratio.group(1)) == round(math.sqrt(0.01 - v / 200 + v / n) / 0.1, 3)
    assert "interval over seeds 1.000x" in run.stdout  # N = N0 = all 200
    assert np.isclose(float(re.search(r"= ([+-][\d.]+);", run.stdout).group(1)), d.mean(), atol=5e-5)

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

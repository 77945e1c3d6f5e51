"""The training benchmark prints FLOP/s against peaks derived from the CPU's features, stated in its output."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch

from helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import bench_training  # noqa: E402


@pytest.mark.parametrize("caps, bf16, fp32", [
    ({"amx_bf16": True, "avx512_bf16": True, "avx512_f": True, "avx2": True}, 1024, 64),
    ({"avx512_bf16": True, "avx512_f": True, "avx2": True}, 128, 64),
    ({"avx2": True}, 32, 32),  # no native bf16: autocast runs on the fp32 units
])
def test_cpu_peaks_follow_the_features(monkeypatch, caps, bf16, fp32) -> None:
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: caps)
    bench_training.cpu_peaks.cache_clear()  # computed once per process in the benchmark
    peaks = bench_training.cpu_peaks(threads=2, ghz=2.5)
    bench_training.cpu_peaks.cache_clear()
    assert peaks["bf16"][0] == pytest.approx(2 * bf16 * 2.5e9)
    assert peaks["fp32"][0] == pytest.approx(2 * fp32 * 2.5e9)
    assert "2 core(s)" in peaks["bf16"][1] and "2.50 GHz (--cpu-ghz)" in peaks["bf16"][1]
    assert ("no native bf16" in peaks["bf16"][1]) == (bf16 == fp32)


def test_break_even_of_a_compile() -> None:
    # 10 s of compiling, 100 -> 200 samples/s: 0.005 s saved per sample, paid back after 2,000 samples.
    assert bench_training._break_even(100.0, 200.0, 10.0) == "2,000 samples"
    assert bench_training._break_even(100.0, 90.0, 10.0) == "never"


@pytest.mark.slow
def test_benchmark_prints_throughput_against_the_cpu_peaks() -> None:
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_training.py"), "--width", "4",
                          "--depth", "10", "--n", "64", "--batches", "2", "--batch-size", "32", "--threads", "1",
                          "--device", "cpu", "--profile"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert re.search(r"CPU bf16 peak: [\d.]+ TFLOP/s = 1 core\(s\) x \d+ FLOP/cycle", out)
    assert re.search(r"\(a\) andicam fp32: batch 32, lr 5e-05:", out)  # 1e-4 x 32 / 64
    for loop in ("fp32", "bf16", "paper"):
        assert re.search(rf"conv throughput, {loop}: [\d.]+ TFLOP/s, [\d.]+ % of bf16 peak, [\d.]+ % of fp32 peak", out)
    assert "| 10 | 4 |" in out
    assert "profile of 10 bf16 training steps at batch 32" in out and "aten::convolution_backward" in out

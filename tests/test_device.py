"""Device resolution: one-line errors for bad device strings, IEEE fp32 on CUDA unless TF32 is named, and one
card per process on a machine with several, all checked with fake card counts on a CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import andicam.device as device_module
from andicam.device import FP32_MATH, cuda_fp32_math, resolve_device, set_cuda_fp32_math
from andicam.errors import UserInputError
from helpers import REPO


@pytest.fixture
def restore_fp32_math():
    before = cuda_fp32_math()
    yield
    set_cuda_fp32_math(before)


@pytest.fixture
def fake_cards(monkeypatch, tmp_path):
    """``fake_cards(n)``: torch sees n CUDA cards (named fake-card-i), lock files go under tmp_path; the
    cards made current are recorded in the returned list."""
    current: list[int] = []

    def install(n: int) -> list[int]:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
        monkeypatch.setattr(torch.cuda, "set_device", current.append)
        monkeypatch.setattr(device_module, "card_keys", lambda count: [f"fake-card-{i}" for i in range(count)])
        device_module._claimed_card.cache_clear()
        monkeypatch.setattr(device_module, "_held", [])
        monkeypatch.setenv(device_module.LOCK_DIR_ENV, str(tmp_path / "locks"))
        return current

    yield install
    for handle in device_module._held:
        handle.close()
    device_module._claimed_card.cache_clear()


@pytest.mark.parametrize("name", ["nvidia", "cuda:", "cuda:x", "cuda0", "cpu:0", "", "auto cuda"])
def test_a_bad_device_string_is_one_line_naming_it(name: str) -> None:
    with pytest.raises(UserInputError) as exc:
        resolve_device(name)
    message = str(exc.value)
    assert "\n" not in message and repr(name) in message and "auto, cpu, cuda or cuda:N" in message


def test_device_strings_that_need_no_card() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:0"])
def test_cuda_without_a_card_is_refused_in_one_line(name: str) -> None:
    with pytest.raises(UserInputError, match="sees no CUDA device"):
        resolve_device(name)


def test_a_card_index_beyond_the_visible_cards_is_refused(fake_cards) -> None:
    current = fake_cards(2)
    with pytest.raises(UserInputError, match=r"'cuda:2' was requested but 2 CUDA card\(s\) are visible \(cuda:0 to cuda:1\)"):
        resolve_device("cuda:2")
    assert resolve_device("cuda:1") == torch.device("cuda", 1) and current == [1]


def test_cuda_computes_fp32_as_ieee_unless_tf32_is_named(fake_cards, restore_fp32_math) -> None:
    """torch 2.13's default for cuDNN fp32 convolutions is TF32; every CUDA device resolved here sets IEEE."""
    fake_cards(1)
    set_cuda_fp32_math("tf32")
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert cuda_fp32_math() == "ieee"
    assert torch.backends.cuda.matmul.fp32_precision == "ieee"
    resolve_device("cuda:0", fp32_math="tf32")
    assert cuda_fp32_math() == "tf32"
    with pytest.raises(ValueError, match="ieee, tf32"):
        set_cuda_fp32_math("bf16")
    assert FP32_MATH == ("ieee", "tf32")


def test_one_visible_card_is_taken_without_a_lock(fake_cards, tmp_path) -> None:
    """Under SLURM --gpus=1 a job sees one card: it is the job's own, and jobs on other cards of the node must
    not wait for each other's 'card 0'."""
    fake_cards(1)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert not (tmp_path / "locks").exists()


def test_a_process_claims_one_card_and_keeps_it(fake_cards, tmp_path) -> None:
    current = fake_cards(4)
    first = resolve_device("auto")
    assert resolve_device("cuda") == first == torch.device("cuda", 0)  # resolved twice, claimed once
    assert current == [0, 0]
    assert [p.name for p in (tmp_path / "locks").iterdir()] == ["fake-card-0.lock"]
    # Another lock on the same card (as another process would try) is refused while this one holds it.
    index, handle = device_module.claim_card(["fake-card-0", "fake-card-1"], tmp_path / "locks")
    assert index == 1 and handle is not None
    handle.close()


HOLDER = """
import sys
import torch
import andicam.device as d
n = int(sys.argv[1])
torch.cuda.is_available = lambda: True
torch.cuda.device_count = lambda: n
torch.cuda.set_device = lambda index: None
d.card_keys = lambda count: [f"fake-card-{i}" for i in range(count)]
print(d.resolve_device("auto"), flush=True)
sys.stdin.read()  # hold the card until the test closes stdin or kills the process
"""


def test_concurrent_jobs_get_one_card_each_and_a_killed_job_frees_its_card(tmp_path: Path) -> None:
    """What `snakemake --resources gpu=4` on a 4-card workstation does: four GPU jobs at once, each a process
    resolving --device auto. Each gets its own card; a fifth (more jobs than cards) shares card 0 and says
    so; a job killed hard frees its card for the next."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow"), device_module.LOCK_DIR_ENV: str(tmp_path)}

    def start() -> tuple[subprocess.Popen, str]:
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, "4"], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return proc, proc.stdout.readline().strip()

    jobs = [start() for _ in range(4)]
    try:
        assert [card for _, card in jobs] == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
        extra, card = start()
        extra.stdin.close()
        assert card == "cuda:0" and "all 4 visible CUDA cards are held" in extra.stderr.read()
        extra.wait(timeout=60)
        jobs[2][0].kill()
        jobs[2][0].wait(timeout=60)
        again, card = start()
        jobs.append((again, card))
        assert card == "cuda:2"
    finally:
        for proc, _ in jobs:
            proc.kill()
            proc.wait(timeout=60)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                stream.close()

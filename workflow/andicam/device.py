"""The one place that decides where tensors live, and how CUDA computes in fp32.

Devices are ``auto`` (CUDA when present, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``. On a machine
with several visible cards, ``auto`` and ``cuda`` claim a card that no other andicam process holds (a
lock file per card, held until the process exits, however it exits), so that Snakemake's
``--resources gpu=N`` on a workstation means N jobs on N cards; local Snakemake only counts the
resource and sets no ``CUDA_VISIBLE_DEVICES``. Under SLURM (``--gpus=1``) a job sees one card and
takes it. ``cuda:N`` takes card N, no questions asked.

torch 2.13 runs cuDNN's fp32 convolutions as TF32 (10 mantissa bits) on Ampere and later cards by
default. Every CUDA device resolved here sets IEEE fp32 for convolutions and matrix products unless
the caller names TF32, so "fp32" means the same on a GPU as on a CPU.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import IO, Sequence

import torch

from andicam.errors import UserInputError

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")
FP32_MATH = ("ieee", "tf32")
LOCK_DIR_ENV = "ANDICAM_GPU_LOCK_DIR"

# The lock file of the card this process claimed, kept open (so held) until the process exits.
_held: list[IO[str]] = []


def set_cuda_fp32_math(math_mode: str = "ieee") -> str:
    """How CUDA computes fp32 convolutions and matrix products: 'ieee' (23 mantissa bits) or 'tf32' (10,
    faster on Ampere and later). Process-wide; harmless without CUDA. Returns the mode set."""
    if math_mode not in FP32_MATH:
        raise ValueError(f"fp32 math must be one of {', '.join(FP32_MATH)}, got {math_mode!r}")
    torch.backends.cudnn.conv.fp32_precision = math_mode
    torch.backends.cudnn.rnn.fp32_precision = math_mode
    torch.backends.cuda.matmul.fp32_precision = math_mode
    return math_mode


def cuda_fp32_math() -> str:
    """The fp32 mode of CUDA convolutions now in force ('ieee' or 'tf32')."""
    return str(torch.backends.cudnn.conv.fp32_precision)


def gpu_lock_dir() -> Path:
    """Where the per-card lock files live: $ANDICAM_GPU_LOCK_DIR, else one folder per user in the temp dir."""
    env = os.environ.get(LOCK_DIR_ENV)
    return Path(env) if env else Path(tempfile.gettempdir()) / f"andicam-gpu-locks-{os.getuid()}"


def card_keys(n_cards: int) -> list[str]:
    """A name per visible card that is the same in every process (the card's UUID where torch reports it)."""
    keys = []
    for i in range(n_cards):
        uuid = getattr(torch.cuda.get_device_properties(i), "uuid", None)
        keys.append(f"GPU-{uuid}" if uuid is not None else f"index{i}")
    return keys


def claim_card(keys: Sequence[str], lock_dir: Path) -> tuple[int, IO[str] | None]:
    """The first card of ``keys`` whose lock no other process holds, and its open lock file (keep it open:
    closing it, or the process ending, frees the card). When every card is held: card 0, no lock."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    for index, key in enumerate(keys):
        handle = open(lock_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', key)}.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return index, handle
    return 0, None


@functools.cache
def _claimed_card() -> int:
    """This process's card, claimed on the first call (one visible card: taken without a lock)."""
    n = torch.cuda.device_count()
    if n == 1:
        return 0
    index, handle = claim_card(card_keys(n), gpu_lock_dir())
    if handle is None:
        print(f"andicam: all {n} visible CUDA cards are held by other andicam processes; sharing card 0 "
              "(run fewer GPU jobs than cards: --resources gpu=N)", file=sys.stderr)
    else:
        _held.append(handle)
    return index


def resolve_device(requested: str = "auto", fp32_math: str = "ieee") -> torch.device:
    """'auto' takes CUDA when present, else the CPU; 'cpu', 'cuda' or 'cuda:N' force one. A CUDA device is
    made current and gets ``fp32_math`` (set_cuda_fp32_math); a bad string is a one-line UserInputError."""
    name = requested.strip().lower()
    if not DEVICE_PATTERN.fullmatch(name):
        raise UserInputError(f"device must be auto, cpu, cuda or cuda:N, got {requested!r}")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        raise UserInputError(f"device {requested!r} was requested but torch {torch.__version__} ({build}) "
                             "sees no CUDA device")
    n = torch.cuda.device_count()
    if ":" in name:
        index = int(name.split(":")[1])
        if index >= n:
            raise UserInputError(f"device {requested!r} was requested but {n} CUDA card(s) are visible "
                                 f"(cuda:0 to cuda:{n - 1})")
    else:
        index = _claimed_card()
    torch.cuda.set_device(index)
    set_cuda_fp32_math(fp32_math)
    return torch.device("cuda", index)


# CPU features whose bf16 instructions make autocast faster than fp32. Measured on AVX512-BF16 (2-core
# AMD EPYC, the paper's network: 1.4x at width 8 to 2.2x at width 64); AMX-BF16 is its successor. Without
# them oneDNN emulates bf16 and it is slower than fp32; Arm's BF16 extensions are not measured yet.
BF16_CPU_FEATURES = ("amx_bf16", "avx512_bf16")


def native_bf16_feature() -> str | None:
    """The first of BF16_CPU_FEATURES this CPU has, as torch detects it; None without one."""
    capabilities = torch.cpu.get_capabilities()
    return next((name for name in BF16_CPU_FEATURES if capabilities.get(name)), None)


def resolve_amp(device: torch.device, requested: bool) -> tuple[bool, str]:
    """Whether to run under bf16 autocast on ``device``, and why: where it is native (CUDA, or a CPU with
    BF16_CPU_FEATURES) when ``requested``, else fp32."""
    if not requested:
        return False, "fp32: amp switched off"
    if device.type == "cuda":
        return True, "bf16: CUDA"
    feature = native_bf16_feature()
    if feature is not None:
        return True, f"bf16: the CPU has native bf16 ({feature})"
    return False, "fp32: the CPU has no native bf16 (AVX512-BF16 or AMX), where emulated bf16 is slower"

"""The one place that decides where tensors live."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from andicam.errors import UserInputError


def resolve_device(requested: str = "auto") -> torch.device:
    """'auto' takes CUDA when present, else CPU; 'cpu' or 'cuda[:i]' force one."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserInputError("device 'cuda' was requested but no CUDA device is available")
    return device


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


def add_device_arguments(parser: argparse.ArgumentParser, batch_size: int,
                         batch_help: str = "inputs per forward pass") -> None:
    """The options every command that runs the network shares: --device, --batch-size, --threads."""
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda[:i]")
    parser.add_argument("--batch-size", type=int, default=batch_size, help=batch_help)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")


def prepare_device(args: argparse.Namespace) -> torch.device:
    """Check --batch-size and --threads, set the threads, and resolve --device (user errors are one line)."""
    for name in ("batch_size", "threads"):
        if getattr(args, name) < 1:
            raise UserInputError(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    torch.set_num_threads(args.threads)
    return resolve_device(args.device)


def check_noise_eval_inputs(models: list[str], per_model: dict[str, list], sigmas: list[float]) -> None:
    """The checks of the commands that score models at noise levels: one entry per model in every option of
    ``per_model`` (name -> values), model files present, noise levels distinct, finite and >= 0."""
    counts = [len(models)] + [len(v) for v in per_model.values()]
    if len(set(counts)) != 1:
        names = ", ".join(f"--{name}" for name in ("models", *per_model))
        raise UserInputError(f"{names} need one entry per model; got {', '.join(map(str, counts))}")
    missing = [m for m in models if not Path(m).is_file()]
    if missing:
        raise UserInputError(f"model file(s) not found: {', '.join(missing)}")
    if not all(math.isfinite(s) and s >= 0 for s in sigmas) or len(set(sigmas)) != len(sigmas):
        raise UserInputError(f"--sigmas must be distinct, finite and >= 0, got {sigmas}")

"""The one place that decides where tensors live."""

from __future__ import annotations

import argparse

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

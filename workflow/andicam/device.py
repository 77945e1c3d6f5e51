"""The one place that decides where tensors live."""

from __future__ import annotations

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

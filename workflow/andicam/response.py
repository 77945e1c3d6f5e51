"""Layer response: which input steps each output position of a stage sees.

A unit impulse at input step i of an otherwise all-zero input (min-max
space), for every i, batched; the trained model in eval mode (METHODS §5.6:
the paper's figure used an untrained network in training mode). The response
of output position p of a stage is |A(impulse at i) - A(zero input)| summed
over channels: the zero input is subtracted because in eval mode BatchNorm
shifts make the zero input's activations non-zero.

By default the impulse is put on both channels at once (a jump of the path
in x and y at the same step); ``channels="x"`` or ``"y"`` puts it on one.

The receptive window of a stage is measured at its central position
P // 2 (edge positions see the zero padding): ``width`` is the span of
steps whose response exceeds ``threshold`` times the largest response
(0.5 by default: the full width at half maximum);
``width_mass`` is the span between the (1 - mass) / 2 and (1 + mass) / 2
quantiles of the response seen as a distribution over steps.
``receptive_field`` is the theoretical window from the kernel sizes and
strides along the main path, an upper bound. ``position_windows`` gives the
``mass`` span of every position of a stage, not only the central one: the
paper's "each layer4 position sees 200-350 steps" is read as that span at 0.9.
"""

from __future__ import annotations

from typing import Any, Sequence

import h5py
import numpy as np
import pandas as pd
import torch

from andicam.dataio import DataFileError, open_hdf5
from andicam.files import atomic_output
from andicam.model import STAGES, ResNet1d
from andicam.preprocess import INPUT_LENGTH

FORMAT = "andicam-layer-response/1"
CHANNELS: dict[str, tuple[int, ...]] = {"both": (0, 1), "x": (0,), "y": (1,)}


@torch.no_grad()
def layer_response(
    model: ResNet1d,
    length: int = INPUT_LENGTH,
    channels: str = "both",
    stages: Sequence[str] = STAGES,
    batch_size: int = 100,
) -> dict[str, np.ndarray]:
    """{stage: (length, positions) float32}: response of every output position to an impulse at every step."""
    if model.training:
        raise ValueError("the layer response needs the model in eval mode")
    if channels not in CHANNELS:
        raise ValueError(f"channels must be one of {sorted(CHANNELS)}, got {channels!r}")
    param = next(model.parameters())
    zero = torch.zeros(1, model.cfg.in_channels, length, device=param.device, dtype=param.dtype)
    base = model.forward_stages(zero)
    chunks: dict[str, list[np.ndarray]] = {s: [] for s in stages}
    for start in range(0, length, batch_size):
        steps = torch.arange(start, min(start + batch_size, length), device=param.device)
        x = zero.repeat(len(steps), 1, 1)  # (b, 2, L)
        for ch in CHANNELS[channels]:
            x[torch.arange(len(steps)), ch, steps] = 1.0
        feats = model.forward_stages(x)
        for s in stages:
            resp = (feats[s] - base[s]).abs().sum(dim=1)  # (b, C, P) -> (b, P)
            chunks[s].append(resp.to("cpu", torch.float32).numpy())
    return {s: np.concatenate(c) for s, c in chunks.items()}


def receptive_field(model: ResNet1d) -> dict[str, int]:
    """Theoretical window (input steps) of one position after each stage, along the main (non-shortcut) path."""
    size, jump = 1, 1

    def grow(kernel: int, stride: int) -> None:
        nonlocal size, jump
        size += (kernel - 1) * jump
        jump *= stride

    grow(model.conv1.kernel_size[0], model.conv1.stride[0])
    grow(model.maxpool.kernel_size, model.maxpool.stride)
    out: dict[str, int] = {}
    for s in STAGES:
        for block in getattr(model, s):
            grow(block.conv1.kernel_size[0], block.conv1.stride[0])
            grow(block.conv2.kernel_size[0], block.conv2.stride[0])
        out[s] = size
    return out


def window(response: np.ndarray, threshold: float = 0.5, mass: float = 0.9) -> dict[str, Any]:
    """Window of one output position from its response (length,) to impulses at every step."""
    if not 0 <= threshold < 1 or not 0 < mass <= 1:
        raise ValueError(f"need 0 <= threshold < 1 and 0 < mass <= 1, got {threshold}, {mass}")
    r = np.asarray(response, dtype=np.float64)
    if not (r > 0).any():
        return {"width": 0, "start": -1, "end": -1, "width_mass": 0}
    above = np.flatnonzero(r > threshold * r.max())
    lo, hi = mass_span(r, mass)
    return {"width": int(above[-1] - above[0] + 1), "start": int(above[0]), "end": int(above[-1]),
            "width_mass": hi - lo + 1}


def mass_span(response: np.ndarray, mass: float) -> tuple[int, int]:
    """First and last step of the central span holding ``mass`` of a non-zero, non-negative response."""
    cdf = np.cumsum(response) / response.sum()
    return int(np.searchsorted(cdf, (1 - mass) / 2)), int(np.searchsorted(cdf, (1 + mass) / 2))


def position_windows(response: np.ndarray, mass: float = 0.9) -> pd.DataFrame:
    """The span holding ``mass`` of the response, for every output position of one stage (response (length, P)):
    one row per position with ``width_mass`` and the span's first and last step (``mass_start``, ``mass_end``).
    An edge position's span is cut by the input's end, as the position itself is."""
    r = np.asarray(response, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError(f"a stage's response is (steps, positions), got shape {r.shape}")
    if not 0 < mass <= 1:
        raise ValueError(f"need 0 < mass <= 1, got {mass}")
    rows = []
    for p in range(r.shape[1]):
        col = r[:, p]
        lo, hi = mass_span(col, mass) if (col > 0).any() else (0, -1)
        rows.append({"position": p, "width_mass": hi - lo + 1, "mass_start": lo if hi >= 0 else -1,
                     "mass_end": hi})
    return pd.DataFrame(rows)


def window_table(responses: dict[str, np.ndarray], model: ResNet1d | None = None, threshold: float = 0.5,
                 mass: float = 0.9) -> pd.DataFrame:
    """One row per stage: the window of its central position (and the theoretical field if a model is given)."""
    rf = receptive_field(model) if model is not None else {}
    rows = []
    for stage, resp in responses.items():
        centre = resp.shape[1] // 2
        rows.append({"stage": stage, "positions": resp.shape[1], "position": centre, "threshold": threshold,
                     "mass": mass, **window(resp[:, centre], threshold, mass),
                     "receptive_field": rf.get(stage, np.nan)})
    return pd.DataFrame(rows)


def write_response(path: str, responses: dict[str, np.ndarray], attrs: dict[str, Any]) -> None:
    with atomic_output(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for stage, r in responses.items():
                f.create_dataset(stage, data=np.asarray(r, np.float32), compression="gzip", shuffle=True)
            f.attrs["format"] = FORMAT
            f.attrs["stages"] = list(responses)
            for key, value in attrs.items():
                f.attrs[key] = value


def read_response(path: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    f, attrs = open_hdf5(path, FORMAT)
    with f:
        stages = [str(s) for s in attrs["stages"]]
        missing = [s for s in stages if s not in f]
        if missing:
            raise DataFileError(f"{path}: missing dataset(s) {', '.join(missing)}")
        responses = {s: f[s][...] for s in stages}
    return responses, attrs

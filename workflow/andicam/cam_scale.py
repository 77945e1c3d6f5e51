"""Scale of the Grad-CAM maps per stage: are higher stages driven by larger-scale features?

Per stage and class, each map (P positions) is standardised (its own mean
and standard deviation; constant maps are left out), and the autocorrelation
at lag k is the mean of z[t] z[t + k] over the P - k pairs and over the
maps. The correlation length is the lag where that mean autocorrelation
first falls below 1/e, interpolated linearly between the two lags around the
crossing, in positions and in input steps (positions x the stage's stride,
ceil(input length / P): 4, 8, 16, 32 for 250, 125, 63, 32 positions).
A map that is white noise has length (1 - 1/e) positions; the stride alone
would make the length in steps grow 8-fold from layer1 to layer4.

Removing each map's own mean biases short maps' autocorrelation down
(for an AR(1) map with coefficient 0.8 the length is 4.1 positions at P = 250
and 2.4 at P = 32 instead of 4.5), so the growth from layer1 (250 positions)
to layer4 (32) is, if anything, understated.

Maps of variable-length trajectories include the padded part; use
fixed-length data for this analysis.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from andicam.dataio import CLASS_NAMES
from andicam.preprocess import INPUT_LENGTH

THRESHOLD = 1 / math.e


def autocorrelation(maps: np.ndarray) -> tuple[np.ndarray, int]:
    """Mean autocorrelation (P,) at lags 0..P-1 of the standardised maps (N, P); and how many maps entered."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 2 or maps.shape[1] < 2:
        raise ValueError(f"maps must be (N, positions >= 2), got shape {maps.shape}")
    std = maps.std(axis=1)
    keep = std > 0
    z = (maps[keep] - maps[keep].mean(axis=1, keepdims=True)) / std[keep, None]  # (n, P)
    p = maps.shape[1]
    if not keep.any():
        return np.full(p, np.nan), 0
    spec = np.fft.rfft(z, n=2 * p, axis=1)  # zero-padded: a linear, not circular, correlation
    sums = np.fft.irfft(np.abs(spec) ** 2, n=2 * p, axis=1)[:, :p]  # (n, P) sum over t of z[t] z[t + k]
    return sums.mean(axis=0) / (p - np.arange(p)), int(keep.sum())


def correlation_length(acf: np.ndarray, threshold: float = THRESHOLD) -> float:
    """First lag (fractional) where ``acf`` falls below ``threshold``; NaN if it never does."""
    acf = np.asarray(acf, dtype=np.float64)
    below = np.flatnonzero(acf < threshold)
    if below.size == 0 or below[0] == 0:
        return math.nan
    k = int(below[0])
    return (k - 1) + (acf[k - 1] - threshold) / (acf[k - 1] - acf[k])


def stride(positions: int, input_length: int = INPUT_LENGTH) -> int:
    """Input steps per position of a stage with ``positions`` outputs."""
    return -(-input_length // positions)


def scale_table(maps: dict[str, np.ndarray], labels: np.ndarray, input_length: int = INPUT_LENGTH) -> pd.DataFrame:
    """One row per (stage, class) plus class "all": correlation length in positions and in input steps."""
    labels = np.asarray(labels)
    groups = [("all", np.ones(labels.shape[0], bool))] + [(c, labels == k) for k, c in enumerate(CLASS_NAMES)]
    rows = []
    for stage, m in maps.items():
        if m.shape[0] != labels.shape[0]:
            raise ValueError(f"{stage}: {m.shape[0]} maps but {labels.shape[0]} labels")
        st = stride(m.shape[1], input_length)
        for cls, sel in groups:
            if not sel.any():
                continue
            acf, n = autocorrelation(m[sel])
            length = correlation_length(acf) if n else math.nan
            rows.append({"stage": stage, "class": cls, "positions": m.shape[1], "stride": st,
                         "length_positions": length, "length_steps": length * st, "n": n})
    return pd.DataFrame(rows)

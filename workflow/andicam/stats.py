"""Window statistics of trajectories (METHODS §4, statistical relevance), vectorised.

A min-max-scaled model input (N, 2, T) is cut into windows; window i covers the
positions [starts[i], starts[i] + window). The paper's windows for layer4 are
225 steps with stride 25: 32 windows for T = 1000, one per layer4 position.
From the increments d[t] = x[t+1] - x[t] inside a window (window - 1 of them,
per axis) five features are computed:

- f1: lag-1 autocorrelation of d, the Pearson correlation of (d[t], d[t+1])
  over the window, as ``np.corrcoef`` does it (so strictly alternating steps
  give exactly -1). It is undefined when either lagged series is constant
  (e.g. a constant-velocity segment, or a CTRW at rest); it is then 1, the
  paper's convention. Mean over the two axes.
- f2: excess kurtosis of d in each quarter of the window: the biased estimator
  m4 / m2**2 - 3 (``scipy.stats.kurtosis(fisher=True, bias=True)``). Quarters
  are consecutive, of (window - 1) // 4 increments each when that divides
  (56 for the paper's window); otherwise their boundaries are
  floor(k (window - 1) / 4). A constant quarter has no kurtosis and is left out
  of the mean over quarters and axes; a window with no defined quarter gets 0,
  the Gaussian value.
- f3: standard deviation (population, ddof 0) over the window of the ratio
  |d[t+1]| / (|d[t]| + eps), eps = ``RATIO_EPS``; maximum over the two axes.
- f4: (std of d in the last quarter - std of d in the first quarter) / std of
  d in the whole window, population standard deviations; 0 when d is constant
  in the window. Mean over the two axes.
- f5: standard deviation (population) of the turning angle between
  consecutive 2-D steps, the difference of the step directions wrapped to
  (-pi, pi], divided by pi. A step with zero length has no direction: turns
  next to it are left out; with no defined turn f5 is 0.

Then |f2|, |f3| and |f5| are min-max scaled per trajectory across its windows
(a trajectory whose windows all agree gets 0, as ``preprocess.minmax_scale``
does), and the composite statistics are built from the scaled ones, with f1
and f4 entering as they are (signed):

    AC = f1,  CS = f1 * f5s,  SG = f3s * f2s,  VD = f4 * f2s.

All arithmetic is in float64. Inputs are processed in chunks of trajectories so
that memory stays bounded.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from andicam.model import BLOCK_KERNEL, STAGES, STEM_KERNEL
from andicam.paper import PAPER_STRIDE, PAPER_WINDOW
from andicam.preprocess import INPUT_LENGTH

STATISTICS: tuple[str, ...] = ("AC", "CS", "SG", "VD")
FEATURES: tuple[str, ...] = ("f1", "f2", "f3", "f4", "f5")

RATIO_EPS = 1e-8  # keeps |d[t+1]| / |d[t]| finite where the walk rests (d[t] = 0)

_CHUNK = 256  # trajectories per chunk; the window tensor is (chunk, 2, windows, window - 1) float64


def stage_positions(length: int = INPUT_LENGTH) -> dict[str, int]:
    """Output positions of every stage for an input of ``length`` steps (250/125/63/32 for 1000)."""

    def conv(n: int, kernel: int, stride: int) -> int:
        return (n + 2 * (kernel // 2) - kernel) // stride + 1

    n = conv(conv(length, STEM_KERNEL, 2), 3, 2)  # stem conv, then max-pool
    out: dict[str, int] = {}
    for name, stride in zip(STAGES, (1, 2, 2, 2)):
        n = conv(n, BLOCK_KERNEL, stride)
        out[name] = n
    return out


def matched_windows(length: int = INPUT_LENGTH) -> dict[str, int]:
    """Default window per stage: the paper's 225 steps at layer4, scaled by each stage's steps per position.

    A layer4 window spans 225 / (1000 / 32) = 7.2 positions of layer4; every stage gets a window of
    the same 7.2 of its own positions (29/58/114/225 steps for layer1..4 at 1000 steps).
    """
    pos = stage_positions(length)
    span = PAPER_WINDOW * pos["layer4"] / length  # window length in layer4 positions
    return {stage: int(round(span * length / p)) for stage, p in pos.items()}


def window_starts(length: int, window: int, *, stride: int | None = None, n_windows: int | None = None) -> np.ndarray:
    """First step of every window: either a fixed ``stride``, or ``n_windows`` spread evenly over the input.

    With ``n_windows`` the starts are round(linspace(0, length - window, n_windows)), so the first window
    starts at 0 and the last ends at ``length``; for 225 steps and 32 windows this is stride 25.
    """
    if window < 9:
        raise ValueError(f"window must have at least 9 steps (two increments per quarter), got {window}")
    if window > length:
        raise ValueError(f"window of {window} steps does not fit in {length} steps")
    if (stride is None) == (n_windows is None):
        raise ValueError("give exactly one of stride and n_windows")
    if stride is not None:
        if stride < 1:
            raise ValueError(f"stride must be positive, got {stride}")
        return np.arange(0, length - window + 1, stride, dtype=np.int64)
    if n_windows < 1:
        raise ValueError(f"n_windows must be positive, got {n_windows}")
    if n_windows == 1:
        return np.zeros(1, dtype=np.int64)
    return np.rint(np.linspace(0, length - window, n_windows)).astype(np.int64)


def stage_window_starts(stage: str, window: int | None = None, length: int = INPUT_LENGTH) -> tuple[np.ndarray, int]:
    """(starts, window) for a stage: one window per output position; ``window`` defaults to ``matched_windows``."""
    pos = stage_positions(length)
    if stage not in pos:
        raise ValueError(f"unknown stage {stage!r}; expected one of {list(pos)}")
    window = matched_windows(length)[stage] if window is None else int(window)
    return window_starts(length, window, n_windows=pos[stage]), window


def _quarter_bounds(n_incr: int) -> np.ndarray:
    return (np.arange(5) * n_incr) // 4


def _window_increments(x: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    d = np.diff(x.astype(np.float64), axis=-1)  # (n, 2, T) -> (n, 2, T - 1)
    idx = starts[:, None] + np.arange(window - 1)[None, :]  # (W, window - 1)
    return d[:, :, idx]  # (n, 2, W, window - 1)


def _lag1_autocorrelation(d: np.ndarray) -> np.ndarray:
    a, b = d[..., :-1], d[..., 1:]
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    defined = (np.ptp(d[..., :-1], axis=-1) > 0) & (np.ptp(d[..., 1:], axis=-1) > 0)
    denom = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    r = np.where(defined, (a * b).sum(axis=-1) / np.where(defined, denom, 1.0), 1.0)
    return np.clip(r, -1.0, 1.0)  # (n, 2, W); clip only removes rounding beyond +-1


def _quarter_kurtosis(d: np.ndarray) -> np.ndarray:
    bounds = _quarter_bounds(d.shape[-1])
    total = np.zeros(d.shape[:1] + d.shape[2:-1])  # (n, W)
    count = np.zeros_like(total)
    for k in range(4):
        q = d[..., bounds[k]:bounds[k + 1]]
        c = q - q.mean(axis=-1, keepdims=True)
        c2 = c * c
        m2 = c2.mean(axis=-1)
        m4 = (c2 * c2).mean(axis=-1)
        defined = np.ptp(q, axis=-1) > 0  # (n, 2, W)
        kurt = np.where(defined, m4 / np.where(defined, m2 * m2, 1.0) - 3.0, 0.0)
        total += kurt.sum(axis=1)
        count += defined.sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def _ratio_spread(d: np.ndarray, eps: float) -> np.ndarray:
    a = np.abs(d)
    ratio = a[..., 1:] / (a[..., :-1] + eps)  # (n, 2, W, window - 2)
    return ratio.std(axis=-1).max(axis=1)


def _diffusivity_change(d: np.ndarray) -> np.ndarray:
    bounds = _quarter_bounds(d.shape[-1])
    first = d[..., bounds[0]:bounds[1]].std(axis=-1)
    last = d[..., bounds[3]:bounds[4]].std(axis=-1)
    whole = d.std(axis=-1)
    defined = np.ptp(d, axis=-1) > 0
    f4 = np.where(defined, (last - first) / np.where(defined, whole, 1.0), 0.0)
    return f4.mean(axis=1)


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Wrap angles to (-pi, pi]."""
    return math.pi - np.mod(math.pi - np.asarray(a, dtype=np.float64), 2 * math.pi)


def _turning_spread(d: np.ndarray) -> np.ndarray:
    angle = np.arctan2(d[:, 1], d[:, 0])  # (n, W, window - 1)
    moving = (d[:, 0] != 0) | (d[:, 1] != 0)
    turn = wrap_angle(np.diff(angle, axis=-1))
    valid = moving[..., 1:] & moving[..., :-1]
    n = valid.sum(axis=-1)
    safe_n = np.maximum(n, 1)
    mean = np.where(valid, turn, 0.0).sum(axis=-1) / safe_n
    var = np.where(valid, (turn - mean[..., None]) ** 2, 0.0).sum(axis=-1) / safe_n
    return np.where(n > 0, np.sqrt(var), 0.0) / np.pi


def window_features(x: np.ndarray, starts: np.ndarray, window: int, eps: float = RATIO_EPS) -> dict[str, np.ndarray]:
    """Raw features f1..f5 (unscaled) of every window: dict of (N, n_windows) float64 arrays."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1] != 2:
        raise ValueError(f"expected trajectories of shape (N, 2, T), got {x.shape}")
    starts = np.asarray(starts, dtype=np.int64)
    if starts.ndim != 1 or starts.size == 0:
        raise ValueError("starts must be a non-empty 1-D array")
    if starts.min() < 0 or starts.max() + window > x.shape[-1]:
        raise ValueError(f"windows of {window} steps starting at {starts.min()}..{starts.max()} "
                         f"do not fit in {x.shape[-1]} steps")
    if window < 9:
        raise ValueError(f"window must have at least 9 steps, got {window}")
    if not np.isfinite(x).all():
        raise ValueError("trajectories contain NaN or infinite values")
    parts: dict[str, list[np.ndarray]] = {name: [] for name in FEATURES}
    for lo in range(0, x.shape[0], _CHUNK):
        d = _window_increments(x[lo:lo + _CHUNK], starts, window)  # (n, 2, W, window - 1)
        parts["f1"].append(_lag1_autocorrelation(d).mean(axis=1))
        parts["f2"].append(_quarter_kurtosis(d))
        parts["f3"].append(_ratio_spread(d, eps))
        parts["f4"].append(_diffusivity_change(d))
        parts["f5"].append(_turning_spread(d))
    empty = np.zeros((0, starts.size))
    return {name: np.concatenate(chunks) if chunks else empty for name, chunks in parts.items()}


def minmax_windows(v: np.ndarray) -> np.ndarray:
    """Min-max scale each row (trajectory) across its windows; a constant row becomes 0."""
    lo = v.min(axis=-1, keepdims=True)
    span = v.max(axis=-1, keepdims=True) - lo
    return (v - lo) / np.where(span > 0, span, 1.0)


def composite_statistics(features: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """AC, CS, SG, VD from the raw features: |f2|, |f3|, |f5| min-max scaled per trajectory, f1 and f4 as they are."""
    f2s = minmax_windows(np.abs(features["f2"]))
    f3s = minmax_windows(np.abs(features["f3"]))
    f5s = minmax_windows(np.abs(features["f5"]))
    return {"AC": features["f1"].copy(), "CS": features["f1"] * f5s, "SG": f3s * f2s, "VD": features["f4"] * f2s}


def window_statistics(
    x: np.ndarray,
    window: int = PAPER_WINDOW,
    stride: int | None = PAPER_STRIDE,
    n_windows: int | None = None,
    eps: float = RATIO_EPS,
) -> dict[str, np.ndarray]:
    """The four composite statistics of every window of min-max-scaled inputs (N, 2, T) -> (N, n_windows) each.

    Defaults are the paper's (225 steps, stride 25). Pass ``n_windows`` (and ``stride=None``) to spread
    windows evenly, e.g. one per output position of another stage.
    """
    if n_windows is not None:
        stride = None
    starts = window_starts(np.asarray(x).shape[-1], window, stride=stride, n_windows=n_windows)
    return composite_statistics(window_features(x, starts, window, eps))


def stage_statistics(
    x: np.ndarray, stage: str, window: int | None = None, eps: float = RATIO_EPS
) -> dict[str, np.ndarray]:
    """Statistics in one window per output position of ``stage`` (N, positions) each."""
    starts, window = stage_window_starts(stage, window, np.asarray(x).shape[-1])
    return composite_statistics(window_features(x, starts, window, eps))

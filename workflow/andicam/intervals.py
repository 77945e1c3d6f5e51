"""Confidence intervals over a few independent replicates (training seeds).

With 5-10 seeds a percentile bootstrap of the mean undercovers (it uses the
plug-in sd and normal-like quantiles: about 83 % at n = 5 and 91 % at n = 10
for a nominal 95 %); a t interval has exact coverage for normal replicates.
A difference between two arms trained with the same seeds is a paired t
interval: the t interval of the per-seed differences.

Every result carries its method and the unit that was resampled, so a table
can say how each interval was made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

LEVEL = 0.95
T_METHOD = "t interval over {unit}s"
PAIRED_T_METHOD = "paired t interval over {unit}s"


@dataclass(frozen=True)
class Interval:
    """Mean of n replicates with a two-sided interval; low/high NaN when n < 2 (no spread to estimate)."""

    mean: float
    low: float
    high: float
    n: int
    level: float
    method: str  # e.g. "t interval over training seeds"
    unit: str    # what one replicate is, e.g. "training seed"


def _sample(values: Sequence[float], name: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"{name} needs a non-empty 1-D sample, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError(f"{name} got NaN or Inf among its values")
    return v


def _t(v: np.ndarray, level: float, limits: tuple[float, float], method: str, unit: str) -> Interval:
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    mean = float(v.mean())
    if v.size < 2:
        return Interval(mean, math.nan, math.nan, int(v.size), level, method, unit)
    half = float(stats.t.ppf((1 + level) / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return Interval(mean, max(limits[0], mean - half), min(limits[1], mean + half), int(v.size), level, method, unit)


def t_interval(values: Sequence[float], level: float = LEVEL, unit: str = "training seed",
               limits: tuple[float, float] = (-math.inf, math.inf)) -> Interval:
    """mean +- t_{(1+level)/2, n-1} sd / sqrt(n), sample sd (ddof 1), over independent replicates.

    ``limits`` clips the bounds to the quantity's range (a percentage cannot pass 100, though with
    two seeds t_{0.975,1} = 12.7 makes the raw interval do so).
    """
    return _t(_sample(values, "t_interval"), level, limits, T_METHOD.format(unit=unit), unit)


def paired_t_interval(a: Sequence[float], b: Sequence[float], level: float = LEVEL,
                      unit: str = "training seed") -> Interval:
    """t interval of the mean of a - b, the i-th of ``a`` and ``b`` sharing replicate i (e.g. the seed)."""
    x = _sample(a, "paired_t_interval")
    y = _sample(b, "paired_t_interval")
    if x.shape != y.shape:
        raise ValueError(f"paired_t_interval needs samples of equal length, got {x.size} and {y.size}")
    return _t(x - y, level, (-math.inf, math.inf), PAIRED_T_METHOD.format(unit=unit), unit)

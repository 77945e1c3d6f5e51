"""Confidence intervals over a few independent replicates (training seeds).

With 5-10 seeds a percentile bootstrap of the mean undercovers (it uses the
plug-in sd and normal-like quantiles: about 83 % at n = 5 and 91 % at n = 10
for a nominal 95 %); a t interval has exact coverage for normal replicates.
A difference between two arms trained with the same seeds is a paired t
interval: the t interval of the per-seed differences.

Every result carries its method and the unit that was resampled, so a table
can say how each interval was made.

Over test trajectories instead (one model, or a share of one test set): the
Wilson interval of a proportion, Newcombe's score interval of the difference
of two proportions measured on the same trajectories (before and after an
edit), and a percentile bootstrap of macro-F1 drawn from the confusion counts.
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


def t_from_se(mean: float, se: float, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The t interval mean +- t_{(1+level)/2, n-1} se of a published "mean +- SE over n" (its sample unseen)."""
    if n < 2 or not se >= 0:
        raise ValueError(f"t_from_se needs n >= 2 and se >= 0, got n {n}, se {se}")
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * se
    return mean - half, mean + half


def welch_interval_from_se(mean_a: float, se_a: float, n_a: int, mean_b: float, se_b: float, n_b: int,
                           level: float = LEVEL) -> tuple[float, float, float]:
    """(difference, low, high) of mean_a - mean_b from two independent groups' means and standard errors.

    The difference +- t_{(1+level)/2, df} sqrt(se_a^2 + se_b^2), df by Welch-Satterthwaite. For a published
    "mean +- SE over n models" pair, where only the summaries are known.
    """
    if n_a < 2 or n_b < 2 or not (se_a >= 0 and se_b >= 0) or se_a + se_b == 0:
        raise ValueError(f"welch_interval_from_se needs n >= 2 per group and a positive SE, got n {n_a}, {n_b}, "
                         f"SE {se_a}, {se_b}")
    var = se_a ** 2 + se_b ** 2
    df = var ** 2 / (se_a ** 4 / (n_a - 1) + se_b ** 4 / (n_b - 1))
    half = float(stats.t.ppf((1 + level) / 2, df)) * math.sqrt(var)
    diff = mean_a - mean_b
    return diff, diff - half, diff + half


def mover_difference(a: float, a_low: float, a_high: float, b: float, b_low: float, b_high: float
                     ) -> tuple[float, float, float]:
    """(a - b, low, high) of two independent estimates from their own intervals (MOVER, Newcombe 2011 / Zou
    and Donner 2008): low = a - b - sqrt((a - a_low)^2 + (b_high - b)^2), high = a - b + sqrt((a_high - a)^2 +
    (b - b_low)^2). Intervals of either kind (t, Wilson) may be combined; asymmetric ones stay so."""
    if not all(math.isfinite(v) for v in (a, a_low, a_high, b, b_low, b_high)):
        raise ValueError("mover_difference needs two finite estimates with finite intervals")
    if not (a_low <= a <= a_high and b_low <= b <= b_high):
        raise ValueError(f"an estimate lies outside its interval: {a} [{a_low}, {a_high}], {b} [{b_low}, {b_high}]")
    d = a - b
    return d, d - math.hypot(a - a_low, b_high - b), d + math.hypot(a_high - a, b - b_low)


def wilson_interval(successes: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion successes / n."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"wilson_interval needs 0 <= successes <= n and n > 0, got {successes} of {n}")
    z = float(stats.norm.ppf((1 + level) / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


PAIRED_PROPORTIONS_METHOD = "Newcombe score CI for paired proportions"


def paired_proportion_difference(both: int, first_only: int, second_only: int, neither: int,
                                 level: float = LEVEL) -> tuple[float, float, float]:
    """p1 - p2 of two proportions measured on the same n items, with Newcombe's (1998, method 10) interval.

    The four counts cross the two outcomes: ``both`` (success in 1 and 2), ``first_only``, ``second_only``,
    ``neither``. p1 - p2 = (first_only - second_only) / n. Each proportion gets its Wilson interval, and the
    two are combined with the phi correlation of the pairs (0 when a margin is empty), which is what makes
    the interval narrow when the two measurements move together (e.g. one trajectory before and after an
    edit). Without a single discordant pair (first_only = second_only = 0) that interval has zero width, an
    artefact of the method; there |p1 - p2| is bounded by the share of discordant pairs, so the interval is
    plus or minus that share's Wilson upper bound. Returns (difference, low, high).
    """
    counts = (both, first_only, second_only, neither)
    if min(counts) < 0 or sum(counts) == 0:
        raise ValueError(f"paired_proportion_difference needs non-negative counts, not all 0, got {counts}")
    a, b, c, d = counts
    n = a + b + c + d
    if b + c == 0:
        half = wilson_interval(0, n, level)[1]
        return 0.0, -half, half
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n, level)
    l2, u2 = wilson_interval(a + c, n, level)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(margins) if margins > 0 else 0.0
    diff = p1 - p2
    down = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    up = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    return diff, max(-1.0, diff - math.sqrt(max(down, 0.0))), min(1.0, diff + math.sqrt(max(up, 0.0)))


def macro_f1_from_counts(counts: np.ndarray) -> np.ndarray:
    """Macro-F1 of confusion matrices (..., C, C), rows true: mean F1 over the classes that occur (sklearn 'macro')."""
    counts = np.asarray(counts, dtype=np.float64)
    tp = np.diagonal(counts, axis1=-2, axis2=-1)  # (..., C)
    both = counts.sum(axis=-1) + counts.sum(axis=-2)  # support + predicted, (..., C)
    f1 = np.where(both > 0, 2 * tp / np.where(both > 0, both, 1.0), 0.0)
    present = both > 0
    return (f1 * present).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)  # (...)


def bootstrap_macro_f1(counts: np.ndarray, n_boot: int, seed: int, level: float = LEVEL) -> tuple[float, float]:
    """Percentile bootstrap of macro-F1 over test trajectories: resampling them is a multinomial draw of the cells."""
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    if n == 0:
        raise ValueError("bootstrap of macro-F1 needs a non-empty confusion matrix")
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts.ravel() / n, size=n_boot).reshape(n_boot, *counts.shape)  # (n_boot, C, C)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(macro_f1_from_counts(draws), [tail, 100 - tail])
    return float(lo), float(hi)

"""Interval methods: exact on hand examples, and covering at their level by simulation (over training seeds;
Wilson, macro-F1 and correlation bootstraps over test trajectories)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from andicam.intervals import Interval, paired_t_interval, t_interval

REPEATS = 2000
TRUE_MEAN = 0.7
SD = 0.02


def test_t_interval_on_a_hand_example() -> None:
    # mean 2, sd 1 (ddof 1), n 3: half width t_{0.975,2} / sqrt 3 = 4.302653 / 1.732051 = 2.484138
    got = t_interval([1.0, 2.0, 3.0])
    assert got.mean == 2.0 and got.n == 3
    assert got.low == pytest.approx(2 - 2.484138, abs=1e-6)
    assert got.high == pytest.approx(2 + 2.484138, abs=1e-6)
    assert got.method == "t interval over training seeds" and got.unit == "training seed"


def test_t_interval_clips_to_limits_and_has_no_bounds_for_one_value() -> None:
    assert t_interval([99.0, 100.0], limits=(0.0, 100.0)).high == 100.0
    one = t_interval([0.5])
    assert one.mean == 0.5 and math.isnan(one.low) and math.isnan(one.high)


def test_paired_interval_is_the_interval_of_the_differences() -> None:
    a, b = [0.80, 0.75, 0.78, 0.81], [0.70, 0.72, 0.69, 0.74]
    paired = paired_t_interval(a, b)
    plain = t_interval(np.subtract(a, b))
    assert (paired.mean, paired.low, paired.high) == pytest.approx((plain.mean, plain.low, plain.high))
    assert paired.method == "paired t interval over training seeds"


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="equal length"):
        paired_t_interval([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        t_interval([1.0, float("nan")])
    with pytest.raises(ValueError, match="non-empty"):
        t_interval([])


def _coverage(intervals: list[Interval], truth: float) -> float:
    return float(np.mean([i.low <= truth <= i.high for i in intervals]))


@pytest.mark.parametrize("n", [5, 10])
def test_t_interval_covers_at_its_level(n: int) -> None:
    rng = np.random.default_rng(n)
    samples = rng.normal(TRUE_MEAN, SD, size=(REPEATS, n))
    coverage = _coverage([t_interval(s) for s in samples], TRUE_MEAN)
    # binomial sd of a 95 % coverage estimate over 2,000 repeats is 0.49 points: 93-97 is +-4 sd
    assert 0.93 <= coverage <= 0.97


@pytest.mark.parametrize("n", [5, 10])
def test_paired_t_interval_covers_the_true_difference(n: int) -> None:
    rng = np.random.default_rng(100 + n)
    seed_effect = rng.normal(0, 0.05, size=(REPEATS, n))  # shared by both arms of a seed
    a = 0.76 + seed_effect + rng.normal(0, SD, size=(REPEATS, n))
    b = 0.72 + seed_effect + rng.normal(0, SD, size=(REPEATS, n))
    coverage = _coverage([paired_t_interval(x, y) for x, y in zip(a, b)], 0.04)
    assert 0.93 <= coverage <= 0.97


def test_percentile_bootstrap_over_few_seeds_undercovers() -> None:
    """The interval the augmentation used before: percentile bootstrap of the mean over seeds."""
    rng = np.random.default_rng(7)
    n, n_boot = 5, 1000
    samples = rng.normal(TRUE_MEAN, SD, size=(REPEATS, n))
    hits = 0
    for s in samples:
        means = s[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
        lo, hi = np.percentile(means, [2.5, 97.5])
        hits += lo <= TRUE_MEAN <= hi
    # about 83 % in theory at n = 5 (plug-in sd shrinks by sqrt(4/5), normal instead of t_4 quantiles)
    assert hits / REPEATS < 0.88


# --- the other interval methods the summary names, each checked for coverage by simulation -------------------


def test_wilson_interval_covers_a_test_set_accuracy() -> None:
    from andicam.summary import wilson_interval

    rng = np.random.default_rng(11)
    n, p = 400, 0.8  # e.g. recall of one class on 400 test trajectories
    hits = [lo <= p <= hi for lo, hi in (wilson_interval(int(k), n) for k in rng.binomial(n, p, size=REPEATS))]
    assert 0.93 <= np.mean(hits) <= 0.97, np.mean(hits)  # 0.951


def test_bootstrap_of_macro_f1_covers_the_population_value() -> None:
    from andicam.summary import bootstrap_macro_f1, macro_f1_from_counts

    rng = np.random.default_rng(12)
    classes = 8
    confusion = np.full((classes, classes), 0.2 / (classes - 1))  # rows: true class; 80 % correct on average
    np.fill_diagonal(confusion, 0.8)
    confusion[0] = np.r_[0.6, np.full(classes - 1, 0.4 / (classes - 1))]  # one harder class, as SubATTM
    cells = (confusion / classes).ravel()
    truth = float(macro_f1_from_counts(confusion))  # F1 depends only on the cell proportions
    n = 2000  # test trajectories
    hits = []
    for k in range(1000):
        counts = rng.multinomial(n, cells).reshape(classes, classes)
        lo, hi = bootstrap_macro_f1(counts, n_boot=400, seed=k)
        hits.append(lo <= truth <= hi)
    assert 0.93 <= np.mean(hits) <= 0.97, np.mean(hits)  # 0.947


def test_trajectory_bootstrap_of_a_pooled_correlation_covers_it() -> None:
    """The relevance correlations pool positions of many trajectories, which are not independent: a
    trajectory's positions share its level. Resampling whole trajectories covers the population r."""
    from andicam.relevance import _interval, bootstrap_counts, pearson_bootstrap

    rng = np.random.default_rng(13)
    n_traj, positions = 200, 32
    a, b, c = 1.0, 0.8, 0.3  # cam = a u + e, stat = b u + c e + f, with u per trajectory and e, f per position
    truth = (a * b + c) / math.sqrt((a * a + 1) * (b * b + c * c + 1))
    hits = []
    for _ in range(1000):
        u = rng.standard_normal((n_traj, 1))
        e = rng.standard_normal((n_traj, positions))
        f = rng.standard_normal((n_traj, positions))
        _, replicates = pearson_bootstrap(a * u + e, b * u + c * e + f, bootstrap_counts(n_traj, 400, rng))
        lo, hi = _interval(replicates)
        hits.append(lo <= truth <= hi)
    assert 0.93 <= np.mean(hits) <= 0.97, np.mean(hits)  # 0.945

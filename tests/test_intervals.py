"""Interval methods: exact on hand examples, and covering at their level by simulation (over training seeds;
Wilson, macro-F1 and correlation bootstraps over test trajectories)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from andicam.intervals import (Interval, bootstrap_macro_f1, macro_f1_from_counts, paired_t_interval, t_interval,
                               wilson_interval)

REPEATS = 2000
TRUE_MEAN = 0.7
SD = 0.02
Z = 1.959963984540054  # standard normal 97.5 % quantile


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
    rng = np.random.default_rng(11)
    n, p = 400, 0.8  # e.g. recall of one class on 400 test trajectories
    hits = [lo <= p <= hi for lo, hi in (wilson_interval(int(k), n) for k in rng.binomial(n, p, size=REPEATS))]
    assert 0.93 <= np.mean(hits) <= 0.97, np.mean(hits)  # 0.951


def test_bootstrap_of_macro_f1_covers_the_population_value() -> None:
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


# --- the intervals of the summary table -------------------------------------------------------------------------------------------------


def test_t_interval_matches_the_t_quantile_by_hand() -> None:
    values = [71.0, 73.5, 69.0, 72.0]
    mean = sum(values) / 4
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 3)
    half = stats.t.ppf(0.975, 3) * sd / 2
    got = t_interval(values)
    assert (got.mean, got.low, got.high) == pytest.approx((mean, mean - half, mean + half), abs=1e-12)
    assert half == pytest.approx(3.182446305284263 * sd / 2)  # t_{0.975, 3} from a table
    # Two seeds 70 and 90: sd/sqrt(n) = 10, t_{0.975,1} = 12.706, so 80 +- 127 leaves [0, 100];
    # a narrow one is untouched by the limits.
    wide = t_interval([70.0, 90.0], limits=(0.0, 100.0))
    assert (wide.mean, wide.low, wide.high) == (80.0, 0.0, 100.0)
    narrow = t_interval([79.0, 81.0], limits=(0.0, 100.0))
    assert (narrow.low, narrow.high) == pytest.approx((80 - 12.7062, 80 + 12.7062), abs=1e-3)


def test_wilson_interval_by_hand() -> None:
    # 8 of 10: centre (0.8 + z^2/20) / (1 + z^2/10), half-width z/(1 + z^2/10) sqrt(0.016 + z^2/400)
    denom = 1 + Z * Z / 10
    centre = (0.8 + Z * Z / 20) / denom
    half = Z / denom * math.sqrt(0.8 * 0.2 / 10 + Z * Z / 400)
    assert wilson_interval(8, 10) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)  # the textbook values
    # 0 of n: the interval is [0, z^2 / (n + z^2)].
    assert wilson_interval(0, 12) == pytest.approx((0.0, Z * Z / (12 + Z * Z)), abs=1e-12)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(11, 10)


def test_macro_f1_matches_the_evaluation_stage_and_its_bootstrap_is_seeded() -> None:
    from andicam.evaluate import macro_f1

    rng = np.random.default_rng(3)
    counts = rng.integers(0, 6, size=(8, 8))
    counts[4] = 0  # a class absent from the labels ...
    counts[:, 4] = 0  # ... and never predicted: left out of the mean
    assert macro_f1_from_counts(counts) == pytest.approx(macro_f1(counts), abs=1e-12)
    lo, hi = bootstrap_macro_f1(counts, 500, seed=1)
    assert lo < macro_f1(counts) < hi
    assert bootstrap_macro_f1(counts, 500, seed=1) == (lo, hi)


def test_paired_proportion_difference_by_hand_and_covering() -> None:
    from andicam.intervals import paired_proportion_difference

    # A margin is empty (c = d = 0: every item succeeds the first time), so phi = 0 and the bounds are the
    # Wilson bounds' distances added in quadrature.
    diff, lo, hi = paired_proportion_difference(38, 12, 0, 0)
    (l1, u1), (l2, u2) = wilson_interval(50, 50), wilson_interval(38, 50)
    assert diff == pytest.approx(0.24)
    assert lo == pytest.approx(0.24 - math.hypot(1 - l1, u2 - 0.76))
    assert hi == pytest.approx(0.24 + math.hypot(u1 - 1, 0.76 - l2))
    # Outcomes that move together (phi > 0) give a narrower interval than the same margins unpaired.
    _, lo_c, hi_c = paired_proportion_difference(70, 10, 2, 18)
    (l1, u1), (l2, u2) = wilson_interval(80, 100), wilson_interval(72, 100)
    assert hi_c - lo_c < math.hypot(0.8 - l1, u2 - 0.72) + math.hypot(u1 - 0.8, 0.72 - l2)
    # Identical outcomes: difference 0 and an interval around it.
    diff, lo, hi = paired_proportion_difference(50, 0, 0, 50)
    assert diff == 0 and lo < 0 < hi
    with pytest.raises(ValueError, match="non-negative"):
        paired_proportion_difference(1, -1, 0, 0)
    # Coverage by simulation: 300 trajectories right before an edit with p 0.85, of which 15 % turn wrong after it
    # and 20 % of the wrong ones turn right; the true drop is 0.85 * 0.15 - 0.15 * 0.20 = 0.0975.
    rng = np.random.default_rng(5)
    n, truth = 300, 0.85 * 0.15 - 0.15 * 0.20
    hits = []
    for _ in range(REPEATS):
        before = rng.random(n) < 0.85
        after = np.where(before, rng.random(n) >= 0.15, rng.random(n) < 0.20)
        a, b = int((before & after).sum()), int((before & ~after).sum())
        c, d = int((~before & after).sum()), int((~before & ~after).sum())
        _, lo, hi = paired_proportion_difference(a, b, c, d)
        hits.append(lo <= truth <= hi)
    assert 0.93 <= np.mean(hits) <= 0.97, np.mean(hits)


def test_welch_interval_from_summaries_is_scipys_welch_and_covers() -> None:
    """From two groups' means and SEs alone it equals scipy's Welch t interval on the raw samples, and covers
    the true difference at its level (unequal spreads, 5 and 20 models per arm, as the paper's set-ups)."""
    from andicam.intervals import welch_interval_from_se

    rng = np.random.default_rng(7)
    a, b = rng.normal(0.5, 0.03, 5), rng.normal(0.45, 0.06, 5)
    diff, low, high = welch_interval_from_se(a.mean(), stats.sem(a), 5, b.mean(), stats.sem(b), 5)
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (diff, low, high) == pytest.approx((a.mean() - b.mean(), ref.low, ref.high))
    for n in (5, 20):
        hits = 0
        for _ in range(REPEATS):
            x, y = rng.normal(0.76, 0.02, n), rng.normal(0.72, 0.05, n)
            _, lo, hi = welch_interval_from_se(x.mean(), stats.sem(x), n, y.mean(), stats.sem(y), n)
            hits += lo <= 0.04 <= hi
        assert 0.93 <= hits / REPEATS <= 0.97
    with pytest.raises(ValueError, match="n >= 2"):
        welch_interval_from_se(0.5, 0.01, 1, 0.4, 0.01, 5)


def test_mover_difference_by_hand_and_covering() -> None:
    """Symmetric intervals give the difference +- the root sum of squares of the half widths; two t intervals
    combined so cover the difference of two independent means (20 and 5 replicates, unequal spreads)."""
    from andicam.intervals import mover_difference, t_from_se

    d, low, high = mover_difference(10.0, 7.0, 13.0, 4.0, 0.0, 8.0)
    assert (d, low, high) == pytest.approx((6.0, 1.0, 11.0))  # sqrt(3^2 + 4^2) = 5
    d, low, high = mover_difference(0.5, 0.4, 0.55, 0.3, 0.25, 0.4)  # asymmetric: the cross terms
    assert (low, high) == pytest.approx((0.2 - math.hypot(0.1, 0.1), 0.2 + math.hypot(0.05, 0.05)))
    assert t_from_se(2.0, 1.0 / math.sqrt(3), 3) == pytest.approx((2 - 2.484138, 2 + 2.484138), abs=1e-6)
    rng = np.random.default_rng(11)
    for n_a, n_b in ((20, 20), (20, 5)):
        hits = 0
        for _ in range(REPEATS):
            x, y = rng.normal(0.76, 0.02, n_a), rng.normal(0.72, 0.05, n_b)
            a, b = t_from_se(x.mean(), stats.sem(x), n_a), t_from_se(y.mean(), stats.sem(y), n_b)
            _, lo, hi = mover_difference(x.mean(), *a, y.mean(), *b)
            hits += lo <= 0.04 <= hi
        # MOVER from two t intervals is slightly conservative at few replicates (96 % at 20 and 5)
        assert 0.93 <= hits / REPEATS <= 0.975
    with pytest.raises(ValueError, match="outside its interval"):
        mover_difference(1.0, 2.0, 3.0, 0.0, -1.0, 1.0)

"""Simulation: seeds, balance, ranges, normalisation and MSD exponents (METHODS §1, §5.1-5.2)."""

from __future__ import annotations

import numpy as np
import pytest
from andi_datasets.utils_trajectories import normalize as andi_normalize

from andicam.dataio import CLASS_NAMES
from andicam.msd import ensemble_msd, exponents_by_alpha, fit_exponent
from andicam.predict import check_track
from andicam.simulate import CLASSES, _is_degenerate, normalise, simulate, simulate_class, steps_without_spread
from andicam.tracks import Track


@pytest.fixture(scope="module")
def fixed():
    return simulate(300, 1000, 1000, seed=11)


def test_same_seed_gives_identical_arrays():
    a = simulate(6, 50, 300, seed=3)
    b = simulate(6, 50, 300, seed=3)
    for name in ("trajectories", "lengths", "labels", "alpha"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_other_seed_gives_other_arrays():
    a = simulate(6, 50, 300, seed=3)
    b = simulate(6, 50, 300, seed=4)
    assert not np.array_equal(a.trajectories, b.trajectories)
    assert not np.array_equal(a.alpha, b.alpha)


def test_simulation_leaves_global_random_state_alone():
    np.random.seed(123)
    expected = np.random.rand(3)
    np.random.seed(123)
    simulate(2, 100, 100, seed=1)
    assert np.array_equal(np.random.rand(3), expected)


def test_balance_shapes_and_ranges():
    data = simulate(10, 10, 1000, seed=5)
    assert data.trajectories.shape == (80, 2, 1000)
    assert data.trajectories.dtype == np.float32
    assert np.array_equal(np.bincount(data.labels, minlength=8), np.full(8, 10))
    assert data.lengths.min() >= 10 and data.lengths.max() <= 1000
    for spec in CLASSES:
        alpha = data.alpha[data.labels == spec.label]
        if spec.regime == "sub":
            assert (alpha >= 0.1).all() and (alpha <= 0.9).all()
        elif spec.regime == "sup":
            assert (alpha >= 1.1).all() and (alpha <= 1.9).all()
        else:
            assert (alpha == 1.0).all()


def test_classes_draw_lengths_and_alphas_independently():
    """The original code gave the i-th trajectory of every class the same length and alpha (METHODS §5.2)."""
    data = simulate(20, 10, 1000, seed=8)
    by_class = [np.sort(data.lengths[data.labels == k]) for k in range(8)]
    assert len({tuple(v) for v in by_class}) == 8


def test_trajectories_are_normalised_and_padded(fixed):
    data = simulate(10, 20, 400, seed=2)
    for i in range(len(data)):
        T = data.lengths[i]
        xy = data.trajectories[i, :, :T].astype(np.float64)
        assert np.allclose(xy[:, 0], 0)
        assert np.allclose(np.diff(xy, axis=1).std(axis=1), 1, atol=1e-4)
        assert not data.trajectories[i, :, T:].any()
        assert (np.ptp(xy, axis=1) > 0).all(), "degenerate trajectories are redrawn"


def test_normalise_equals_andi_datasets():
    rng = np.random.default_rng(0)
    traj = rng.normal(size=(5, 200)).cumsum(axis=1) * 3 + 7
    assert np.allclose(normalise(traj), andi_normalize(traj), atol=1e-10)


def test_ensemble_msd_of_brownian_motion_is_linear():
    rng = np.random.default_rng(1)
    traj = np.zeros((2000, 2, 200))
    traj[:, :, 1:] = rng.normal(size=(2000, 2, 199)).cumsum(axis=2)
    lags = np.arange(1, 150)
    msd = ensemble_msd(traj, np.full(2000, 200), lags)
    assert np.allclose(msd, 2 * lags, rtol=0.1)  # two axes, unit variance each
    assert abs(fit_exponent(lags, msd) - 1) < 0.02


def test_msd_exponents_follow_the_drawn_alpha(fixed):
    table = exponents_by_alpha(fixed, bins=4)
    assert set(table["class"]) == set(CLASS_NAMES)
    for spec in CLASSES:
        rows = table[table["class"] == spec.name]
        fitted = rows["alpha_fitted"].to_numpy()
        if spec.regime == "sub":
            assert (fitted < 1).all(), spec.name
        elif spec.regime == "sup":
            assert (fitted > 1).all(), spec.name
        else:
            assert abs(fitted[0] - 1) < 0.1
        if spec.model != "ctrw":
            assert np.abs(fitted - rows["alpha_drawn"].to_numpy()).max() < 0.25, spec.name
    # A regularised CTRW moves in a few large jumps; normalising each trajectory by the std of its
    # increments weights the ensemble by 1/(number of jumps), which flattens its exponent. It must
    # still be sub-diffusive (checked above) and clearly below 1 on average.
    assert table.loc[table["class"] == "SubCTRW", "alpha_fitted"].mean() < 0.6
    # Within the ergodic Gaussian classes the fitted exponent rises with alpha.
    for name in ("SubFBM", "SupFBM", "SubSBM", "SupSBM"):
        assert np.all(np.diff(table.loc[table["class"] == name, "alpha_fitted"]) > 0), name


def _straight_flight(T: int) -> np.ndarray:
    """One even flight from an offset start, as cumulative float sums make it: steps equal up to rounding."""
    angle = 0.7
    steps = np.tile([[np.cos(angle)], [np.sin(angle)]], (1, T - 1)) * 3.3
    xy = np.concatenate([[[12.345], [-6.789]], steps], axis=1).cumsum(axis=1)
    return xy


def test_straight_flight_with_rounding_jitter_is_detected():
    xy = _straight_flight(10)
    d = np.diff(xy, axis=-1)
    assert (d.std(axis=-1) > 0).all()  # not exactly constant: the old == 0 guard missed it
    assert np.abs(np.diff(xy, axis=-1) / d.std(axis=-1, keepdims=True)).max() > 1e12  # what it blew up to
    assert steps_without_spread(d).all() and _is_degenerate(xy)
    assert np.abs(normalise(xy)).max() <= 9 * 3.3 + 1e-9  # std left at 1: 9 raw steps of size <= 3.3
    status, used = check_track(Track("s", xy.T.copy()), min_length=10, long="first")
    assert status == "constant coordinate" and used is None
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=(2, 10)), axis=-1)
    assert not steps_without_spread(np.diff(walk, axis=-1)).any() and not _is_degenerate(walk)


def test_short_superdiffusive_levy_walks_stay_bounded():
    lw = next(c for c in CLASSES if c.name == "SupLW")
    traj = simulate_class(lw, 400, 10, 10, (1.1, 1.9), seed=5)
    # A flight with a genuinely different step normalises to hundreds (mean step / std of steps); one
    # differing only by rounding went to ~5e16, as 5.5 % of these did before the relative threshold.
    assert np.abs(traj.trajectories).max() < 1e6
    assert np.isfinite(traj.trajectories).all()

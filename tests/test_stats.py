"""Window statistics: constructed trajectories with known values, and a slow per-window reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import kurtosis

from andicam import stats
from andicam.preprocess import minmax_scale

T = 1000


def _from_increments(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """(T-1,) increments per axis -> one trajectory (1, 2, T) starting at 0, in float64 (no rescaling)."""
    return np.stack([np.r_[0.0, np.cumsum(dx)], np.r_[0.0, np.cumsum(dy)]])[None]


def _features(x: np.ndarray) -> dict[str, np.ndarray]:
    return stats.window_features(x, stats.window_starts(T, 225, stride=25), 225)


def test_paper_windows_and_stage_windows() -> None:
    starts = stats.window_starts(T, 225, stride=25)
    assert starts.tolist() == list(range(0, 776, 25))
    assert stats.stage_positions(T) == {"layer1": 250, "layer2": 125, "layer3": 63, "layer4": 32}
    assert stats.matched_windows(T) == {"layer1": 29, "layer2": 58, "layer3": 114, "layer4": 225}
    s4, w4 = stats.stage_window_starts("layer4")
    assert w4 == 225 and np.array_equal(s4, starts)
    s1, w1 = stats.stage_window_starts("layer1")
    assert s1.size == 250 and s1[0] == 0 and s1[-1] + w1 == T and np.all(np.diff(s1) > 0)


def test_constant_velocity_is_the_undefined_convention() -> None:
    # Steps of exactly 2**-10: every increment equal, so the autocorrelation is undefined (-> 1),
    # no quarter has a kurtosis (-> 0), the diffusivity does not change and the path does not turn.
    step = np.full(T - 1, 2.0**-10)
    f = _features(_from_increments(step, 2 * step))
    assert np.all(f["f1"] == 1.0)
    assert np.all(f["f2"] == 0.0)
    assert np.all(f["f4"] == 0.0)
    assert np.all(f["f5"] == 0.0)
    assert np.allclose(f["f3"], 0.0, atol=1e-12)


def test_straight_line_with_varying_steps_does_not_turn() -> None:
    rng = np.random.default_rng(1)
    step = rng.uniform(0.5, 2.0, T - 1)
    f = _features(_from_increments(step, 2 * step))
    assert np.allclose(f["f5"], 0.0, atol=1e-12)
    assert np.all(f["f3"] > 0)


def test_alternating_steps_have_autocorrelation_minus_one() -> None:
    sign = (-1.0) ** np.arange(T - 1)
    f = _features(_from_increments(sign, 3 * sign))
    assert np.allclose(f["f1"], -1.0, atol=1e-14)
    # Back-and-forth: every turn is +pi (wrapped into (-pi, pi]), so the spread of turning angles is 0.
    assert np.allclose(f["f5"], 0.0, atol=1e-12)


def test_quarter_turns_give_turning_spread_one_half() -> None:
    dx = (np.arange(T - 1) % 2 == 0).astype(float)  # steps (1,0), (0,1), (1,0), ...
    f = _features(_from_increments(dx, 1.0 - dx))
    # 223 turns per window, +pi/2 and -pi/2 alternately (112 of one, 111 of the other): std / pi is
    # 1/2 * sqrt(1 - (1/223)**2).
    assert np.allclose(f["f5"], 0.5 * math.sqrt(1 - (1 / 223) ** 2), rtol=1e-12)


def test_single_jump() -> None:
    n, t0, eps = 56, 60, stats.RATIO_EPS  # increment 60 lies in one quarter of windows 0, 1, 2 only
    dx = np.zeros(T - 1)
    dx[t0] = 1.0
    f = _features(_from_increments(dx, np.zeros(T - 1)))
    known = (n * n - 3 * n + 3) / (n - 1) - 3  # excess kurtosis of one nonzero among n values
    assert known == pytest.approx(kurtosis(np.r_[np.zeros(n - 1), 1.0], fisher=True, bias=True))
    assert np.allclose(f["f2"][0, :3], known, rtol=1e-12)
    assert np.all(f["f2"][0, 3:] == 0.0)  # only zero increments: no quarter has a kurtosis
    # x: two lagged series with one spike each, at neighbouring places: r = -1/(pairs - 1); y at rest: 1.
    pairs = 223
    assert np.allclose(f["f1"][0, :3], (-1.0 / (pairs - 1) + 1.0) / 2, rtol=1e-12)
    assert np.all(f["f1"][0, 3:] == 1.0)
    # |d[t+1]| / (|d[t]| + eps): one value 1/eps among 223 ratios, the rest 0; y at rest gives 0.
    m = 223
    assert np.allclose(f["f3"][0, :3], (1 / eps) * math.sqrt((1 / m) * (1 - 1 / m)), rtol=1e-9)
    assert np.all(f["f5"] == 0.0)  # no two consecutive moving steps


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_change_of_diffusivity(sign: float) -> None:
    # Window 0 (increments 0..223): alternating +-1 then +-3 from increment 112 on (or the reverse).
    alt = (-1.0) ** np.arange(T - 1)
    scale = np.where(np.arange(T - 1) < 112, 1.0, 3.0)
    if sign < 0:
        scale = 4.0 - scale
    f = _features(_from_increments(alt * scale, alt * scale))
    assert f["f4"][0, 0] == pytest.approx(sign * 2 / math.sqrt(5), rel=1e-12)


def test_composites_use_scaled_absolute_features() -> None:
    feats = {
        "f1": np.array([[0.5, -0.5, 1.0]]),
        "f2": np.array([[-3.0, 1.0, 2.0]]),  # |f2| -> [3, 1, 2] -> scaled [1, 0, 0.5]
        "f3": np.array([[4.0, 2.0, 3.0]]),  # scaled [1, 0, 0.5]
        "f4": np.array([[0.2, -0.4, 0.6]]),
        "f5": np.array([[0.1, 0.3, 0.2]]),  # scaled [0, 1, 0.5]
    }
    out = stats.composite_statistics(feats)
    assert np.allclose(out["AC"], [[0.5, -0.5, 1.0]])
    assert np.allclose(out["CS"], [[0.0, -0.5, 0.5]])
    assert np.allclose(out["SG"], [[1.0, 0.0, 0.25]])
    assert np.allclose(out["VD"], [[0.2, 0.0, 0.3]])
    flat = stats.composite_statistics({k: np.ones((1, 3)) for k in stats.FEATURES})
    assert np.all(flat["SG"] == 0.0)  # a trajectory whose windows all agree scales to 0


def _reference(x: np.ndarray, window: int, starts: np.ndarray, eps: float) -> dict[str, np.ndarray]:
    """The definitions of METHODS §4 written window by window with numpy/scipy one-liners."""
    out = {k: np.zeros((x.shape[0], starts.size)) for k in stats.FEATURES}
    for n in range(x.shape[0]):
        for w, s in enumerate(starts):
            d = np.diff(x[n, :, s:s + window].astype(np.float64), axis=-1)  # (2, window - 1)
            q = (np.arange(5) * d.shape[1]) // 4
            f1, f2, f3, f4 = [], [], [], []
            for a in d:
                with np.errstate(invalid="ignore", divide="ignore"):
                    r = np.corrcoef(a[:-1], a[1:])[0, 1]
                f1.append(1.0 if not np.isfinite(r) or np.ptp(a[:-1]) == 0 or np.ptp(a[1:]) == 0 else r)
                for k in range(4):
                    part = a[q[k]:q[k + 1]]
                    if np.ptp(part) > 0:
                        f2.append(kurtosis(part, fisher=True, bias=True))
                f3.append(np.std(np.abs(a[1:]) / (np.abs(a[:-1]) + eps)))
                f4.append((a[q[3]:].std() - a[:q[1]].std()) / a.std() if np.ptp(a) > 0 else 0.0)
            moving = np.any(d != 0, axis=0)
            keep = moving[1:] & moving[:-1]
            heading = np.arctan2(d[1], d[0])
            turns = stats.wrap_angle(heading[1:] - heading[:-1])[keep]
            out["f1"][n, w] = np.mean(f1)
            out["f2"][n, w] = np.mean(f2) if f2 else 0.0
            out["f3"][n, w] = max(f3)
            out["f4"][n, w] = np.mean(f4)
            out["f5"][n, w] = np.std(turns) / math.pi if turns.size else 0.0
    return out


def _random_inputs(n: int, seed: int) -> np.ndarray:
    """Random walks, some with CTRW-like rests (runs of zero increments), min-max scaled in float32."""
    rng = np.random.default_rng(seed)
    d = rng.standard_t(3, size=(n, 2, T - 1))
    rest = rng.random((n, 1, T - 1)) < np.linspace(0, 0.95, n)[:, None, None]
    d = np.where(rest, 0.0, d)
    x = np.concatenate([np.zeros((n, 2, 1)), np.cumsum(d, axis=-1)], axis=-1)
    return minmax_scale(x.astype(np.float32))


@pytest.mark.parametrize(("window", "n_windows"), [(225, None), (29, 250), (114, 63)])
def test_vectorised_equals_loop_reference(window: int, n_windows: int | None) -> None:
    x = _random_inputs(3, seed=window)
    starts = (stats.window_starts(T, window, stride=25) if n_windows is None
              else stats.window_starts(T, window, n_windows=n_windows))
    got = stats.window_features(x, starts, window)
    ref = _reference(x, window, starts, stats.RATIO_EPS)
    for name in stats.FEATURES:
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-9, atol=1e-12, err_msg=name)
    comp = stats.window_statistics(x) if n_windows is None else stats.window_statistics(x, window, n_windows=n_windows)
    assert set(comp) == set(stats.STATISTICS)
    assert all(v.shape == (3, starts.size) for v in comp.values())
    assert np.all(np.abs(comp["AC"]) <= 1) and np.all((comp["SG"] >= 0) & (comp["SG"] <= 1))


def test_chunking_does_not_change_results() -> None:
    x = _random_inputs(stats._CHUNK + 3, seed=5)
    whole = stats.window_statistics(x)
    tail = stats.window_statistics(x[-3:])
    for name in stats.STATISTICS:
        assert np.array_equal(whole[name][-3:], tail[name])


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="shape"):
        stats.window_statistics(np.zeros((2, 3, T)))
    with pytest.raises(ValueError, match="does not fit"):
        stats.window_starts(100, 225, stride=25)
    with pytest.raises(ValueError, match="NaN"):
        stats.window_statistics(np.full((1, 2, T), np.nan))
    with pytest.raises(ValueError, match="unknown stage"):
        stats.stage_window_starts("layer9")

"""Feature ablation: splicing, the donor search (against a brute-force loop), the seeded control."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from andicam import ablation as ab
from andicam.device import resolve_device
from andicam.model import build_model
from andicam.preprocess import minmax_scale
from andicam.stats import STATISTICS, window_statistics

T = 1000
WIN = ab.Windows()


def _inputs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = rng.standard_t(3, size=(n, 2, T - 1)) * rng.uniform(0.2, 3.0, size=(n, 1, 1))
    d[:, :, 300:500] *= 4.0  # a stretch of larger steps, so windows differ
    x = np.concatenate([np.zeros((n, 2, 1)), np.cumsum(d, axis=-1)], axis=-1)
    return minmax_scale(x.astype(np.float32))



pytestmark = pytest.mark.usefixtures("one_thread")

def test_splice_keeps_length_continuity_and_moves_the_donor_increments() -> None:
    x = _inputs(3, seed=0)
    target, donor = np.array([0, 100, 775]), np.array([500, 775, 0])
    y = ab.splice(x, target, donor, 225)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y.min(-1), 0.0, atol=1e-7)
    np.testing.assert_allclose(y.max(-1), 1.0, atol=1e-6)
    dx = np.diff(x.astype(np.float64), axis=-1)
    dy = np.diff(y.astype(np.float64), axis=-1)
    for i in range(3):
        t = np.arange(T - 1)
        inside = (t >= target[i]) & (t < target[i] + 224)
        src = np.where(inside, t - target[i] + donor[i], t)
        # Re-scaling multiplies every increment of an axis by one factor: the new increments are the
        # source increments times that factor, so no jump appears at the seams.
        factor = dy[i, :, 10] / dx[i, :, src[10]]
        np.testing.assert_allclose(dy[i], dx[i][:, src] * factor[:, None], rtol=2e-3, atol=2e-6)
    assert np.array_equal(ab.splice(x, target, target, 225), minmax_scale(x))  # transplanting a window onto itself


def test_loss_prefers_change_in_the_statistic_and_none_in_the_others() -> None:
    delta = np.array([[0.5, 0.0, 0.0, 0.0], [0.5, 0.3, 0.0, 0.0], [0.1, 0.0, 0.0, 0.0], [-0.6, 0.1, 0.1, 0.1]])
    loss = ab.transplant_loss(delta, 0)
    np.testing.assert_allclose(loss, [-0.25, -0.16, -0.01, -0.33])
    assert int(loss.argmin()) == 3
    assert ab.transplant_loss(delta, 1)[1] == pytest.approx(-0.09 + 0.25)


def _brute_force(x: np.ndarray, s: int, mode: int) -> tuple[int, int]:
    """Target and donor for one trajectory by looping over every donor, as METHODS describes it."""
    starts = np.arange(0, 776, 25)
    first = window_statistics(x[None])
    st0 = np.stack([first[k][0] for k in STATISTICS])  # (4, 32)
    target = int(st0[s].argmax() if mode == 0 else st0[s].argmin())
    best, best_loss = -1, np.inf
    for j in range(32):
        if abs(j - target) < 9:
            continue
        y = ab.splice(x[None], starts[[target]], starts[[j]], 225)
        after = window_statistics(y)
        st1 = np.stack([after[k][0] for k in STATISTICS])
        delta = st1[:, target] - st0[:, target]
        loss = -delta[s] ** 2 + sum(delta[k] ** 2 for k in range(4) if k != s)
        if loss < best_loss:
            best, best_loss = j, loss
    return target, best


def test_search_equals_brute_force() -> None:
    x = _inputs(2, seed=1)
    search = ab.search_transplants(x, batch=37)  # a batch size that splits the candidates unevenly
    for n in range(2):
        for s in range(4):
            for m in range(2):
                assert (search.targets[n, s, m], search.donors[n, s, m]) == _brute_force(x[n], s, m)
    assert np.all(np.abs(search.targets - search.donors) >= 9)
    assert search.before.shape == search.after.shape == (2, 4, 2, 4)


def test_hand_built_trajectory_picks_the_derivable_donor() -> None:
    # Alternating steps everywhere (lag-1 autocorrelation exactly -1) except increments 400..623, where
    # the walk rests (autocorrelation undefined -> 1). AC is largest in the window covering exactly that
    # stretch (window 16 = steps 400..624). Every window 9 or more away holds only alternating steps; an
    # even donor continues the alternation at both seams, so it makes every window identical: AC goes
    # from 1 to -1 and CS, SG, VD stay 0 (f5 is 0 everywhere, |f2| becomes constant and scales to 0).
    # No donor can do better, so the first allowed even window, window 0, wins.
    d = np.tile([1.0, -1.0], T)[: T - 1].copy()
    d[400:624] = 0.0
    x = minmax_scale(np.stack([np.r_[0, np.cumsum(d)], np.r_[0, np.cumsum(0.5 * d)]])[None].astype(np.float32))
    search = ab.search_transplants(x)
    ac = STATISTICS.index("AC")
    assert search.targets[0, ac, 0] == 16
    assert search.donors[0, ac, 0] == 0
    assert search.before[0, ac, 0, ac] == pytest.approx(1.0)
    np.testing.assert_allclose(search.after[0, ac, 0], [-1.0, 0.0, 0.0, 0.0], atol=1e-9)


def test_random_control_is_seeded_and_respects_the_distance() -> None:
    t1, d1 = ab.random_transplants(500, 32, 9, 3, np.random.default_rng(7))
    t2, d2 = ab.random_transplants(500, 32, 9, 3, np.random.default_rng(7))
    t3, _ = ab.random_transplants(500, 32, 9, 3, np.random.default_rng(8))
    assert np.array_equal(t1, t2) and np.array_equal(d1, d2) and not np.array_equal(t1, t3)
    assert t1.shape == (3, 500) and np.all(np.abs(t1 - d1) >= 9)
    assert set(np.unique(t1)) == set(range(32)) and set(np.unique(d1)) == set(range(32))
    # Target 0: donors 9..31, each equally likely.
    t, d = ab.random_transplants(20000, 32, 9, 1, np.random.default_rng(0))
    counts = np.bincount(d[t == 0], minlength=32)
    assert counts[:9].sum() == 0 and counts[9:].min() > 0.5 * counts[9:].mean()


def test_run_ablation_tables() -> None:
    torch.manual_seed(0)
    model = build_model(depth=10, width=4).eval()
    x = _inputs(8, seed=2)
    labels = np.arange(8)
    res = ab.run_ablation(model, x, labels, seed=3, repeats=2, index=np.arange(100, 108))
    assert list(res.results.columns) == list(ab.RESULT_COLUMNS)
    assert len(res.results) == (4 * 2 + 1) * 8
    ok = res.results
    np.testing.assert_allclose(ok["drop"], ok["acc_before"] - ok["acc_after"])
    assert (ok["n"] == 1).all()
    assert len(res.independence) == (4 * 2 + 1) * 4
    assert len(res.transplants) == 8 * (4 * 2 + 2) and res.transplants["index"].min() == 100
    # The transplant table replays: splicing its rows and classifying gives the logged predictions.
    row = res.transplants[(res.transplants["mode"] == "for") & (res.transplants["statistic"] == "SG")]
    starts = np.arange(0, 776, 25)
    spliced = ab.splice(x, starts[row["target"]], starts[row["donor"]], 225)
    assert np.array_equal(ab.predict(model, spliced), row["predicted_after"].to_numpy())
    again = ab.run_ablation(model, x, labels, seed=3, repeats=2, index=np.arange(100, 108))
    assert res.results.equals(again.results) and res.transplants.equals(again.transplants)
    grid = ab.summary_grid(res.results, "for")
    assert list(grid.index) == [*STATISTICS, ab.RANDOM] and grid.shape == (5, 8)


def test_select_per_class() -> None:
    labels = np.array([0, 1, 0, 2, 1, 0, 2])
    assert ab.select_per_class(labels, 2).tolist() == [0, 1, 2, 3, 4, 6]
    assert ab.select_per_class(labels, None).tolist() == list(range(7))


def test_cli_ablation_and_figures(tmp_path) -> None:
    import pandas as pd

    from andicam.cli import main
    from andicam.dataio import Trajectories, write_trajectories
    from andicam.model import save_model

    rng = np.random.default_rng(4)
    n = 16
    traj = np.cumsum(rng.normal(size=(n, 2, T)), axis=-1).astype(np.float32)
    labels = np.repeat(np.arange(8), 2).astype(np.int8)
    write_trajectories(tmp_path / "d.h5", Trajectories(traj, np.full(n, T, np.int32), labels,
                                                       np.ones(n, np.float32), {}))
    torch.manual_seed(0)
    save_model(str(tmp_path / "m.pt"), build_model(depth=10, width=4))
    outs = {k: str(tmp_path / f"{k}.csv") for k in ("results", "independence", "transplants")}
    assert main(["ablation", "--model", str(tmp_path / "m.pt"), "--data", str(tmp_path / "d.h5"), "--per-class",
                 "1", "--seed", "5", "--device", "cpu", "--out", outs["results"], "--out-independence",
                 outs["independence"], "--out-transplants", outs["transplants"]]) == 0
    moved = pd.read_csv(outs["transplants"])
    assert sorted(set(moved["index"])) == list(range(0, 16, 2))  # the first trajectory of every class
    for name, key in (("heatmap", "results"), ("top1", "results"), ("independence", "independence")):
        pdf = tmp_path / f"{name}.pdf"
        assert main(["plot", f"ablation_{name}", f"--{key}", outs[key], "--out", str(pdf)]) == 0
        assert pdf.with_suffix(".png").is_file()
    assert main(["ablation", "--model", str(tmp_path / "m.pt"), "--data", str(tmp_path / "d.h5"), "--min-distance",
                 "40", "--seed", "5", "--out", outs["results"], "--out-independence", outs["independence"],
                 "--out-transplants", outs["transplants"]]) == 2


@pytest.mark.gpu
def test_predictions_on_cuda_match_cpu() -> None:
    torch.manual_seed(0)
    model = build_model(depth=10, width=4).eval()
    x = _inputs(8, seed=6)
    assert np.array_equal(ab.predict(model, x), ab.predict(model.to(resolve_device("cuda")), x))

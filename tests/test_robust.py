"""Noise-robust training inputs, the per-track noise estimate, and the robustness evaluation."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from andicam.dataio import CLASS_NAMES, DataFileError, Trajectories
from andicam.files import read_json
from andicam.model import load_model, save_model
from andicam.noise import (NoiseRange, add_noise, draw_noise, estimate_noise, estimator_bias, noisy_input, rotate,
                           valid_mask)
from andicam.preprocess import left_pad, to_model_input
from andicam.dataio import length_bin_labels, length_bins
from andicam.robust import noise_robustness, robustness_summary
from andicam.train import PREEMPT_ENV, PREEMPT_EXIT_CODE, TrainConfig, load_padded_inputs, train
from helpers import andi_model, andi_walks, trained_like_model
from test_train import QUIET, WORKFLOW, _write_shards, state_equal


def stored(n: int = 6, tmax: int = 300, seed: int = 0) -> Trajectories:
    """Left-aligned random walks of several lengths, zero-padded as stored."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(10, tmax + 1, n).astype(np.int32)
    traj = np.zeros((n, 2, tmax), np.float32)
    for i, length in enumerate(lengths):
        traj[i, :, :length] = rng.standard_normal((2, length)).cumsum(axis=1)
    return Trajectories(traj, lengths, rng.integers(0, 8, n).astype(np.int8), np.ones(n, np.float32))


def test_noisy_input_is_the_noise_experiments_input() -> None:
    """Padded first, noised on the valid points, scaled: equal to to_model_input(add_noise(...))."""
    data = stored()
    sigma = 0.7
    reference = to_model_input(add_noise(data, sigma, seed=5), data.lengths)  # (N, 2, 1000)
    # the same normal draw add_noise makes, padded the way the stored trajectories are
    z = np.random.default_rng(5).standard_normal(data.trajectories.shape, dtype=np.float32)
    padded_noise = torch.from_numpy(left_pad(z, data.lengths))
    lengths = torch.from_numpy(data.lengths.astype(np.int64))
    ours = noisy_input(torch.from_numpy(left_pad(data.trajectories, data.lengths)), valid_mask(lengths),
                       torch.full((len(data),), sigma), padded_noise)
    np.testing.assert_allclose(ours.numpy(), reference, atol=2e-6)
    # sigma 0 is the clean input
    clean = noisy_input(torch.from_numpy(left_pad(data.trajectories, data.lengths)), valid_mask(lengths),
                        torch.zeros(len(data)), padded_noise)
    np.testing.assert_allclose(clean.numpy(), to_model_input(data.trajectories, data.lengths), atol=1e-6)


def test_valid_mask_and_rotation() -> None:
    mask = valid_mask(torch.tensor([1, 3, 10]), length=10)
    assert mask.sum(dim=1).tolist() == [1, 3, 10] and mask[:, -1].all() and not mask[0, :-1].any()
    x = torch.randn(4, 2, 50)
    x[:, :, :20] = 0  # padding
    angles = torch.tensor([0.0, math.pi / 2, math.pi, 1.234])
    r = rotate(x, angles)
    torch.testing.assert_close(r[0], x[0])
    torch.testing.assert_close(r[1, 0], -x[1, 1])  # a quarter turn maps (x, y) to (-y, x)
    torch.testing.assert_close(r[2], -x[2])
    torch.testing.assert_close(r.norm(dim=1), x.norm(dim=1))  # lengths kept
    assert (r[:, :, :20] == 0).all()


def test_draw_noise_is_seeded_and_in_range() -> None:
    noise = NoiseRange(0.2, 0.9, rotate=True)
    a = draw_noise(torch.Generator().manual_seed(3), 5000, noise, length=8)
    b = draw_noise(torch.Generator().manual_seed(3), 5000, noise, length=8)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    sigma, z, angles = a
    assert 0.2 <= sigma.min() and sigma.max() <= 0.9 and abs(float(sigma.mean()) - 0.55) < 0.01
    assert z.shape == (5000, 2, 8) and abs(float(z.std()) - 1) < 0.02
    assert 0 <= angles.min() and angles.max() < 2 * math.pi
    assert draw_noise(torch.Generator().manual_seed(3), 5, NoiseRange(0, 1))[2] is None
    sigma = draw_noise(torch.Generator().manual_seed(4), 20000, NoiseRange(0.5, 1.0, clean=0.3), length=1)[0]
    assert abs(float((sigma == 0).float().mean()) - 0.3) < 0.01 and float(sigma[sigma > 0].min()) >= 0.5
    with pytest.raises(ValueError, match="clean fraction"):
        NoiseRange(0, 1, clean=1.0)
    with pytest.raises(ValueError, match="low <= high"):
        NoiseRange(0.5, 0.1)
    with pytest.raises(ValueError, match="low <= high"):
        TrainConfig(noise_min=-0.1, noise_max=1.0)


def test_estimate_noise_reads_white_noise_on_brownian_tracks() -> None:
    """Brownian motion with unit steps plus white noise sigma: the estimate's median is sigma.

    At sigma 0 the covariances scatter around 0 by ~1/sqrt(2 T) and only one side counts, so the
    estimate is the square root of a half-normal's share: a median of a few hundredths at T = 1000.
    """
    rng = np.random.default_rng(0)
    for sigma in (0.0, 0.3, 0.5, 1.0):
        est = [estimate_noise(rng.standard_normal((1000, 2)).cumsum(axis=0) + sigma * rng.standard_normal((1000, 2)))
               for _ in range(200)]
        assert abs(np.median(est) - sigma) < (0.1 if sigma == 0 else 0.05), (sigma, np.median(est))
    # the scale of the track does not matter
    xy = rng.standard_normal((500, 2)).cumsum(axis=0) + 0.5 * rng.standard_normal((500, 2))
    assert estimate_noise(xy) == pytest.approx(estimate_noise(1e-3 * xy + 7.0))
    # pure noise: the steps carry no motion -> far above any trained range
    assert np.median([estimate_noise(rng.standard_normal((2000, 2))) for _ in range(20)]) > 2
    assert math.isnan(estimate_noise(np.zeros((50, 2)))) and math.isnan(estimate_noise(np.ones((4, 2))))


def test_estimate_noise_is_not_hidden_by_persistent_motion() -> None:
    """Steps that persist (runs of equal steps, as a Levy walk's flights) plus noise: the plain negative
    lag-1 covariance sees none of the noise, ours most of it."""
    rng = np.random.default_rng(5)
    est, lag1 = [], []
    for _ in range(100):
        steps = np.repeat(rng.standard_normal((100, 2)), 10, axis=0)  # flights of 10 equal steps
        xy = steps.cumsum(axis=0)
        xy = xy + 0.5 * np.diff(xy, axis=0).std() * rng.standard_normal(xy.shape)
        est.append(estimate_noise(xy))
        d = np.diff(xy, axis=0) - np.diff(xy, axis=0).mean(axis=0)
        lag1.append(np.sqrt(max(-np.mean(d[:-1] * d[1:]), 0) / np.mean(d * d)))
    assert np.median(lag1) == 0.0 and 0.3 < np.median(est) < 0.7


def test_estimator_bias_table() -> None:
    rng = np.random.default_rng(1)
    n, tmax = 64, 400
    traj = rng.standard_normal((n, 2, tmax)).cumsum(axis=2).astype(np.float32)
    data = Trajectories(traj, np.full(n, tmax, np.int32), np.repeat([7, 2], n // 2).astype(np.int8),
                        np.ones(n, np.float32))
    table = estimator_bias(data, [0.0, 0.5], seed=3)
    assert set(table["class"]) == {CLASS_NAMES[7], CLASS_NAMES[2], "all"}
    bm = table[table["class"] == "BM"].set_index("sigma")
    assert abs(bm.loc[0.5, "bias"]) < 0.08 and bm.loc[0.5, "n"] == n // 2
    assert (table["q25"] <= table["median"]).all() and (table["median"] <= table["q75"]).all()


def test_length_bins() -> None:
    edges = [10, 50, 200, 1000]
    assert length_bin_labels(edges) == ["10-49", "50-199", "200-1000"]
    assert length_bins(np.array([10, 49, 50, 199, 200, 1000, 9, 1001]), edges).tolist() == [0, 0, 1, 1, 2, 2, -1, -1]
    with pytest.raises(ValueError, match="increasing"):
        length_bins(np.array([10]), [10, 10])


def test_robust_training_is_deterministic_and_differs_from_noiseless(tmp_path: Path) -> None:
    train_h5, val_h5 = _write_shards(tmp_path)
    tx, tl, ty = load_padded_inputs([train_h5])
    vx, vl, vy = load_padded_inputs([val_h5])
    cfg = TrainConfig(depth=10, width=4, epochs=2, lr=3e-3, batch_size=32, threads=1, device="cpu", seed=4,
                      noise_min=0.0, noise_max=1.0, rotate=True)
    a = train(tx, ty, vx, vy, cfg, tmp_path / "a.pt", train_lengths=tl, val_lengths=vl, **QUIET)
    b = train(tx, ty, vx, vy, cfg, tmp_path / "b.pt", train_lengths=tl, val_lengths=vl, **QUIET)
    assert state_equal(a.model.state_dict(), b.model.state_dict())
    assert a.metrics["config"]["noise_max"] == 1.0 and a.metrics["config"]["rotate"] is True
    clean_cfg = TrainConfig(depth=10, width=4, epochs=2, lr=3e-3, batch_size=32, threads=1, device="cpu", seed=4)
    from andicam.train import load_model_inputs
    clean = train(*load_model_inputs([train_h5]), *load_model_inputs([val_h5]), clean_cfg, tmp_path / "c.pt", **QUIET)
    assert not state_equal(a.model.state_dict(), clean.model.state_dict())
    with pytest.raises(ValueError, match="lengths"):
        train(tx, ty, vx, vy, cfg, tmp_path / "d.pt", **QUIET)


def _robust_cli(folder: Path, out: str, ck: Path, preempt_after: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(WORKFLOW)}
    env.pop(PREEMPT_ENV, None)
    if preempt_after is not None:
        env[PREEMPT_ENV] = str(preempt_after)
    cmd = [sys.executable, "-m", "andicam", "train", "--train", str(folder / "train.h5"), "--val",
           str(folder / "val.h5"), "--out-model", f"{folder}/{out}/model.pt", "--out-metrics",
           f"{folder}/{out}/metrics.json", "--out-history", f"{folder}/{out}/history.csv", "--checkpoint", str(ck),
           "--depth", "10", "--width", "4", "--epochs", "3", "--lr", "3e-3", "--schedule", "cosine",
           "--batch-size", "32", "--threads", "1", "--device", "cpu", "--seed", "2", "--master-seed", "7",
           "--noise-min", "0.1", "--noise-max", "0.8", "--rotate"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)  # a shared machine can be slow


@pytest.mark.slow
def test_preempted_robust_training_resumes_bit_identically(tmp_path: Path) -> None:
    """The noise generator's state is checkpointed: a killed robust training ends as an uninterrupted one."""
    _write_shards(tmp_path)
    ck = tmp_path / "ck" / "run.pt"
    killed = _robust_cli(tmp_path, "resumed", ck, preempt_after=1)
    assert killed.returncode == PREEMPT_EXIT_CODE, killed.stderr
    resumed = _robust_cli(tmp_path, "resumed", ck)
    assert resumed.returncode == 0, resumed.stderr
    assert "after epoch 1" in resumed.stdout and "noise sigma U(0.1, 0.8) + rotation" in resumed.stdout
    straight = _robust_cli(tmp_path, "straight", tmp_path / "ck" / "other.pt")
    assert straight.returncode == 0, straight.stderr
    a, b = load_model(str(tmp_path / "resumed" / "model.pt")), load_model(str(tmp_path / "straight" / "model.pt"))
    assert state_equal(a.state_dict(), b.state_dict())
    assert read_json(tmp_path / "resumed" / "metrics.json")["config"]["noise_min"] == 0.1
    assert a.meta["train_config"]["noise_max"] == 0.8


def test_noise_robustness_table_and_summary(tmp_path: Path) -> None:
    data = stored(n=40, tmax=1000, seed=2)
    paths = []
    for k in range(2):
        model = trained_like_model()
        paths.append(str(tmp_path / f"m{k}.pt"))
        save_model(paths[-1], model)
    table = noise_robustness(paths * 2, ["noiseless", "noiseless", "robust", "robust"], [0, 1, 0, 1], data,
                             [0.0, 1.0], seed=1, edges=[10, 500, 1000])
    assert len(table) == 4 * 2 * 3
    assert set(table["length_bin"]) == {"all", "10-499", "500-1000"}
    per_bin = table[(table["length_bin"] != "all") & (table["seed"] == 0) & (table["kind"] == "robust")]
    assert per_bin.groupby("sigma")["n"].sum().tolist() == [40, 40]
    # the same model and the same noise draw give the same scores whatever its kind label
    pivot = table.pivot_table(index=["seed", "sigma", "length_bin"], columns="kind", values="accuracy")
    np.testing.assert_array_equal(pivot["noiseless"], pivot["robust"])
    table.insert(0, "regime", "variable")
    summary = robustness_summary(table)
    row = summary[(summary["kind"] == "robust") & (summary["sigma"] == 0) & (summary["length_bin"] == "all")
                  & (summary["metric"] == "accuracy")].iloc[0]
    values = 100 * table[(table["kind"] == "robust") & (table["sigma"] == 0) & (table["length_bin"] == "all")][
        "accuracy"].to_numpy()
    assert row["mean"] == pytest.approx(values.mean()) and row["n_seeds"] == 2
    assert row["method"] == "t interval over training seeds"
    with pytest.raises(ValueError, match="kinds"):
        noise_robustness(paths, ["clean", "robust"], [0, 1], data, [0.0], seed=1)


def test_noise_robustness_of_a_five_class_model_and_a_mismatch(tmp_path: Path) -> None:
    model = andi_model()
    save_model(str(tmp_path / "andi.pt"), model, model.meta)
    save_model(str(tmp_path / "paper.pt"), trained_like_model())
    data = andi_walks(4, seed=2, split="test")
    table = noise_robustness([str(tmp_path / "andi.pt")], ["robust"], [0], data, [0.0, 1.0], seed=1, edges=[10, 60])
    assert table["n"].tolist() == [20] * 4 and table["macro_f1"].between(0, 1).all()
    with pytest.raises(DataFileError, match=r"paper.pt: the model classifies \[SubATTM.*data's classes are \[ATTM"):
        noise_robustness([str(tmp_path / "paper.pt")], ["noiseless"], [0], data, [0.0], seed=1)


def test_noise_robustness_legends_cover_no_data() -> None:
    from andicam.plots.robust import plot_noise_robustness

    rows = [{"regime": regime, "kind": kind, "sigma": sigma, "length_bin": length_bin, "metric": metric,
             "mean": 90 - 40 * sigma, "low": 88 - 40 * sigma, "high": 92 - 40 * sigma, "n_seeds": 3,
             "n_trajectories": 100, "method": "t interval over training seeds"}
            for regime in ("fixed", "variable") for kind in ("noiseless", "robust") for sigma in (0.0, 0.5, 1.0)
            for length_bin in ("all", "10-499", "500-1000") for metric in ("accuracy", "macro_f1")]
    fig = plot_noise_robustness(pd.DataFrame(rows))
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    assert len(fig.legends) == 2 and not any(ax.get_legend() for ax in fig.axes)
    for legend in fig.legends:
        box = legend.get_window_extent(renderer)
        assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes)
    assert "95 % t interval over training seeds" in fig._suptitle.get_text()
    one = pd.DataFrame(rows).assign(n_seeds=1, low=float("nan"), high=float("nan"))  # robust.n_seeds 1, or one seed
    assert "one training seed, so no interval" in plot_noise_robustness(one)._suptitle.get_text()

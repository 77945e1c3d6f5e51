"""Noise-robust retraining: selection, rotation, noise, aggregation, commands and figures (METHODS §4, §5.3-5.4)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from andicam import augment as aug
from andicam import noise
from andicam.cli import main
from andicam.dataio import (CLASS_NAMES, DataFileError, Trajectories, read_trajectories, subset_index,
                            write_trajectories)
from andicam.evaluate import confusion_matrix, macro_f1
from andicam.gradcam import gradcam_all_stages, write_gradcam
from andicam.model import build_model, save_model
from andicam.preprocess import to_model_input
from andicam.seeding import derive_seed
from helpers import random_walks, trained_like_model


def write_cam(path: Path, cam: np.ndarray, labels: np.ndarray) -> None:
    n = labels.shape[0]
    maps = {"layer1": np.zeros((n, 4), np.float32), "layer4": cam.astype(np.float32)}
    write_gradcam(path, maps, labels, labels, labels, {"target": "true", "relu": False, "model": "m.pt"})


def tiny_model(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    save_model(str(path), build_model(depth=10, width=4), {"seed": seed})
    return path


# --- selection --------------------------------------------------------------------------------------------------


def test_keep_count_is_the_ceiling_without_float_error() -> None:
    assert [aug.keep_count(n, 60) for n in (10, 9, 5, 1, 0)] == [6, 6, 3, 1, 0]
    assert aug.keep_count(100, 7) == 7  # 7 * 100 / 100 in floating point must not become 8
    assert aug.keep_count(3, 0.1) == 1
    assert aug.keep_count(10_000, 60) == 6000
    for bad in (0, -5, 100.01):
        with pytest.raises(ValueError, match="percent"):
            aug.keep_count(10, bad)


def test_selection_counts_per_class_exact_and_equal_across_arms() -> None:
    sizes = [5, 6, 7, 8, 9, 10, 11, 12]
    data = random_walks(sizes)
    cam = np.random.default_rng(1).standard_normal((len(data), 32))
    expected = [math.ceil(0.6 * n) for n in sizes]  # 3, 4, 5, 5, 6, 6, 7, 8
    assert expected == [3, 4, 5, 5, 6, 6, 7, 8]
    for arm in aug.ARMS:
        idx = aug.select(cam, data.labels, 60, arm, seed=3)
        assert np.bincount(data.labels[idx], minlength=8).tolist() == expected
        assert np.all(np.diff(idx) > 0)  # ascending, distinct


def test_targeted_keeps_the_largest_time_means() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    cam = np.zeros((9, 4))
    # class 0: row 1 has the largest peak but mean 0; rows 0 and 3 have the largest means
    cam[0] = [1, 1, 1, 1]  # mean 1
    cam[1] = [10, -10, 0, 0]  # mean 0
    cam[2] = [-1, 0, 0, 0]  # mean -0.25
    cam[3] = [0, 0, 2, 2]  # mean 1
    cam[4:] = np.arange(5)[:, None] * np.array([1.0, 2.0, 3.0, 4.0])  # class 1: means 0, 2.5, 5, 7.5, 10
    idx = aug.select(cam, labels, 50, "targeted", seed=0)
    assert idx.tolist() == [0, 3, 6, 7, 8]  # ceil(2) of class 0, ceil(2.5) = 3 of class 1
    assert aug.select(cam, labels, 50, "targeted", seed=99).tolist() == idx.tolist()  # no randomness


def test_random_arm_is_without_replacement_and_seeded() -> None:
    data = random_walks([40] * 8)
    cam = np.zeros((len(data), 32))
    everything = aug.select(cam, data.labels, 100, "random", seed=5)
    assert everything.tolist() == list(range(len(data)))  # with replacement this would repeat some
    a = aug.select(cam, data.labels, 50, "random", seed=5)
    b = aug.select(cam, data.labels, 50, "random", seed=5)
    c = aug.select(cam, data.labels, 50, "random", seed=6)
    assert np.unique(a).size == a.size == 8 * 20
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(ValueError, match="arm"):
        aug.select(cam, data.labels, 50, "uniform", seed=0)


def test_targeted_selection_is_the_true_class_logit_ranking() -> None:
    """layer4 -> average pooling -> fc: a layer4 map's time-mean is (logit_c - bias_c) / 32, bias constant per class.

    So "Grad-CAM-targeted" keeps exactly the trajectories with the highest true-class logit.
    """
    model = trained_like_model(dtype=torch.float64)
    x = torch.rand(48, 2, 1000, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    labels = np.arange(48) % len(CLASS_NAMES)
    cam = gradcam_all_stages(model, x, labels, stages=("layer4",))["layer4"]
    with torch.no_grad():
        logit = model(x)[np.arange(48), labels].numpy()
    bias = model.fc.bias.detach().numpy()[labels]
    # the maps are stored as float32: equal to its rounding
    np.testing.assert_allclose(aug.cam_score(cam), (logit - bias) / cam.shape[1], rtol=1e-5, atol=1e-9)
    by_logit = []
    for label in range(len(CLASS_NAMES)):
        members = np.flatnonzero(labels == label)
        k = aug.keep_count(members.size, 60)
        by_logit.append(members[np.argsort(-logit[members], kind="stable")[:k]])
    expected = np.sort(np.concatenate(by_logit))
    assert expected.size == 8 * 4  # ceil(0.6 x 6) per class
    np.testing.assert_array_equal(aug.select(cam, labels, 60, "targeted", seed=0), expected)


def test_draw_with_replacement_the_papers_set_up() -> None:
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(len(CLASS_NAMES)), 10)  # 10 per class
    cam = rng.normal(size=(labels.size, 32))
    score = aug.cam_score(cam)
    targeted = aug.select(cam, labels, 60, "targeted", 1, "with_replacement", 200)
    random = aug.select(cam, labels, 60, "random", 1, "with_replacement", 200)
    for idx in (targeted, random):
        assert np.array_equal(np.bincount(labels[idx], minlength=len(CLASS_NAMES)), [200] * len(CLASS_NAMES))
    for label in range(len(CLASS_NAMES)):
        members = np.flatnonzero(labels == label)
        top6 = set(members[np.argsort(-score[members], kind="stable")[:6]])
        assert set(targeted[labels[targeted] == label]) == top6  # 200 draws from 6 reach all of them
        assert set(random[labels[random] == label]) == set(members)  # the random arm draws from the whole class
    assert np.array_equal(targeted, aug.select(cam, labels, 60, "targeted", 1, "with_replacement", 200))
    assert not np.array_equal(targeted, aug.select(cam, labels, 60, "targeted", 2, "with_replacement", 200))
    with pytest.raises(ValueError, match="size_per_class is required"):
        aug.select(cam, labels, 60, "random", 1, "with_replacement")
    with pytest.raises(ValueError, match="size_per_class is required"):
        aug.select(cam, labels, 60, "random", 1, "without_replacement", 5)
    with pytest.raises(ValueError, match="draw must be one of"):
        aug.select(cam, labels, 60, "random", 1, "bootstrap", 5)


def test_draw_of_the_notebooks_set_up_v() -> None:
    # Set-up V: targeted keeps the top 60 % of each class once; random draws as many with replacement.
    labels = np.repeat(np.arange(len(CLASS_NAMES)), 50)  # 50 per class: 30 kept
    cam = np.random.default_rng(5).normal(size=(labels.size, 32))
    targeted = aug.select(cam, labels, 60, "targeted", 1, "notebooks")
    np.testing.assert_array_equal(targeted, aug.select(cam, labels, 60, "targeted", 1, "without_replacement"))
    random = aug.select(cam, labels, 60, "random", 1, "notebooks")
    assert np.array_equal(np.bincount(labels[random], minlength=len(CLASS_NAMES)), [30] * len(CLASS_NAMES))
    # 30 draws with replacement from 50 repeat one with probability 1 - 50!/(20! 50^30), > 0.9999 per class.
    assert all(np.unique(random[labels[random] == k]).size < 30 for k in range(len(CLASS_NAMES)))
    unique = aug.select(cam, labels, 60, "random", 1, "without_replacement")
    assert np.unique(unique).size == unique.size
    with pytest.raises(ValueError, match="size_per_class is required"):
        aug.select(cam, labels, 60, "random", 1, "notebooks", 5)


def test_arms_beyond_the_paper_rank_by_their_own_score() -> None:
    labels = np.zeros(5, dtype=np.int64)
    # means 0.25, 0.5, 0.1, 0.3, 0.0; peaks 1, 0.5, 0.4, 0.3, 2
    cam = np.array([[1, 0, 0, 0], [0.5] * 4, [0.4, 0, 0, 0], [0.3] * 4, [2, -2, 0, 0]])
    assert list(aug.select(cam, labels, 40, "targeted", 0)) == [1, 3]
    assert list(aug.select(cam, labels, 40, "targeted_peak", 0)) == [0, 4]
    assert list(aug.select(cam, labels, 40, "least_confident", 0)) == [2, 4]
    assert list(aug.select(cam, labels, 40, "targeted_layer3", 0)) == [1, 3]  # the caller passes layer3 maps
    assert aug.ARM_LAYER["targeted_layer3"] == "layer3"


def test_most_probable_ranks_by_the_true_class_softmax_probability(tmp_path: Path) -> None:
    """Its ranking is the true class's log-softmax: a high logit against high rivals ranks below a lower logit
    without them, so it differs from the targeted (logit) ranking."""
    labels = np.zeros(4, dtype=np.int64)
    logits = np.array([[5.0, 4.9, 0, 0, 0, 0, 0, 0],    # highest true logit, a close rival
                       [4.0, 0, 0, 0, 0, 0, 0, 0],      # lower logit, no rival: most probable
                       [3.0, -1, 0, 0, 0, 0, 0, 0],
                       [1.0, 3.0, 0, 0, 0, 0, 0, 0]])   # misclassified
    log_p = torch.log_softmax(torch.from_numpy(logits), 1).numpy().astype(np.float32)
    n = len(labels)
    cam = np.repeat(logits[:, :1], 32, axis=1).astype(np.float32)  # layer4 time-mean ranks by the true logit
    path = tmp_path / "g.h5"
    write_gradcam(path, {"layer4": cam}, labels, labels, labels, {"target": "true", "relu": False}, log_p)
    ranked, read_labels = aug.read_cam(path, aug.ARM_LAYER["most_probable"])
    assert ranked.shape == (n, 1) and read_labels.tolist() == labels.tolist()
    np.testing.assert_array_equal(ranked[:, 0], log_p[:, 0])
    assert list(aug.select(ranked, labels, 50, "most_probable", 0)) == [1, 2]
    assert list(aug.select(cam, labels, 50, "targeted", 0)) == [0, 1]
    write_cam(tmp_path / "old.h5", cam, labels)  # a file written before the log-probabilities were stored
    with pytest.raises(DataFileError, match="old.h5: holds no log-probabilities"):
        aug.read_cam(tmp_path / "old.h5", aug.ARM_LAYER["most_probable"])


def test_pool_overlap_counts_shared_trajectories_against_a_random_pools_share() -> None:
    # class 0: 10 trajectories, pools of 6 (p = 60 %); class 1: 5 trajectories, pools of 3
    labels = np.array([0] * 10 + [1] * 5)
    score = np.arange(15, dtype=float)[:, None]  # rises with the index in both classes
    top = aug.select(score, labels, 60, "targeted", 0)
    bottom = aug.select(score, labels, 60, "least_confident", 0)
    assert list(top) == [4, 5, 6, 7, 8, 9, 12, 13, 14] and list(bottom) == [0, 1, 2, 3, 4, 5, 10, 11, 12]
    table = aug.pool_overlap({"targeted": top, "least_confident": bottom, "targeted_peak": top}, labels)
    assert list(table.columns) == list(aug.OVERLAP_COLUMNS)
    rows = table.set_index(["arm", "class"])
    # top 6 and bottom 6 of 10 share 2 (indices 4, 5); top 3 and bottom 3 of 5 share 1 (index 12)
    assert rows.loc[("least_confident", "SubATTM"), ["pool_size", "shared", "share", "chance"]].tolist() == \
        pytest.approx([6, 2, 2 / 6, 0.6])
    assert rows.loc[("least_confident", "SubCTRW"), ["shared", "share", "chance"]].tolist() == \
        pytest.approx([1, 1 / 3, 0.6])
    # over all classes: 3 of 9 shared; a random pool would share (36/10 + 9/5) / 9 = 0.6
    assert rows.loc[("least_confident", "all"), ["n_class", "pool_size", "shared", "share", "chance"]].tolist() \
        == pytest.approx([15, 9, 3, 1 / 3, 0.6])
    assert rows.loc[("targeted_peak", "all"), "share"] == 1.0  # the same pool
    # classes absent from the shard have no row; pairs whose arms did not run are left out
    assert set(table["class"]) == {"SubATTM", "SubCTRW", "all"}
    assert set(zip(table["arm"], table["reference"])) == {("least_confident", "targeted"),
                                                          ("targeted_peak", "targeted")}


def test_pool_overlap_matches_a_random_pools_expected_share_and_rejects_unequal_pools() -> None:
    """The chance column is what a pool drawn at random shares on average (checked by drawing 400 of them)."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=300)
    top = aug.select(rng.normal(size=(300, 1)), labels, 30, "targeted", 0)
    shares = [aug.pool_overlap({"targeted": top, "targeted_peak": aug.select(np.zeros((300, 1)), labels, 30,
                                                                            "random", seed)}, labels)
              .set_index("class").loc["all", ["share", "chance"]] for seed in range(400)]
    mean_share = float(np.mean([s["share"] for s in shares]))
    assert mean_share == pytest.approx(shares[0]["chance"], abs=0.01)
    with pytest.raises(ValueError, match="targeted_peak and targeted keep 1 and 2 of class SubATTM"):
        aug.pool_overlap({"targeted": np.array([0, 1]), "targeted_peak": np.array([0])}, np.zeros(4, np.int64))


def test_augment_overlap_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = np.repeat(np.arange(8), 5)
    rng = np.random.default_rng(0)
    n = labels.size
    maps = {"layer3": rng.normal(size=(n, 8)).astype(np.float32), "layer4": rng.normal(size=(n, 4)).astype(np.float32)}
    log_p = np.log(rng.dirichlet(np.ones(8), size=n)).astype(np.float32)
    path = tmp_path / "g.h5"
    write_gradcam(path, maps, labels, labels, labels, {"target": "true", "relu": False}, log_p)
    out = tmp_path / "overlap.csv"
    assert main(["augment-overlap", "--gradcam", str(path), "--percent", "60", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == len(aug.OVERLAP_PAIRS) * 9  # 8 classes and all, per pair
    # equal pools make the share symmetric, so no pair comes twice in either order
    assert len({frozenset(pair) for pair in aug.OVERLAP_PAIRS}) == len(aug.OVERLAP_PAIRS) == 6
    assert set(table["pool_size"][table["class"] != "all"]) == {3}  # ceil(60 % of 5)
    least = table[(table["arm"] == "least_confident") & (table["class"] == "all")].iloc[0]
    assert least["shared"] == 8  # top 3 and bottom 3 of 5 share the middle one, in each class
    assert "least_confident vs targeted: 0.333 of the pool shared (a random pool: 0.600)" in capsys.readouterr().out
    assert main(["augment-overlap", "--gradcam", str(path), "--percent", "0", "--out", str(out)]) == 2
    assert main(["augment-overlap", "--gradcam", str(path), "--percent", "60", "--arms", "targeted_peak",
                 "--out", str(out)]) == 2
    assert "no pair" in capsys.readouterr().err


def test_augmented_set_with_replacement_rotates_every_draw(tmp_path: Path) -> None:
    n = 3 * len(CLASS_NAMES)
    traj = np.random.default_rng(0).normal(size=(n, 2, 20)).astype(np.float32)
    data = Trajectories(traj, np.full(n, 20), np.arange(n) % len(CLASS_NAMES), np.ones(n), {})
    cam = np.random.default_rng(1).normal(size=(n, 32))
    out = aug.augmented_set(data, cam, "random", 60, seed=3, draw="with_replacement", size_per_class=7)
    assert len(out) == 2 * 7 * len(CLASS_NAMES)
    assert out.attrs["augment_draw"] == "with_replacement" and out.attrs["augment_size_per_class"] == 7
    half = len(out) // 2
    # a rotation keeps each point's distance from the origin
    np.testing.assert_allclose(np.hypot(*out.trajectories[half:].transpose(1, 0, 2)),
                               np.hypot(*out.trajectories[:half].transpose(1, 0, 2)), rtol=1e-5)
    with pytest.raises(ValueError, match="distinct"):
        aug.augment(data, np.array([0, 0]), seed=1)


# --- augmentation ------------------------------------------------------------------------------------------------


def test_rotated_copies_keep_step_lengths_and_double_the_set() -> None:
    data = random_walks([6] * 8)
    idx = np.arange(0, len(data), 2)
    out = aug.augment(data, idx, seed=7)
    k = idx.size
    assert len(out) == 2 * k
    for name in ("lengths", "labels", "alpha"):
        assert np.array_equal(getattr(out, name)[:k], getattr(data, name)[idx])
        assert np.array_equal(getattr(out, name)[k:], getattr(data, name)[idx])
    assert np.array_equal(out.trajectories[:k], data.trajectories[idx])
    original, rotated = out.trajectories[:k], out.trajectories[k:]
    step = lambda t: np.linalg.norm(np.diff(t, axis=2), axis=1)  # noqa: E731  (K, T-1) 2-D step lengths
    valid = np.arange(data.trajectories.shape[2] - 1)[None, :] < (out.lengths[:k, None] - 1)
    np.testing.assert_allclose(step(rotated)[valid], step(original)[valid], rtol=1e-5, atol=1e-5)
    pad = np.arange(data.trajectories.shape[2])[None, None, :] >= out.lengths[k:, None, None]
    assert np.all(np.broadcast_to(pad, rotated.shape) <= (rotated == 0))  # padding stays zero
    # the copies are really rotated: the angle recovered from the first step is U(0, 2 pi) of the seed
    first_o = original[:, :, 1] - original[:, :, 0]
    first_r = rotated[:, :, 1] - rotated[:, :, 0]
    angle = np.mod(np.arctan2(first_r[:, 1], first_r[:, 0]) - np.arctan2(first_o[:, 1], first_o[:, 0]), 2 * np.pi)
    expected = np.random.default_rng(7).uniform(0, 2 * np.pi, size=k)
    np.testing.assert_allclose(np.cos(angle), np.cos(expected), atol=1e-4)
    np.testing.assert_allclose(np.sin(angle), np.sin(expected), atol=1e-4)
    assert np.array_equal(aug.augment(data, idx, seed=7).trajectories, out.trajectories)


def test_augment_select_command_writes_a_traceable_set(tmp_path: Path) -> None:
    data = random_walks([10] * 8)
    write_trajectories(tmp_path / "shard.h5", data)
    cam = np.random.default_rng(2).standard_normal((len(data), 32))
    write_cam(tmp_path / "cam.h5", cam, data.labels)
    for arm in aug.PAPER_ARMS:
        out = tmp_path / f"{arm}.h5"
        rc = main(["augment-select", "--data", str(tmp_path / "shard.h5"), "--gradcam", str(tmp_path / "cam.h5"),
                   "--arm", arm, "--percent", "60", "--seed", "11", "--out", str(out)])
        assert rc == 0
        got = read_trajectories(out)
        assert len(got) == 2 * 8 * 6
        assert got.attrs["augment_arm"] == arm
        assert got.attrs["augment_percent"] == 60.0
        assert got.attrs["augment_set_seed"] == 11
        assert got.attrs["augment_rotation_seed"] == derive_seed(11, "rotate")
        assert got.attrs["source"] == str(tmp_path / "shard.h5")
        assert got.attrs["gradcam"] == str(tmp_path / "cam.h5")
        assert got.attrs["kept_per_class"] == [6] * 8
    for arm in aug.PAPER_ARMS:
        got = read_trajectories(tmp_path / f"{arm}.h5")
        expected = aug.select(cam, data.labels, 60, arm, derive_seed(11, "select"))
        assert np.array_equal(got.trajectories[:expected.size], data.trajectories[expected])
        assert got.attrs["augment_select_seed"] == derive_seed(11, "select")
    out = tmp_path / "paper.h5"
    assert main(["augment-select", "--data", str(tmp_path / "shard.h5"), "--gradcam", str(tmp_path / "cam.h5"),
                 "--arm", "random", "--percent", "60", "--draw", "with_replacement", "--size-per-class", "15",
                 "--seed", "11", "--out", str(out)]) == 0
    got = read_trajectories(out)
    assert len(got) == 2 * 8 * 15 and got.attrs["kept_per_class"] == [15] * 8
    assert main(["augment-select", "--data", str(tmp_path / "shard.h5"), "--gradcam", str(tmp_path / "cam.h5"),
                 "--arm", "random", "--percent", "60", "--draw", "with_replacement", "--seed", "11",
                 "--out", str(out)]) == 2


def test_mismatched_gradcam_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = random_walks([5] * 8)
    write_trajectories(tmp_path / "shard.h5", data)
    write_cam(tmp_path / "short.h5", np.zeros((len(data) - 1, 32)), data.labels[:-1])
    swapped = data.labels.copy()
    swapped[[3, 9]] = (swapped[[3, 9]] + 1) % 8
    write_cam(tmp_path / "other.h5", np.zeros((len(data), 32)), swapped)
    with pytest.raises(DataFileError, match="39 rows but .* holds 40 trajectories"):
        aug.check_cam_matches(aug.read_cam(tmp_path / "short.h5")[1], data, tmp_path / "short.h5", "shard.h5")
    with pytest.raises(DataFileError, match="labels differ .* at 2 of 40 rows \\(first at row 3\\)"):
        aug.check_cam_matches(aug.read_cam(tmp_path / "other.h5")[1], data, tmp_path / "other.h5", "shard.h5")
    rc = main(["augment-select", "--data", str(tmp_path / "shard.h5"), "--gradcam", str(tmp_path / "other.h5"),
               "--arm", "random", "--percent", "60", "--seed", "0", "--out", str(tmp_path / "out.h5")])
    assert rc == 2
    assert "labels differ" in capsys.readouterr().err
    assert not (tmp_path / "out.h5").exists()
    rc = main(["augment-select", "--data", str(tmp_path / "shard.h5"), "--gradcam", str(tmp_path / "other.h5"),
               "--arm", "random", "--percent", "0", "--seed", "0", "--out", str(tmp_path / "out.h5")])
    assert rc == 2
    assert "(0, 100]" in capsys.readouterr().err


# --- noise -------------------------------------------------------------------------------------------------------


def test_noise_has_std_sigma_on_valid_points_only() -> None:
    data = random_walks([25] * 8, tmax=200, min_length=50)
    valid = np.broadcast_to((np.arange(200)[None, :] < data.lengths[:, None])[:, None, :], data.trajectories.shape)
    for sigma in (0.1, 0.5, 1.0):
        added = noise.add_noise(data, sigma, seed=4) - data.trajectories
        assert np.all(added[~valid] == 0)
        assert added[valid].std() == pytest.approx(sigma, rel=0.02)  # ~45,000 draws: 0.3 % standard error
        assert abs(added[valid].mean()) < 0.02 * sigma


def test_noise_never_accumulates_across_levels() -> None:
    data = random_walks([25] * 8, tmax=200, min_length=50)
    clean = data.trajectories.copy()
    sigmas = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    added = {s: noise.add_noise(data, s, noise.noise_seed(0, s)) - clean for s in sigmas}
    assert np.array_equal(data.trajectories, clean)  # the data themselves are never changed
    valid = np.broadcast_to((np.arange(200)[None, :] < data.lengths[:, None])[:, None, :], clean.shape)
    assert added[1.0][valid].std() == pytest.approx(1.0, rel=0.02)  # in-place addition would give ~1.96
    assert added[0.5][valid].std() == pytest.approx(0.5, rel=0.02)  # ... and ~0.74 here


def test_sigma_zero_is_the_clean_input_and_seeds_depend_on_sigma_only() -> None:
    data = random_walks([5] * 8)
    assert np.array_equal(noise.noisy_inputs(data, 0.0, seed=123), to_model_input(data.trajectories, data.lengths))
    assert np.array_equal(noise.noisy_inputs(data, 0.3, 9), noise.noisy_inputs(data, 0.3, 9))
    assert not np.array_equal(noise.noisy_inputs(data, 0.3, 9), noise.noisy_inputs(data, 0.3, 10))
    assert noise.noise_seed(5, 0.1 + 0.2) == noise.noise_seed(5, 0.3) == derive_seed(5, "noise", "0.3")
    assert noise.noise_seed(5, 0.3) != noise.noise_seed(5, 0.4)
    with pytest.raises(ValueError, match="sigma"):
        noise.add_noise(data, -0.1, 0)


def test_every_model_sees_the_same_noisy_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = random_walks([4] * 8)
    models = [tiny_model(tmp_path / "a.pt", 0), tiny_model(tmp_path / "b.pt", 1)]
    seen: list[tuple[int, np.ndarray]] = []
    real_predict = noise.predict

    def spy(model: torch.nn.Module, x: np.ndarray, batch_size: int = 512, amp: bool = False) -> np.ndarray:
        seen.append((id(model), x.copy()))
        return real_predict(model, x, batch_size, amp)

    monkeypatch.setattr(noise, "predict", spy)
    sigmas = [0.0, 0.5, 1.0]
    frame = aug.evaluate_noise(models, ["targeted", "random"], [0, 0], data, sigmas, seed=8, batch_size=16)
    assert len(seen) == 6
    for i, sigma in enumerate(sigmas):
        (id_a, x_a), (id_b, x_b) = seen[2 * i], seen[2 * i + 1]
        assert id_a != id_b
        assert np.array_equal(x_a, x_b)
        assert np.array_equal(x_a, noise.noisy_inputs(data, sigma, noise.noise_seed(8, sigma)))
    assert list(frame.columns) == ["model", "arm", "seed", "sigma", "n", *aug.METRICS]
    assert frame["sigma"].tolist() == [0.0, 0.0, 0.5, 0.5, 1.0, 1.0]
    assert frame["arm"].tolist() == ["targeted", "random"] * 3


def test_scores_accuracy_and_recall() -> None:
    labels = np.array([0, 0, 1, 1, 1, 7])
    predicted = np.array([0, 1, 1, 1, 0, 7])
    row = noise.scores(labels, predicted, aug.METRICS)
    assert row["accuracy"] == pytest.approx(4 / 6)
    assert row["recall_SubATTM"] == 0.5
    assert row["recall_SubCTRW"] == pytest.approx(2 / 3)
    assert row["recall_BM"] == 1.0
    assert math.isnan(row["recall_SubFBM"])  # class absent
    assert noise.scores(labels, predicted, ["macro_f1"])["macro_f1"] == macro_f1(confusion_matrix(labels, predicted))
    with pytest.raises(ValueError, match="unknown metric"):
        noise.scores(labels, predicted, ["recall_nothing"])


def test_noise_eval_command(tmp_path: Path) -> None:
    data = random_walks([3] * 8)
    write_trajectories(tmp_path / "test.h5", data)
    models = [str(tiny_model(tmp_path / f"m{i}.pt", i)) for i in range(3)]
    out = tmp_path / "noise.csv"
    rc = main(["noise-eval", "--models", *models, "--arms", "baseline", "targeted", "random", "--seeds", "0", "0", "0",
               "--data", str(tmp_path / "test.h5"), "--sigmas", "0", "0.5", "--seed", "3", "--out", str(out),
               "--device", "cpu"])
    assert rc == 0
    frame = pd.read_csv(out)
    assert len(frame) == 6
    assert set(frame["arm"]) == {"baseline", "targeted", "random"}
    assert (frame["n"] == 24).all()
    assert main(["noise-eval", "--models", *models, "--arms", "targeted", "--seeds", "0", "--data",
                 str(tmp_path / "test.h5"), "--sigmas", "0", "--seed", "3", "--out", str(out)]) == 2
    # bf16 where native, the first convolution fp32: the same rows; fp32 elsewhere, and the log says which.
    assert main(["noise-eval", "--models", *models, "--arms", "baseline", "targeted", "random", "--seeds", "0", "0",
                 "0", "--data", str(tmp_path / "test.h5"), "--sigmas", "0", "0.5", "--seed", "3", "--out",
                 str(tmp_path / "amp.csv"), "--device", "cpu", "--amp"]) == 0
    amp = pd.read_csv(tmp_path / "amp.csv")
    assert amp[["arm", "seed", "sigma", "n"]].equals(frame[["arm", "seed", "sigma", "n"]])


def test_noise_eval_on_a_seeded_subset_scores_every_model_on_the_same_trajectories(tmp_path: Path) -> None:
    """--max-trajectories N: N of the test trajectories, the same for every model and job (they depend on the
    master seed only), so a job per seed still equals one job of every model on that subset."""
    data = random_walks([6] * 8)
    write_trajectories(tmp_path / "test.h5", data)
    models = [str(tiny_model(tmp_path / f"m{i}.pt", i)) for i in range(2)]
    common = ["--arms", "targeted", "random", "--seeds", "0", "0", "--sigmas", "0", "0.5", "--seed", "3",
              "--device", "cpu"]

    assert main(["noise-eval", "--models", *models, *common, "--data", str(tmp_path / "test.h5"),
                 "--out", str(tmp_path / "sub.csv"), "--max-trajectories", "20"]) == 0
    sub = pd.read_csv(tmp_path / "sub.csv")
    assert (sub["n"] == 20).all()
    # the same subset, written out and scored whole, gives the same rows
    index = subset_index(len(data), 20, derive_seed(3, "noise-eval", "subset"))
    assert len(index) == 20 and len(np.unique(index)) == 20
    write_trajectories(tmp_path / "subset.h5", data.subset(index))
    assert main(["noise-eval", "--models", *models, *common, "--data", str(tmp_path / "subset.h5"),
                 "--out", str(tmp_path / "whole.csv")]) == 0
    pd.testing.assert_frame_equal(sub.drop(columns="model"), pd.read_csv(tmp_path / "whole.csv").drop(columns="model"))
    # N at least the test set's size takes all of it; N < 1 is refused
    assert main(["noise-eval", "--models", *models, *common, "--data", str(tmp_path / "test.h5"),
                 "--out", str(tmp_path / "all.csv"), "--max-trajectories", "1000"]) == 0
    assert (pd.read_csv(tmp_path / "all.csv")["n"] == 48).all()
    assert main(["noise-eval", "--models", *models, *common, "--data", str(tmp_path / "test.h5"),
                 "--out", str(tmp_path / "bad.csv"), "--max-trajectories", "0"]) == 2
    assert not (tmp_path / "bad.csv").exists()



def test_noise_eval_in_parts_equals_one_evaluation_of_all_models(tmp_path: Path) -> None:
    """The workflow evaluates one retraining seed per job: the noise of a level depends on sigma and the master
    seed only, so the parts' rows are those of one job over every model, value for value."""
    data = random_walks([3] * 8)
    write_trajectories(tmp_path / "test.h5", data)
    models = [str(tiny_model(tmp_path / f"m{i}.pt", i)) for i in range(4)]
    arms, seeds = ["targeted", "random", "targeted", "random"], ["0", "0", "1", "1"]
    common = ["--data", str(tmp_path / "test.h5"), "--sigmas", "0", "0.3", "1", "--seed", "5", "--device", "cpu"]
    assert main(["noise-eval", "--models", *models, "--arms", *arms, "--seeds", *seeds,
                 "--out", str(tmp_path / "all.csv"), *common]) == 0
    for part in (0, 1):
        assert main(["noise-eval", "--models", *models[2 * part:2 * part + 2], "--arms", *arms[2 * part:2 * part + 2],
                     "--seeds", *seeds[2 * part:2 * part + 2], "--out", str(tmp_path / f"seed{part}.csv"), *common]) == 0
    whole = pd.read_csv(tmp_path / "all.csv").drop(columns="model")
    parts = pd.concat([pd.read_csv(tmp_path / f"seed{p}.csv") for p in (0, 1)]).drop(columns="model")
    key = ["arm", "seed", "sigma"]
    whole, parts = (f.sort_values(key).reset_index(drop=True) for f in (whole, parts))
    assert len(whole) == 12 and whole["accuracy"].nunique() > 1
    pd.testing.assert_frame_equal(whole, parts)

def test_inference_model_keeps_the_first_convolution_in_fp32_under_autocast(tmp_path: Path) -> None:
    path = tiny_model(tmp_path / "m.pt", 0)
    walks = random_walks([2] * 8)
    x = torch.from_numpy(to_model_input(walks.trajectories, walks.lengths))
    seen = {}
    for amp in (False, True):
        model = noise.inference_model(path, "cpu", amp)
        assert model.cfg.fp32_stem is amp and not model.training
        hooks = [m.register_forward_hook(lambda mod, i, o, name=name: seen.__setitem__((amp, name), o.dtype))
                 for name, m in (("conv1", model.conv1), ("layer1", model.layer1[0].conv1))]
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            model(x)
        for h in hooks:
            h.remove()
    assert seen[(True, "conv1")] == torch.float32 and seen[(True, "layer1")] == torch.bfloat16
    assert seen[(False, "conv1")] == torch.bfloat16  # a model trained without the fp32 stem, loaded as trained


# --- aggregation -------------------------------------------------------------------------------------------------


def hand_results() -> pd.DataFrame:
    rows = []
    for arm, accs in (("targeted", [0.8, 0.9, 1.0]), ("random", [0.7, 0.7, 0.85]), ("baseline", [0.6])):
        for seed, acc in enumerate(accs):
            rows.append({"model": f"{arm}{seed}.pt", "arm": arm, "seed": seed, "sigma": 0.5, "n": 10,
                         "accuracy": acc, **{f"recall_{c}": acc for c in CLASS_NAMES}})
    return pd.DataFrame(rows)


def test_aggregate_on_a_hand_example() -> None:
    summary = aug.aggregate(hand_results())
    acc = summary[summary["metric"] == "accuracy"].set_index("arm")
    assert acc.loc["targeted", "n"] == 3
    assert acc.loc["targeted", "mean"] == pytest.approx(0.9)
    assert acc.loc["targeted", "se"] == pytest.approx(0.1 / math.sqrt(3))  # std ddof=1 is 0.1
    assert acc.loc["random", "mean"] == pytest.approx(0.75)
    assert acc.loc["random", "se"] == pytest.approx(math.sqrt(0.0075) / math.sqrt(3))
    diff = acc.loc[aug.DIFFERENCE]  # paired by seed: 0.1, 0.2, 0.15
    assert diff["mean"] == pytest.approx(0.15)
    assert diff["se"] == pytest.approx(0.05 / math.sqrt(3))
    # t_{0.975,2} = 4.302653: half widths 4.302653 x 0.05 / sqrt 3 = 0.124207 (paired) and 0.248414
    assert (diff["ci_low"], diff["ci_high"]) == pytest.approx((0.15 - 0.124207, 0.15 + 0.124207), abs=1e-6)
    assert diff["ci_method"] == "paired t interval over retraining seeds"
    # 0.9 + 0.248414 passes 100 %: clipped
    assert (acc.loc["targeted", "ci_low"], acc.loc["targeted", "ci_high"]) == pytest.approx((0.9 - 0.248414, 1.0),
                                                                                            abs=1e-6)
    assert acc.loc["targeted", "ci_method"] == "t interval over retraining seeds"
    # random 0.1, 0.1, 0.25 after the shift: mean 0.15 +- 4.302653 x 0.086603 / sqrt 3 = 0.215133, low clipped at 0
    low = aug.aggregate(hand_results().assign(accuracy=lambda f: f["accuracy"] - 0.6))
    row = low[(low["metric"] == "accuracy") & (low["arm"] == "random")].iloc[0]
    assert row["ci_low"] == 0.0 and row["ci_high"] == pytest.approx(0.15 + 0.215133, abs=1e-6)
    assert acc.loc["baseline", "ci_method"] == ""
    assert acc.loc["baseline", "mean"] == pytest.approx(0.6)
    assert math.isnan(acc.loc["baseline", "se"]) and math.isnan(acc.loc["baseline", "ci_low"])
    extra = aug.aggregate(pd.concat([hand_results(), hand_results().query("arm == 'random'").assign(
        arm="targeted_peak", accuracy=[0.75, 0.8, 0.9])]))
    peak = extra[(extra["metric"] == "accuracy") & (extra["arm"] == "targeted_peak-random")].iloc[0]
    assert peak["mean"] == pytest.approx(0.4 / 6) and peak["n"] == 3  # 0.05, 0.1, 0.05
    # where Grad-CAM points against the most probable, paired by seed: (0.75, 0.8, 0.9) - (0.7, 0.9, 0.8)
    both = aug.aggregate(pd.concat([hand_results(), hand_results().query("arm == 'random'").assign(
        arm="targeted_peak", accuracy=[0.75, 0.8, 0.9]), hand_results().query("arm == 'random'").assign(
        arm="most_probable", accuracy=[0.7, 0.9, 0.8])]))
    beyond = both[(both["metric"] == "accuracy") & (both["arm"] == "targeted_peak-most_probable")].iloc[0]
    assert beyond["mean"] == pytest.approx(0.05 / 3) and beyond["n"] == 3  # 0.05, -0.1, 0.1
    assert beyond["ci_method"] == "paired t interval over retraining seeds"
    assert "targeted_layer3-most_probable" not in set(both["arm"])  # an arm that did not run has no difference
    # the paper's arm against confidence too: (0.8, 0.9, 1.0) - (0.7, 0.9, 0.8) = 0.1, 0, 0.2
    logit = both[(both["metric"] == "accuracy") & (both["arm"] == "targeted-most_probable")]
    assert len(logit) == 1 and logit.iloc[0]["mean"] == pytest.approx(0.1) and logit.iloc[0]["n"] == 3
    assert len(summary) == 4 * len(aug.METRICS)
    again = aug.aggregate(hand_results())
    pd.testing.assert_frame_equal(summary, again)


def test_aggregate_rejects_unpaired_or_duplicate_results() -> None:
    results = hand_results()
    with pytest.raises(ValueError, match=r"seed\(s\) \[2\] at sigma 0.5 are in targeted but not in random"):
        aug.aggregate(results.drop(index=5))
    # the paper's targeted against most_probable, which has fewer seeds (augment.diagnostic_seeds): paired on
    # most_probable's seeds 0 and 1, (0.8, 0.9) - (0.7, 0.8); most_probable with a seed targeted lacks: an error
    probable = hand_results().query("arm == 'random' and seed < 2").assign(arm="most_probable", accuracy=[0.7, 0.8])
    pair = aug.aggregate(pd.concat([results, probable])).query("metric == 'accuracy'").set_index("arm")
    assert pair.loc["targeted-most_probable", "n"] == 2
    assert pair.loc["targeted-most_probable", "mean"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"seed\(s\) \[2\] at sigma 0.5 are in most_probable but not in targeted"):
        aug.aggregate(pd.concat([results.drop(index=2), probable, probable.iloc[:1].assign(seed=2)]))
    # an arm with fewer seeds than random (augment.diagnostic_seeds) is paired on its own: 0.1, 0.2
    fewer = aug.aggregate(results.drop(index=2))
    diff = fewer[(fewer["metric"] == "accuracy") & (fewer["arm"] == aug.DIFFERENCE)].iloc[0]
    assert diff["n"] == 2 and diff["mean"] == pytest.approx(0.15)
    with pytest.raises(ValueError, match="duplicate result for arm targeted"):
        aug.aggregate(pd.concat([results, results.iloc[[0]]]))
    with pytest.raises(ValueError, match="unknown arm"):
        aug.aggregate(results.assign(arm="other"))


# --- commands and figures ----------------------------------------------------------------------------------------


def test_aggregate_and_plot_commands(tmp_path: Path) -> None:
    frames = []
    rng = np.random.default_rng(0)
    for sigma in (0.0, 0.5, 1.0):
        frame = hand_results().assign(sigma=sigma)
        frame[list(aug.METRICS)] = np.clip(frame[list(aug.METRICS)] - sigma / 3 + rng.normal(0, 0.02, (7, 9)), 0, 1)
        frames.append(frame)
    pd.concat(frames[:2]).to_csv(tmp_path / "a.csv", index=False)
    frames[2].to_csv(tmp_path / "b.csv", index=False)
    summary = tmp_path / "summary.csv"
    assert main(["augment-aggregate", "--inputs", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"),
                 "--out", str(summary)]) == 0
    table = pd.read_csv(summary)
    assert list(table.columns) == ["arm", "sigma", "metric", "n", "mean", "se", "ci_low", "ci_high", "ci_method"]
    assert len(table) == 4 * 3 * len(aug.METRICS)
    for name in ("augmentation_noise", "augmentation_by_class", "augmentation_arms"):
        out = tmp_path / "figures" / f"{name}.pdf"
        assert main(["plot", name, "--summary", str(summary), "--out", str(out)]) == 0
        assert out.stat().st_size > 0 and out.with_suffix(".png").stat().st_size > 0
        caption = Path(__file__).resolve().parents[1] / "workflow" / "report" / f"{name}.rst"
        assert caption.read_text().strip()


def test_figures_have_their_panels() -> None:
    from andicam.plots.augment import plot_by_class, plot_noise

    summary = aug.aggregate(hand_results())
    fig = plot_noise(summary)
    (ax,) = fig.axes
    assert len(arm_lines(ax)) == 3  # baseline, targeted, random
    (inset,) = ax.child_axes  # the difference targeted - random
    assert inset.get_lines()[-1].get_ydata() == pytest.approx([15.0])  # percentage points
    fig = plot_by_class(summary)
    assert [ax.get_title() for ax in fig.axes] == list(CLASS_NAMES)
    with pytest.raises(ValueError, match="lacks column"):
        plot_noise(summary.drop(columns="se"))
    from andicam.plots.augment import plot_arms

    extra = pd.concat([hand_results(), hand_results().query("arm == 'random'").assign(
        arm="least_confident", accuracy=[0.6, 0.7, 0.8])])
    fig = plot_arms(aug.aggregate(extra))
    left, right = fig.axes
    assert len(arm_lines(left)) == 4  # baseline, targeted, random, least confident
    # targeted - random 15 points; least confident - random: -0.1, 0, -0.05 -> -5 points
    assert sorted(float(line.get_ydata()[0]) for line in right.get_lines()[1:]) == pytest.approx([-5.0, 15.0])
    # with a Grad-CAM-placed arm and most_probable: a third panel, the arm minus most probable
    both = pd.concat([hand_results(), hand_results().query("arm == 'random'").assign(
        arm="targeted_peak", accuracy=[0.75, 0.8, 0.9]), hand_results().query("arm == 'random'").assign(
        arm="most_probable", accuracy=[0.7, 0.9, 0.8])])
    fig = plot_arms(aug.aggregate(both))
    assert len(fig.axes) == 3
    third = fig.axes[2]
    assert "most probable" in third.get_ylabel() and "beyond confidence" in third.get_title()
    assert not third.texts  # no note inside the axes, where a line could run over it
    # targeted (the paper's arm) and targeted_peak, each minus most probable: 10 and 5/3 points
    assert [float(line.get_ydata()[0]) for line in third.get_lines()[1:]] == pytest.approx([10.0, 100 * 0.05 / 3])


def test_augmentation_figures_draw_the_papers_points_and_say_what_the_band_is() -> None:
    """Set-up F's points at 0, 0.5 and 1 (20 models); with draw notebooks set-up V's six at their true sigma (5 models),
    each with its +-1 SE bar; none for a draw of neither set-up."""
    from andicam.plots.augment import plot_arms, plot_noise
    from andicam.paper import AUGMENT_SETUPS

    summary = aug.aggregate(hand_results())
    for draw, sigmas, n in (("with_replacement", [0.0, 0.5, 1.0], 20),
                            ("notebooks", [0.0, 0.374, 0.548, 0.742, 0.954, 1.962], 5)):
        setup = AUGMENT_SETUPS[draw]
        for fig in (plot_noise(summary, draw), plot_arms(summary, draw)):
            ax = fig.axes[0]
            assert "step standard deviation" in ax.get_xlabel()
            title = ax.get_legend().get_title().get_text()
            assert "SE" in title and "seeds" in title
            for arm in aug.PAPER_ARMS:
                drawn = next(c for c in ax.containers if arm_label(arm) in c.get_label())
                assert drawn.get_label().startswith(f"paper set-up {setup.name}") and f"{n} models" in drawn.get_label()
                expect = [(p.sigma, getattr(p, arm)[0]) for p in setup.points]
                np.testing.assert_allclose(drawn.lines[0].get_xydata(), expect)
                assert [p.sigma for p in setup.points] == sigmas
                (bars,) = drawn.lines[2]  # the +-1 SE bars
                half = [abs(seg[1, 1] - seg[0, 1]) / 2 for seg in bars.get_segments()]
                np.testing.assert_allclose(half, [getattr(p, arm)[1] for p in setup.points])
    assert not plot_noise(summary, "without_replacement").axes[0].containers
    assert "paired t CI" in plot_noise(summary).axes[0].child_axes[0].get_title()


def arm_lines(ax) -> list:
    """The arms' lines (the paper's error-bar points are containers, their marker line unlabelled)."""
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def arm_label(arm: str) -> str:
    from andicam.plots.augment import ARM_STYLE

    return ARM_STYLE[arm]["label"]


def test_noise_figure_puts_its_inset_in_the_corner_free_of_points() -> None:
    from andicam.plots import augment as plots

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 100], linestyle="none")  # fixes the limits
    ax.plot(np.linspace(0.1, 0.4, 20), np.linspace(10, 30, 20))  # a curve through the bottom left
    assert plots._free_corner(ax) == plots.INSET_CORNERS[1]
    ax.plot(np.linspace(0.65, 0.9, 40), np.linspace(70, 85, 40))  # more points in the top right
    assert plots._free_corner(ax) == plots.INSET_CORNERS[0]
    plt.close(fig)

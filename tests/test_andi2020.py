"""The AnDi 2020 Task 2 benchmark: the challenge's data exactly, its metric, the eight-to-five fold."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from andicam.andi2020 import (NOISE_LEVELS, andi_model_probabilities, confusion_frame, generate_task2, micro_f1,
                              reference_table, score_table, to_trajectories, trajectories_per_exponent)
from andicam.cli import main
from andicam.dataio import ANDI_MODELS, CLASS_NAMES, read_trajectories
from andicam.model import save_model
from andicam.noise import estimate_noise
from andicam.simulate import normalise, seeded_state

from helpers import trained_like_model


@pytest.fixture(scope="module")
def task() -> object:
    return generate_task2(300, seed=11)


def test_generator_equals_the_challenges_own(task) -> None:
    """Same random state, same tracks and labels as andi_datasets' challenge_theory_dataset (Task 2, 2-D)."""
    from andi_datasets.datasets_challenge import challenge_theory_dataset

    with seeded_state(11), contextlib.redirect_stdout(io.StringIO()):
        out = challenge_theory_dataset(N=300, tasks=2, dimensions=2)
    xs, ys = out[2][1], out[3][1]  # X2, Y2 of dimension 2
    assert len(xs) == len(task) == 300
    for ref, xy in zip(xs, task.xy):
        np.testing.assert_array_equal(np.asarray(ref), xy.reshape(-1))  # x then y, as the challenge lists them
    np.testing.assert_array_equal(np.asarray(ys).astype(int), task.labels)


def test_the_challenges_distribution(task) -> None:
    table = trajectories_per_exponent(1000)
    assert table.shape == (5, 40) and table[3, :20].sum() == 0 and table[:2, 20:].sum() == 0  # LW super, ATTM/CTRW sub
    assert np.bincount(task.labels, minlength=5).min() > 40  # balanced: 1.1 N / 5 per model before the cut to N
    assert 10 <= task.lengths.min() and task.lengths.max() <= 999
    assert set(np.unique(task.noise)) <= set(NOISE_LEVELS)
    alpha = pd.Series(task.alpha).groupby(task.labels)
    assert alpha.max()[0] <= 1.0 and alpha.max()[1] <= 1.0 and alpha.min()[3] > 1.0  # ATTM, CTRW <= 1; LW > 1
    a, b, c = generate_task2(20, seed=11), generate_task2(20, seed=11), generate_task2(20, seed=12)
    assert all(np.array_equal(x, y) for x, y in zip(a.xy, b.xy)) and np.array_equal(a.noise, b.noise)
    assert not np.array_equal(a.labels, c.labels)


def test_every_track_keeps_its_own_noise_level(task) -> None:
    """The noise recorded per track is the one added to it: the per-track estimate orders the three levels."""
    long = task.lengths >= 300
    est = np.array([estimate_noise(normalise(xy).T) for xy in task.xy])
    medians = [np.median(est[long & np.isclose(task.noise, s)]) for s in NOISE_LEVELS]
    assert medians[0] < medians[1] < medians[2]


def test_file_round_trip_and_reference(tmp_path: Path, task) -> None:
    data = to_trajectories(task)
    assert data.trajectories.shape == (300, 2, 1000)
    for i in (0, 7):
        t = task.lengths[i]
        np.testing.assert_allclose(data.trajectories[i, :, :t], normalise(task.xy[i]), rtol=1e-6, atol=1e-5)
        assert not data.trajectories[i, :, t:].any()
    assert main(["andi2020-data", "--split", "test", "--shard", "0", "--master-seed", "3", "--n", "40",
                 "--out", str(tmp_path / "t.h5"), "--ref", str(tmp_path / "t.csv")]) == 0
    stored = read_trajectories(tmp_path / "t.h5")
    ref = pd.read_csv(tmp_path / "t.csv")
    assert stored.attrs["class_names"] == list(ANDI_MODELS)
    np.testing.assert_array_equal(ref["label"], stored.labels)
    np.testing.assert_array_equal(ref["length"], stored.lengths)
    assert list(ref.columns) == list(reference_table(task).columns)


def test_micro_f1_is_the_share_correct() -> None:
    labels = np.array([0, 1, 2, 3, 4, 4, 2, 1])
    predicted = np.array([0, 1, 2, 0, 4, 3, 2, 2])
    assert micro_f1(labels, predicted) == pytest.approx(5 / 8)
    f1_score = pytest.importorskip("sklearn.metrics").f1_score  # the reference implementation, where installed
    assert micro_f1(labels, predicted) == pytest.approx(f1_score(labels, predicted, average="micro"))


def test_both_kinds_of_classifier_give_the_five_models() -> None:
    """A five-model classifier's columns are reordered to ANDI_MODELS; the paper's eight are folded (the fold's
    own rule is tested with predict); any other class set is refused."""
    rng = np.random.default_rng(0)
    probs8 = rng.dirichlet(np.ones(8), size=6)
    np.testing.assert_allclose(andi_model_probabilities(probs8, CLASS_NAMES).sum(axis=1), 1.0)
    bm_only = np.zeros((1, 8))
    bm_only[0, CLASS_NAMES.index("BM")] = 1.0
    assert andi_model_probabilities(bm_only, CLASS_NAMES)[0].tolist() == [0, 0, 0.5, 0, 0.5]
    shuffled = ("SBM", "LW", "FBM", "CTRW", "ATTM")
    probs5 = rng.dirichlet(np.ones(5), size=3)
    np.testing.assert_allclose(andi_model_probabilities(probs5, shuffled), probs5[:, ::-1])
    with pytest.raises(ValueError, match="cannot be scored"):
        andi_model_probabilities(probs5, ("a", "b", "c", "d", "e"))


def test_score_table_bins_and_intervals() -> None:
    labels = np.array([0, 1, 2, 3, 4] * 4)
    predicted = labels.copy()
    predicted[:4] = 2
    lengths = np.array([20, 100, 300, 700] * 5)
    noise = np.array([0.1, 0.5, 1.0, 0.5, 0.1] * 4)
    table = score_table(labels, predicted, lengths, noise)
    assert table["group"].tolist() == ["all"] + ["length"] * 4 + ["noise"] * 3
    assert table.loc[0, "micro_f1"] == pytest.approx(17 / 20)
    assert table[table["group"] == "length"]["n"].tolist() == [5, 5, 5, 5]
    assert (table["ci_low"] <= table["micro_f1"]).all() and (table["micro_f1"] <= table["ci_high"]).all()
    conf = confusion_frame(labels, predicted)
    assert len(conf) == 25 and conf["count"].sum() == 20


def test_score_command_on_both_kinds_of_model(tmp_path: Path) -> None:
    assert main(["andi2020-data", "--split", "test", "--shard", "0", "--master-seed", "5", "--n", "60",
                 "--out", str(tmp_path / "t.h5"), "--ref", str(tmp_path / "t.csv")]) == 0
    save_model(str(tmp_path / "m8.pt"), trained_like_model(), {})
    out, conf = tmp_path / "scores.csv", tmp_path / "conf.csv"
    assert main(["andi2020-score", "--data", str(tmp_path / "t.h5"), "--ref", str(tmp_path / "t.csv"),
                 "--models", str(tmp_path / "m8.pt"), "--names", "eight", "--out", str(out),
                 "--confusion", str(conf), "--device", "cpu"]) == 0
    scores = pd.read_csv(out)
    assert scores.loc[0, ["model", "group", "n"]].tolist() == ["eight", "all", 60]
    assert pd.read_csv(conf)["count"].sum() == 60
    pd.read_csv(tmp_path / "t.csv").iloc[:-1].to_csv(tmp_path / "bad.csv", index=False)
    assert main(["andi2020-score", "--data", str(tmp_path / "t.h5"), "--ref", str(tmp_path / "bad.csv"),
                 "--models", str(tmp_path / "m8.pt"), "--names", "eight", "--out", str(tmp_path / "x.csv"),
                 "--confusion", str(tmp_path / "y.csv"), "--device", "cpu"]) != 0
    assert not (tmp_path / "x.csv").exists()
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "cols.csv", index=False)
    for ref in ("cols.csv", "missing.csv"):  # no label/noise columns; no file at all: one line, no output
        assert main(["andi2020-score", "--data", str(tmp_path / "t.h5"), "--ref", str(tmp_path / ref),
                     "--models", str(tmp_path / "m8.pt"), "--names", "eight", "--out", str(tmp_path / "x.csv"),
                     "--confusion", str(tmp_path / "y.csv"), "--device", "cpu"]) == 2
        assert not (tmp_path / "x.csv").exists()

"""Evaluation: metric functions against hand-computed values and scikit-learn, prediction, CLI and figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn import metrics as skm

from andicam.cli import main
from andicam.dataio import ANDI_MODELS, CLASS_NAMES, Trajectories, write_trajectories
from andicam.evaluate import (accuracy, classification_metrics, confusion_matrix, macro_f1, per_class_scores,
                              predict_proba, predictions_frame, read_predictions, row_normalise)
from andicam.files import read_json, write_json
from andicam.model import build_model, save_model
from andicam.plots.classifier import accuracy_vs_depth, class_share_vs_alpha, class_shares, confusion, depth_records
from helpers import andi_model, andi_walks

# Three classes, hand-checked: true 0 -> {0, 1}, true 1 -> {1}, true 2 -> {2, 0, 2}.
LABELS = np.array([0, 0, 1, 2, 2, 2])
PRED = np.array([0, 1, 1, 2, 0, 2])


def test_confusion_matrix_by_hand() -> None:
    counts = confusion_matrix(LABELS, PRED, 3)
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_allclose(row_normalise(counts), [[0.5, 0.5, 0], [0, 1, 0], [1 / 3, 0, 2 / 3]])
    assert np.isnan(row_normalise(np.array([[1, 0], [0, 0]]))[1]).all()  # a class without samples has no shares


def test_scores_by_hand() -> None:
    scores = per_class_scores(confusion_matrix(LABELS, PRED, 3))
    np.testing.assert_allclose(scores["recall"], [1 / 2, 1, 2 / 3])
    np.testing.assert_allclose(scores["precision"], [1 / 2, 1 / 2, 1])
    np.testing.assert_allclose(scores["f1"], [1 / 2, 2 / 3, 4 / 5])  # 2 tp / (support + predicted)
    np.testing.assert_array_equal(scores["support"], [2, 1, 3])
    assert accuracy(LABELS, PRED) == pytest.approx(4 / 6)
    assert macro_f1(confusion_matrix(LABELS, PRED, 3)) == pytest.approx((1 / 2 + 2 / 3 + 4 / 5) / 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 7, 300)  # class 7 never occurs in the labels ...
    predicted = np.where(rng.random(300) < 0.6, labels, rng.integers(0, 6, 300))  # ... nor 6, 7 in most predictions
    counts = confusion_matrix(labels, predicted)
    np.testing.assert_array_equal(counts, skm.confusion_matrix(labels, predicted, labels=range(8)))
    assert accuracy(labels, predicted) == pytest.approx(skm.accuracy_score(labels, predicted))
    assert macro_f1(counts) == pytest.approx(skm.f1_score(labels, predicted, average="macro"))
    scores = per_class_scores(counts)
    kw = dict(labels=range(8), average=None, zero_division=0)
    np.testing.assert_allclose(scores["recall"], skm.recall_score(labels, predicted, **kw))
    np.testing.assert_allclose(scores["precision"], skm.precision_score(labels, predicted, **kw))
    np.testing.assert_allclose(scores["f1"], skm.f1_score(labels, predicted, **kw))


def test_metrics_are_strict_json_and_reject_bad_labels() -> None:
    out = classification_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]))
    text = json.dumps(out, allow_nan=False)  # empty classes are null, not NaN
    assert json.loads(text)["confusion_normalised"][7] == [None] * 8
    assert out["per_class"]["SubCTRW"] == {"recall": 0.5, "precision": 1.0, "f1": pytest.approx(2 / 3), "support": 2}
    with pytest.raises(ValueError, match="labels must lie in"):
        confusion_matrix(np.array([0, 8]), np.array([0, 1]))


def tiny_data(n: int = 24, seed: int = 0) -> Trajectories:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(20, 201, n).astype(np.int32)
    traj = np.cumsum(rng.standard_normal((n, 2, 200)), axis=2).astype(np.float32)
    traj *= np.arange(200)[None, None, :] < lengths[:, None, None]  # left-aligned, zero after the length
    labels = (np.arange(n) % 8).astype(np.int8)
    alpha = np.where(labels < 4, 0.5, np.where(labels < 7, 1.5, 1.0)).astype(np.float32)
    return Trajectories(traj, lengths, labels, alpha)


def test_predictions_do_not_depend_on_batching() -> None:
    torch.manual_seed(0)
    model = build_model(depth=10, width=4)
    data = tiny_data()
    probs = predict_proba(model, data, batch_size=5)
    np.testing.assert_allclose(probs, predict_proba(model, data, batch_size=64), atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    frame = predictions_frame(data, probs)
    assert list(frame.columns) == ["index", "label", "alpha", "length", "predicted", *[f"p_{c}" for c in CLASS_NAMES]]
    np.testing.assert_array_equal(frame["predicted"], probs.argmax(axis=1))
    np.testing.assert_array_equal(frame["length"], data.lengths)


def test_evaluate_command(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model(depth=10, width=4)
    save_model(str(tmp_path / "model.pt"), model, {"seed": 2, "tags": {"regime": "variable"}, "best_epoch": 3})
    parts = [tiny_data(16, 0), tiny_data(8, 1)]
    for i, part in enumerate(parts):
        write_trajectories(tmp_path / f"t{i}.h5", part)
    rc = main(["evaluate", "--model", str(tmp_path / "model.pt"), "--data", str(tmp_path / "t0.h5"),
               str(tmp_path / "t1.h5"), "--out-predictions", str(tmp_path / "p.csv"),
               "--out-metrics", str(tmp_path / "m.json"), "--device", "cpu"])
    assert rc == 0
    frame = read_predictions(str(tmp_path / "p.csv"))
    metrics = read_json(tmp_path / "m.json")
    assert len(frame) == metrics["n"] == 24 and list(frame["index"]) == list(range(24))
    np.testing.assert_array_equal(frame["label"], np.concatenate([p.labels for p in parts]))
    assert metrics["accuracy"] == pytest.approx(float((frame["label"] == frame["predicted"]).mean()))
    assert metrics["model"]["tags"] == {"regime": "variable"} and metrics["model"]["seed"] == 2
    assert metrics["model"]["depth"] == 10
    assert metrics["used"] == {"device": "cpu", "amp": False, "fp32_math": "ieee"}


def _evaluate(folder: Path, model: str, data: str) -> int:
    return main(["evaluate", "--model", str(folder / model), "--data", str(folder / data), "--out-predictions",
                 str(folder / "p.csv"), "--out-metrics", str(folder / "m.json"), "--device", "cpu"])


def test_evaluate_command_on_a_five_class_model(tmp_path: Path) -> None:
    model = andi_model()
    save_model(str(tmp_path / "andi.pt"), model, model.meta)
    write_trajectories(tmp_path / "andi.h5", andi_walks(3, seed=2, split="test"))
    assert _evaluate(tmp_path, "andi.pt", "andi.h5") == 0
    metrics = read_json(tmp_path / "m.json")
    assert metrics["class_names"] == list(ANDI_MODELS) and list(metrics["per_class"]) == list(ANDI_MODELS)
    assert [len(row) for row in metrics["confusion_counts"]] == [5] * 5
    assert sum(v["support"] for v in metrics["per_class"].values()) == metrics["n"] == 15
    frame = read_predictions(str(tmp_path / "p.csv"), ANDI_MODELS)
    assert [c for c in frame.columns if c.startswith("p_")] == [f"p_{c}" for c in ANDI_MODELS]
    np.testing.assert_allclose(frame.filter(like="p_").sum(axis=1), 1, atol=1e-5)


def test_evaluate_refuses_a_model_of_another_class_set(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    save_model(str(tmp_path / "paper.pt"), build_model(depth=10, width=4))
    write_trajectories(tmp_path / "andi.h5", andi_walks(1, split="test"))
    assert _evaluate(tmp_path, "paper.pt", "andi.h5") == 2
    err = capsys.readouterr().err
    assert "paper.pt on " in err and "the model classifies [SubATTM" in err and "data's classes are [ATTM" in err
    assert not (tmp_path / "m.json").exists()


def test_evaluate_command_reports_a_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["evaluate", "--model", str(tmp_path / "none.pt"), "--data", "x.h5", "--out-predictions", "p.csv",
               "--out-metrics", "m.json"])
    assert rc == 2 and "none.pt: no such file" in capsys.readouterr().err


def shares_frame() -> pd.DataFrame:
    # SubATTM: alphas 0.1 (float32, on a bin edge), 0.12 -> one bin; 0.31 -> another. BM: one alpha.
    alpha = np.array([0.1, 0.12, 0.31, 1.0, 1.0], dtype=np.float32)
    frame = pd.DataFrame({"index": range(5), "label": [0, 0, 0, 7, 7], "alpha": alpha.astype(np.float64),
                          "length": 100, "predicted": [0, 1, 0, 7, 2]})
    for name in CLASS_NAMES:
        frame[f"p_{name}"] = 0.125
    return frame


def test_class_shares_per_alpha_bin() -> None:
    shares = class_shares(shares_frame(), 0)
    np.testing.assert_allclose(shares.index, [0.125, 0.325])
    np.testing.assert_allclose(shares.loc[shares.index[0], ["SubATTM", "SubCTRW"]], [0.5, 0.5])
    assert shares.iloc[1]["SubATTM"] == 1.0 and shares.to_numpy().sum() == pytest.approx(2)
    assert len(class_shares(shares_frame(), 7)) == 1  # BM: one bin, drawn as a bar


def test_classifier_figures(tmp_path: Path) -> None:
    frame = shares_frame()
    fig = class_share_vs_alpha(frame)
    assert len(fig.axes) == 8
    assert len(fig.axes[7].patches) == 8  # BM: a bar of eight stacked segments
    fig = confusion(frame["label"].to_numpy(), frame["predicted"].to_numpy())
    cells = {t.get_text() for t in fig.axes[0].texts}
    assert {"66.7", "33.3", "50.0"} <= cells  # SubATTM row: 2/3 and 1/3; BM row: 1/2 and 1/2


def test_accuracy_vs_depth_command(tmp_path: Path) -> None:
    paths = []
    for regime in ("fixed", "variable"):
        for depth in (10, 18):
            for seed in (0, 1):
                acc = 0.8 + 0.01 * seed + (0.05 if regime == "fixed" else 0)
                paths.append(tmp_path / f"{regime}{depth}{seed}.json")
                write_json(paths[-1], {"accuracy": acc, "macro_f1": acc,
                                       "model": {"depth": depth, "seed": seed, "tags": {"regime": regime}}})
    records = depth_records([read_json(p) for p in paths])
    assert len(records) == 8 and set(records["regime"]) == {"fixed", "variable"}
    out = tmp_path / "fig" / "accuracy_vs_depth.pdf"
    assert main(["plot", "accuracy_vs_depth", "--metrics", *map(str, paths), "--out", str(out),
                 "--out-csv", str(tmp_path / "summary.csv")]) == 0
    assert out.is_file() and out.with_suffix(".png").is_file()
    summary = pd.read_csv(tmp_path / "summary.csv")
    row = summary[(summary["regime"] == "fixed") & (summary["depth"] == 18)].iloc[0]
    assert row["n_seeds"] == 2 and row["mean"] == pytest.approx(0.855) and row["std"] == pytest.approx(0.01 / 2**0.5)
    assert len(accuracy_vs_depth(records).axes[0].containers) == 2  # one error-bar series per regime


def test_accuracy_vs_depth_draws_the_papers_accuracy_for_one_depth() -> None:
    from andicam.scaling import PAPER_ACCURACY

    records = pd.DataFrame({"regime": "variable", "depth": 18, "seed": [0, 1, 2], "accuracy": [0.88, 0.89, 0.90],
                            "macro_f1": 0.9})
    ax = accuracy_vs_depth(records).axes[0]
    lines = {float(y) for line in ax.lines for y in np.atleast_1d(line.get_ydata())}
    assert PAPER_ACCURACY["variable"] in lines  # the paper's ResNet-18 line and star
    assert any(t.get_text().startswith("89.0 +- 1.0 %") for t in ax.texts)  # mean +- SD written by the point
    assert any("paper" in label for label in ax.get_legend_handles_labels()[1])


def test_figure_commands_write_pdf_and_png(tmp_path: Path) -> None:
    frame = shares_frame()
    frame.to_csv(tmp_path / "p.csv", index=False)
    for name in ("confusion_fixed", "class_share_vs_alpha"):
        out = tmp_path / f"{name}.pdf"
        assert main(["plot", name, "--predictions", str(tmp_path / "p.csv"), "--out", str(out)]) == 0
        assert out.stat().st_size > 0 and out.with_suffix(".png").stat().st_size > 0

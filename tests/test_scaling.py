"""The scaling study: subsets per class, the table and its summary, the figure, and the workflow on tiny."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest

from andicam.cli import main as cli_main
from andicam.dataio import Trajectories, write_trajectories
from andicam.plots.scaling import scaling_figure
from andicam.intervals import wilson_interval
from andicam.paper import PAPER_ACCURACY
from andicam.scaling import (
    cheapest_within, first_per_class, scaling_records, scaling_summary, summary_markdown,
)
from andicam.config import ConfigError, load_config, validate
from helpers import REPO, copy_workflow, snakemake


def test_first_per_class_keeps_file_order_and_nests() -> None:
    labels = np.array([2, 0, 0, 1, 2, 0, 1, 2, 1, 0])
    np.testing.assert_array_equal(first_per_class(labels, 1, num_classes=3), [0, 1, 3])
    np.testing.assert_array_equal(first_per_class(labels, 2, num_classes=3), [0, 1, 2, 3, 4, 6])
    three = first_per_class(labels, 3, num_classes=3)
    assert np.bincount(labels[three]).tolist() == [3, 3, 3]
    assert set(first_per_class(labels, 2, num_classes=3)) <= set(three)  # a smaller size is a subset
    with pytest.raises(ValueError, match="5 trajectories per class asked for, but 0 has 4, 1 has 3, 2 has 3"):
        first_per_class(labels, 5, num_classes=3)
    with pytest.raises(ValueError, match="SubATTM has 0"):
        first_per_class(np.ones(16, dtype=int), 1)


def _metrics(per_class: int, width: int, seed: int, acc: float, seconds: float = 60.0,
             regime: str = "fixed") -> tuple[dict, dict]:
    n = 8 * per_class
    train = {"tags": {"regime": regime, "per_class": str(per_class)}, "seed": seed, "n_train": n, "epochs_run": 4,
             "best_epoch": 4, "train_seconds": seconds, "samples_per_second": 4 * n / seconds,
             "config": {"width": width, "depth": 10},
             "used": {"amp": True, "precision": "bf16: the CPU has native bf16 (avx512_bf16)"}}
    return train, {"accuracy": acc, "macro_f1": acc - 0.01, "n": 2000}


def test_records_and_summary_from_metrics() -> None:
    pairs = [_metrics(1000, 8, 0, 0.80), _metrics(4000, 8, 1, 0.91, 240.0), _metrics(4000, 8, 0, 0.89, 240.0),
             _metrics(1000, 16, 0, 0.82), _metrics(1000, 8, 0, 0.70, regime="variable")]
    records = scaling_records(pairs)
    assert len(records) == 5 and set(records["precision"]) == {"bf16"}
    fixed8 = records[(records["regime"] == "fixed") & (records["width"] == 8)]
    assert fixed8[["per_class", "seed"]].values.tolist() == [[1000, 0], [4000, 0], [4000, 1]]  # sorted
    assert fixed8["samples_x_epochs"].tolist() == [32000, 128000, 128000]  # 8 classes x per_class x 4 epochs
    assert fixed8["train_minutes"].tolist() == [1.0, 4.0, 4.0]
    summary = scaling_summary(records)
    row = summary[(summary["regime"] == "fixed") & (summary["per_class"] == 4000)].iloc[0]
    assert row["n_seeds"] == 2 and row["accuracy"] == pytest.approx(90.0)
    assert row["accuracy_sd"] == pytest.approx(np.std([91.0, 89.0], ddof=1))
    assert row["gap_to_paper"] == pytest.approx(90.0 - 94.89)
    var = summary[summary["regime"] == "variable"].iloc[0]
    assert var["paper_accuracy"] == 90.36 == PAPER_ACCURACY["variable"]
    assert var["gap_to_paper"] == pytest.approx(70.0 - 90.36)
    md = summary_markdown(summary)
    assert "| fixed | 4,000 | 8 | 10 | 4 | 128,000 | 2 | 90.0 +- 1.4 | -4.9 | 4.0 | 533 |" in md
    with pytest.raises(ValueError, match="per_class"):
        scaling_records([({**pairs[0][0], "tags": {"regime": "fixed"}}, pairs[0][1])])


def test_one_models_interval_is_wilson_over_its_test_trajectories_and_the_cheapest_point_is_named() -> None:
    pairs = [_metrics(1000, 8, 0, 0.80, 60.0), _metrics(4000, 8, 0, 0.935, 240.0), _metrics(4000, 8, 1, 0.945, 240.0),
             _metrics(4000, 16, 0, 0.95, 480.0), _metrics(1000, 8, 0, 0.70, regime="variable")]
    records = scaling_records(pairs)
    first = records.iloc[0]
    low, high = wilson_interval(1600, 2000)  # 80 % of 2,000 test trajectories
    assert first["n_test"] == 2000 and first["accuracy_low"] == pytest.approx(100 * low)
    assert first["accuracy_high"] == pytest.approx(100 * high)
    summary = scaling_summary(records)
    two_seeds = summary[(summary["per_class"] == 4000) & (summary["width"] == 8)].iloc[0]
    assert np.isnan(two_seeds["accuracy_low"])  # a mean over seeds gets the SD, not one model's interval
    # fixed: 4,000 x width 8 (94.0 %, -0.9) is within 1.5 points and cheaper than width 16 (95.0 %, +0.1)
    within = cheapest_within(summary, 1.5)
    assert within[["regime", "per_class", "width"]].values.tolist() == [["fixed", 4000, 8]]
    assert cheapest_within(summary, 0.0)[["per_class", "width"]].values.tolist() == [[4000, 16]]
    md = summary_markdown(summary)
    assert f"| fixed | 1,000 | 8 | 10 | 4 | 32,000 | 1 | 80.0 [{100 * low:.1f}, {100 * high:.1f}] |" in md
    assert "- fixed: cheapest point within 1.5 points of it: 4,000 per class, width 8, depth 10, 4 epochs, 94.0 % " \
           "(-0.9) in 4.0 min of training." in md
    assert "- variable: no point of the grid comes at or above the paper's accuracy; the best, 70.0 % (1,000 per " \
           "class, width 8, 4 epochs), is 20.4 points below." in md


def test_figure_has_a_panel_per_regime_and_the_paper_lines() -> None:
    records = scaling_records([_metrics(1000, 8, 0, 0.80), _metrics(4000, 8, 0, 0.9), _metrics(1000, 16, 0, 0.82),
                               _metrics(1000, 8, 0, 0.70, regime="variable")])
    fig = scaling_figure(records)
    fixed, variable = fig.axes[:2]
    assert fixed.get_xscale() == "log"
    paper_lines = [ln for ln in fixed.lines if list(ln.get_ydata()) == [94.89, 94.89]]
    assert len(paper_lines) == 1
    assert any(list(ln.get_ydata()) == [90.36, 90.36] for ln in variable.lines)
    means = [ln for ln in fixed.lines if ln.get_label().startswith("width 8")]
    np.testing.assert_allclose(means[0].get_xdata(), [32000, 128000])
    np.testing.assert_allclose(means[0].get_ydata(), [80.0, 90.0])
    # sizes labelled once per x position; the y axis starts under the weakest model (70 %), without chance
    assert sorted(t.get_text() for t in fixed.texts if not t.get_text().startswith(" ")) == ["1,000", "4,000"]
    assert fixed.get_ylim()[0] == 60.0 and not [ln for ln in fixed.lines if list(ln.get_ydata()) == [12.5, 12.5]]


def test_figure_shows_the_spread_over_seeds() -> None:
    records = scaling_records([_metrics(1000, 8, 0, 0.80), _metrics(4000, 8, 0, 0.89), _metrics(4000, 8, 1, 0.91)])
    ax = scaling_figure(records).axes[0]
    (bars,) = ax.containers  # error bars only at the point with two seeds
    (segments,) = bars.lines[2]
    np.testing.assert_allclose(segments.get_segments()[0][:, 1], 90.0 + np.array([-1, 1]) * np.std([89, 91], ddof=1))
    assert "SD over seeds" in ax.get_legend().get_title().get_text()
    assert any(label.endswith("1-2 seeds)") for label in ax.get_legend_handles_labels()[1])


def test_train_per_class_is_checked(tmp_path, capsys) -> None:
    rng = np.random.default_rng(0)
    n = 16
    traj = np.cumsum(rng.standard_normal((n, 2, 1000)), axis=2).astype(np.float32)
    data = Trajectories(traj, np.full(n, 1000, np.int32), np.repeat(np.arange(8), 2).astype(np.int8),
                        np.ones(n, np.float32))
    path = tmp_path / "train.h5"
    write_trajectories(path, data, {"regime": "fixed", "split": "train"})
    args = ["train", "--train", str(path), "--val", str(path), "--out-model", str(tmp_path / "m.pt"),
            "--out-metrics", str(tmp_path / "m.json"), "--out-history", str(tmp_path / "h.csv"),
            "--checkpoint", str(tmp_path / "ck.pt"), "--device", "cpu", "--width", "4", "--depth", "10"]
    assert cli_main([*args, "--per-class", "3"]) == 2
    assert "--per-class 3: 3 trajectories per class asked for, but SubATTM has 2" in capsys.readouterr().err
    assert cli_main([*args, "--per-class", "0"]) == 2
    assert "--per-class must be positive" in capsys.readouterr().err


def test_config_of_the_study_is_checked() -> None:
    base = load_config([REPO / "config.yaml"])
    for key, value, message in (("largest_seeds", [0, 3], "config: scaling.largest_seeds: [0] already in scaling.seeds"),
                                ("widths", [], "config: scaling.widths: must not be empty"),
                                ("depth", 12, "config: scaling.depth: 12 is not one of [10, 18, 34]")):
        config = copy.deepcopy(base)
        config["scaling"][key] = value
        with pytest.raises(ConfigError) as err:
            validate(config)
        assert str(err.value) == message


def test_sizes_that_do_not_fit_the_shards_stop_the_study_only(tmp_path) -> None:
    work = copy_workflow(tmp_path / "wf")
    run = snakemake(work, "-n", "fig_scaling", "--configfile", "presets/quick.yaml")
    assert run.returncode != 0
    # 1,000 and 4,000 per class fit the quick preset's 4 shards of 1,000; 16,000 or more does not.
    assert re.search(r"config scaling.per_class (16000|50000) needs (16|50) fixed training shards of "
                     r"data.n_per_class.train 1000, but data.regimes.fixed.shards.train is 4", run.stderr + run.stdout)
    assert snakemake(work, "-n", "--configfile", "presets/quick.yaml").returncode == 0  # `all` is unaffected


@pytest.mark.slow
def test_scaling_study_on_tiny(tmp_path) -> None:
    """fig_scaling end to end: the grid of the tiny preset (sizes 8 and 24 per class, one more seed at 24)."""
    work = copy_workflow(tmp_path / "wf")
    plan = snakemake(work, "-n", "--configfile", "presets/tiny.yaml")
    assert plan.returncode == 0 and "scaling_train" not in plan.stdout  # not part of `all`
    run = snakemake(work, "--cores", "2", "fig_scaling", "--configfile", "presets/tiny.yaml")
    assert run.returncode == 0, run.stderr[-3000:]
    assert (work / "results/figures/scaling.pdf").is_file() and (work / "results/figures/scaling.png").is_file()
    table = pd.read_csv(work / "results/tables/scaling.csv")
    assert table[["per_class", "seed", "n_train", "samples_x_epochs"]].values.tolist() == [
        [8, 0, 64, 64], [24, 0, 192, 192], [24, 1, 192, 192]]
    for row in table.itertuples(index=False):
        run_dir = work / f"results/scaling/fixed/n{row.per_class}/depth10/width4/epochs1/seed{row.seed}"
        evaluation = json.loads((run_dir / "eval.json").read_text())
        assert row.accuracy == pytest.approx(100 * evaluation["accuracy"])
        assert evaluation["n"] == 96  # the tiny test shard: 12 per class
        assert json.loads((run_dir / "metrics.json").read_text())["n_train"] == row.n_train
    summary = pd.read_csv(work / "results/tables/scaling_summary.csv")
    assert summary["n_seeds"].tolist() == [1, 2]
    # The two seeds at 24 per class are different models.
    probs = [pd.read_csv(work / f"results/scaling/fixed/n24/depth10/width4/epochs1/seed{s}/predictions.csv")
             for s in (0, 1)]
    assert not np.allclose(probs[0]["p_BM"], probs[1]["p_BM"])

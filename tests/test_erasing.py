"""Erasing: inclusive per-trajectory bins, controls that erase as much, and the accuracy table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from andicam.cli import main as cli_main
from andicam.dataio import CLASS_NAMES, Trajectories, read_trajectories, write_trajectories
from andicam.erasing import (
    bridge_noise,
    by_length_table,
    control_masks,
    erased_correct,
    erasing_table,
    fill_erased,
    gradcam_masks,
    percentile_bins,
    run_length_masks,
    step_std,
    uniform_masks,
    end_positions,
    valid_positions,
)
from andicam.erasing_tables import (
    control_differences,
    paired_bootstrap_ci,
    read_correctness,
    trajectory_bootstrap_differences,
    trajectory_differences,
)
from andicam.gradcam import compute_gradcam, model_input, write_gradcam
from andicam.model import build_model, save_model
from andicam.paper import PAPER_DECILES, PAPER_RANDOM_CONTROL_MEAN
from andicam.plots.gradcam import plot_erasing, plot_erasing_by_class, plot_erasing_by_length


def _maps(n: int = 20, p: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, p)).astype(np.float32)


def test_every_segment_falls_in_exactly_one_bin_extremes_included() -> None:
    maps = _maps()
    masks = gradcam_masks(maps)  # (N, 10, 32)
    np.testing.assert_array_equal(masks.sum(axis=1), 1)
    bins = percentile_bins(maps)
    np.testing.assert_array_equal(bins[np.arange(20), maps.argmin(1)], 0)
    np.testing.assert_array_equal(bins[np.arange(20), maps.argmax(1)], 9)
    # 32 distinct values: the edges lie at sorted ranks 0, 3.1, 6.2, ..., 31, so the bins hold 4,3,...,3,4.
    np.testing.assert_array_equal(masks.sum(axis=2), np.tile([4, 3, 3, 3, 3, 3, 3, 3, 3, 4], (20, 1)))
    # bins follow each trajectory's own order of values
    order = np.argsort(maps, axis=1)
    assert (np.diff(np.take_along_axis(bins, order, axis=1), axis=1) >= 0).all()


def test_bins_use_each_trajectorys_own_values() -> None:
    maps = _maps(2)
    maps[1] = maps[0] * 100 + 50  # same order, other scale
    bins = percentile_bins(maps)
    np.testing.assert_array_equal(bins[0], bins[1])
    assert (percentile_bins(np.zeros((1, 32))) == 9).all()  # a constant map: every value ties with the top edge


def test_controls_erase_the_same_number_of_segments() -> None:
    reference = gradcam_masks(_maps(50))
    for method in ("uniform", "run_length"):
        masks = control_masks(method, reference, master_seed=3, seed=0)
        np.testing.assert_array_equal(masks.sum(-1), reference.sum(-1))
        np.testing.assert_array_equal(masks, control_masks(method, reference, master_seed=3, seed=0))
        assert not np.array_equal(masks, control_masks(method, reference, master_seed=3, seed=1))
        assert not np.array_equal(masks, reference)
    with pytest.raises(ValueError, match="unknown control"):
        control_masks("shuffle", reference, 3, 0)


def test_run_length_control_is_a_nonzero_circular_shift() -> None:
    reference = gradcam_masks(_maps(30))
    shifted = run_length_masks(reference, np.random.default_rng(1))
    for n in range(30):
        for b in range(10):
            offsets = [k for k in range(32) if np.array_equal(np.roll(reference[n, b], k), shifted[n, b])]
            assert any(k != 0 for k in offsets)


def test_uniform_control_is_uniform_over_positions() -> None:
    reference = np.zeros((4000, 1, 32), bool)
    reference[:, 0, :8] = True  # always the first 8 positions
    freq = uniform_masks(reference, np.random.default_rng(2)).mean(axis=(0, 1))
    np.testing.assert_allclose(freq, 0.25, atol=0.03)


class _Recorder(nn.Module):
    """Remembers every input and predicts class 0."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.clone())
        return torch.zeros(x.shape[0], 8) + torch.eye(8)[0] + self.w


def test_erased_inputs_are_zero_exactly_on_the_selected_segments() -> None:
    rng = np.random.default_rng(4)
    x = rng.uniform(0.1, 1, size=(5, 2, 1000)).astype(np.float32)
    masks = rng.random((5, 3, 32)) < 0.3
    model = _Recorder().eval()
    correct = erased_correct(model, x, np.array([0, 1, 0, 2, 0]), masks, batch_size=6)  # 2 trajectories per pass
    np.testing.assert_array_equal(correct, np.array([[1, 0, 1, 0, 1]] * 3).T.astype(bool))
    seen = torch.cat(model.seen).numpy().reshape(5, 3, 2, 1000)
    steps = np.repeat(masks, [32, 31, 31, 31] * 8, axis=2)  # (5, 3, 1000): nearest-neighbour segments
    expected = np.where(steps[:, :, None, :], 0, x[:, None])
    np.testing.assert_array_equal(seen, expected)


def test_table_of_a_constant_model() -> None:
    labels = np.repeat(np.arange(8), 3)
    x = np.random.default_rng(5).uniform(size=(24, 2, 1000)).astype(np.float32)
    table = erasing_table(_Recorder().eval(), x, labels, _maps(24), master_seed=1, n_seeds=2)
    assert list(table.columns) == ["bin", "method", "seed", "class", "accuracy", "n", "segments", "ends"]
    # 9 groups ("all" + 8 classes) x (1 unerased + 10 Grad-CAM + 2 controls x 2 seeds x 10 bins)
    assert len(table) == 9 * (1 + 10 + 40)
    acc = table.groupby("class")["accuracy"].unique()
    assert acc["SubATTM"].tolist() == [1.0] and acc["BM"].tolist() == [0.0] and acc["all"].tolist() == [0.125]
    assert (table.loc[table["class"] == "all", "n"] == 24).all()
    assert (table.loc[table["class"] == "SupLW", "n"] == 3).all()
    seg = table[table["class"] == "all"].groupby(["method", "bin"])["segments"].mean().unstack(0)
    np.testing.assert_allclose(seg.loc[0:, "gradcam"], [4, 3, 3, 3, 3, 3, 3, 3, 3, 4])
    np.testing.assert_allclose(seg.loc[0:, "uniform"], seg.loc[0:, "gradcam"])
    np.testing.assert_allclose(seg.loc[0:, "run_length"], seg.loc[0:, "gradcam"])
    # every position lies in one Grad-CAM bin, so the bins erase each trajectory's two ends once in all
    ends = table[(table["class"] == "all") & (table["bin"] >= 0)].groupby(["method", "bin"])["ends"].mean()
    assert ends["gradcam"].sum() == pytest.approx(2)
    assert (ends <= seg.loc[0:].stack().swaplevel().sort_index()).all()
    assert (table.loc[table["method"] == "none", "ends"] == 0).all()


def test_end_positions_are_the_first_valid_and_the_last() -> None:
    valid = valid_positions(np.array([1000, 40, 1]), 32)
    ends = end_positions(valid)
    assert ends.sum(axis=1).tolist() == [2, 2, 1]  # a one-segment trajectory has one end
    assert np.flatnonzero(ends[0]).tolist() == [0, 31]
    assert np.flatnonzero(ends[1]).tolist() == [30, 31]  # 40 steps: the last two segments of 31-32 steps


def _tiny_files(tmp_path, lengths: np.ndarray | None = None) -> tuple[str, str, str]:
    rng = np.random.default_rng(6)
    n = 16
    lengths = np.full(n, 1000, np.int32) if lengths is None else lengths.astype(np.int32)
    traj = np.cumsum(rng.normal(size=(n, 2, 1000)), axis=2).astype(np.float32)
    traj *= np.arange(1000)[None, None, :] < lengths[:, None, None]  # left-aligned, zero after the length
    data = Trajectories(traj, lengths, (np.arange(n) % 8).astype(np.int8), np.ones(n, np.float32))
    write_trajectories(tmp_path / "d.h5", data)
    torch.manual_seed(0)
    model = build_model(depth=10, width=4).eval()
    save_model(str(tmp_path / "m.pt"), model)
    res = compute_gradcam(model, model_input(data), data.labels)
    write_gradcam(tmp_path / "g.h5", res.maps, data.labels, res.targets, res.predictions,
                  {"target": "true", "relu": False})
    return str(tmp_path / "m.pt"), str(tmp_path / "d.h5"), str(tmp_path / "g.h5")


def test_command_and_figures(tmp_path) -> None:
    model, data, gradcam = _tiny_files(tmp_path)
    out = tmp_path / "erasing.csv"
    args = ["erasing", "--model", model, "--data", data, "--gradcam", gradcam, "--out", str(out),
            "--seeds", "2", "--master-seed", "7", "--device", "cpu", "--max-trajectories", "12"]
    assert cli_main(args) == 0
    table = pd.read_csv(out)
    assert set(table["method"]) == {"none", "gradcam", "uniform", "run_length"}
    assert (table.loc[table["class"] == "all", "n"] == 12).all()
    assert set(table["class"]) <= {"all", *CLASS_NAMES}
    for name in ("erasing", "erasing_by_class"):
        pdf = tmp_path / f"{name}.pdf"
        assert cli_main(["plot", name, "--erasing", str(out), "--out", str(pdf)]) == 0
        assert pdf.stat().st_size > 0 and pdf.with_suffix(".png").stat().st_size > 0
    assert plot_erasing(table).axes and len(plot_erasing_by_class(table).axes) == 8
    other = str(tmp_path / "other.h5")
    write_gradcam(other, {"layer4": np.zeros((16, 32))}, np.zeros(16), np.zeros(16), np.zeros(16),
                  {"target": "true", "relu": False})
    assert cli_main([*args[:5], "--gradcam", other, *args[7:]]) == 2  # labels do not match the data


def test_valid_positions_are_the_segments_holding_real_steps() -> None:
    valid = valid_positions(np.array([1000, 10, 31, 32, 33, 500]), 32)
    # layer4 segments are 32, 31, 31, 31, ... steps long; the real steps are the last T of 1000.
    np.testing.assert_array_equal(valid.sum(1), [32, 1, 1, 2, 2, 16])
    assert valid[:, -1].all()
    for row in valid:  # a suffix each
        np.testing.assert_array_equal(row, np.arange(32) >= 32 - row.sum())
    with pytest.raises(ValueError, match="lengths"):
        valid_positions(np.array([0]), 32)


def test_bins_and_controls_stay_on_the_trajectory() -> None:
    rng = np.random.default_rng(7)
    lengths = rng.integers(10, 1001, size=200)
    valid = valid_positions(lengths, 32)
    maps = _maps(200, seed=8)
    bins = percentile_bins(maps, valid=valid)
    assert (bins[~valid] == -1).all() and (bins[valid] >= 0).all()
    # On the valid positions the bins equal numpy's percentiles of the valid values alone.
    for n in range(200):
        v = maps[n, valid[n]]
        edges = np.percentile(v.astype(np.float64), np.linspace(0, 100, 11))
        np.testing.assert_array_equal(bins[n, valid[n]], (v[:, None] >= edges[None, 1:-1]).sum(1))
    reference = gradcam_masks(maps, valid=valid)
    np.testing.assert_array_equal(reference.sum(axis=(1, 2)), valid.sum(1))  # each real segment in one bin
    for method in ("uniform", "run_length"):
        masks = control_masks(method, reference, master_seed=3, seed=0, valid=valid)
        assert not masks[np.broadcast_to(~valid[:, None], masks.shape)].any()
        np.testing.assert_array_equal(masks.sum(-1), reference.sum(-1))
    shifted = run_length_masks(reference, np.random.default_rng(1), valid)
    for n in range(200):
        v = valid[n].sum()
        for b in range(10):
            ref, got = reference[n, b, -v:], shifted[n, b, -v:]
            offsets = [k for k in range(v) if np.array_equal(np.roll(ref, k), got)]
            assert offsets and (v == 1 or ref.all() or not ref.any() or any(k != 0 for k in offsets))
    with pytest.raises(ValueError, match="suffix"):
        percentile_bins(maps[:1], valid=np.arange(32)[None] < 5)


def test_all_valid_mask_equals_no_mask() -> None:
    maps = _maps(40, seed=9)
    everything = valid_positions(np.full(40, 1000), 32)
    np.testing.assert_array_equal(percentile_bins(maps, valid=everything), percentile_bins(maps))
    reference = gradcam_masks(maps)
    for method in ("uniform", "run_length"):
        np.testing.assert_array_equal(control_masks(method, reference, 1, 0, everything),
                                      control_masks(method, reference, 1, 0))


def _mixed_length_command(tmp_path) -> tuple[Path, list[str]]:
    """The erasing command on tiny files of 40- and 1000-step trajectories: (its table's path, its arguments)."""
    model, data_path, gradcam = _tiny_files(tmp_path, lengths=np.array([40, 1000] * 8))
    out = tmp_path / "erasing.csv"
    return out, ["erasing", "--model", model, "--data", data_path, "--gradcam", gradcam, "--out", str(out),
                 "--seeds", "1", "--master-seed", "7", "--device", "cpu"]


def test_padding_is_never_erased_by_the_command(tmp_path) -> None:
    out, args = _mixed_length_command(tmp_path)
    assert cli_main(args) == 0
    table = pd.read_csv(out)
    assert (table["positions"] == "trajectory").all()
    short = table[(table["class"] == "all") & (table["method"] == "gradcam")]
    # 8 trajectories of 40 steps cover 2 segments and 8 of 1000 steps cover 32: 34 / 16 segments per trajectory.
    assert short["segments"].sum() == pytest.approx((8 * 2 + 8 * 32) / 16)
    assert cli_main([*args, "--include-padding"]) == 0
    table = pd.read_csv(out)
    assert (table["positions"] == "all").all()
    assert table.loc[(table["class"] == "all") & (table["method"] == "gradcam"), "segments"].sum() == pytest.approx(32)


def test_one_figure_for_both_positions_modes(tmp_path, capsys) -> None:
    model, data_path, gradcam = _tiny_files(tmp_path, lengths=np.array([40, 1000] * 8))
    args = ["erasing", "--model", model, "--data", data_path, "--gradcam", gradcam, "--seeds", "1",
            "--master-seed", "7", "--device", "cpu"]
    files = {}
    for mode, flag in (("all", ["--include-padding"]), ("trajectory", [])):
        files[mode] = (tmp_path / f"{mode}.csv", tmp_path / f"{mode}.npz")
        assert cli_main([*args, "--out", str(files[mode][0]), "--correctness", str(files[mode][1]), *flag]) == 0
    pdf = tmp_path / "both.pdf"
    # trajectory first on the command line; the figure still puts the padding-included run first
    assert cli_main(["plot", "erasing", "--erasing", str(files["trajectory"][0]), str(files["all"][0]),
                     "--correctness", str(files["trajectory"][1]), str(files["all"][1]), "--out", str(pdf)]) == 0
    assert pdf.with_suffix(".png").stat().st_size > 0
    tables = [pd.read_csv(files[m][0]) for m in ("trajectory", "all")]
    fig = plot_erasing(tables)
    assert len(fig.axes) == 4
    top_left, top_right = fig.axes[0], fig.axes[1]
    assert "trajectory segments" in top_left.get_title() and "padding included" in top_right.get_title()
    # the paper's deciles stand beside the run computed as the paper's was, and only there
    paper = [line for line in top_right.get_lines() if line.get_label().startswith("paper's deciles")]
    assert len(paper) == 1 and list(paper[0].get_ydata()) == list(PAPER_DECILES)
    assert not [line for line in top_left.get_lines() if line.get_label().startswith("paper")]
    with pytest.raises(ValueError, match="same positions"):
        plot_erasing([tables[0], tables[0]])
    assert cli_main(["plot", "erasing", "--erasing", str(files["all"][0]), "--correctness", str(files["all"][1]),
                     str(files["trajectory"][1]), "--out", str(pdf)]) == 2  # one table, two correctness files
    # each bad table is one error that names it: missing, empty, or the same mode twice
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for second, named in ((tmp_path / "none.csv", "none.csv: no such file"), (empty, "empty.csv: No columns"),
                          (files["all"][0], "same positions")):
        capsys.readouterr()
        assert cli_main(["plot", "erasing", "--erasing", str(files["all"][0]), str(second), "--out", str(pdf)]) == 2
        assert named in capsys.readouterr().err


def test_control_differences_pair_each_bin_with_its_control_seeds() -> None:
    rows = [{"bin": b, "method": "gradcam", "seed": 0, "class": "all", "accuracy": 0.5 - 0.02 * b} for b in range(3)]
    rows += [{"bin": b, "method": "uniform", "seed": s, "class": "all", "accuracy": 0.46 + 0.01 * s}
             for b in range(3) for s in range(2)]
    rows += [{"bin": -1, "method": "none", "seed": 0, "class": "all", "accuracy": 0.9}]
    diff = control_differences(pd.DataFrame(rows))
    assert set(diff["control"]) == {"uniform"} and (diff["seeds"] == 2).all()  # no run-length rows: none listed
    np.testing.assert_allclose(diff.sort_values("bin")["mean"], [0.035, 0.015, -0.005], atol=1e-12)
    np.testing.assert_allclose(diff.sort_values("bin")["low"], [0.03, 0.01, -0.01], atol=1e-12)
    np.testing.assert_allclose(diff.sort_values("bin")["high"], [0.04, 0.02, 0.0], atol=1e-12)


def _erasing_correctness(rng: np.random.Generator, repeats: int, n: int, seeds: int):
    """Correctness of erased trajectories, with a known mean Grad-CAM minus control difference.

    Trajectories differ in how easy they are (a shared per-trajectory probability), so both arms'
    accuracies vary with the sample of trajectories; Grad-CAM erasing costs up to 0.1 per trajectory.
    Returns gradcam (n, repeats), controls (n, seeds, repeats).
    """
    p_ctl = rng.beta(4, 2, size=(n, repeats))
    p_cam = np.clip(p_ctl - 0.1, 0, 1)
    gradcam = (rng.random((n, repeats)) < p_cam).astype(np.int8)
    controls = (rng.random((n, seeds, repeats)) < p_ctl[:, None]).astype(np.int8)
    return gradcam, controls


def test_paired_trajectory_bootstrap_covers_the_true_difference():
    rng = np.random.default_rng(1)
    # Population truth of E[clip(p - 0.1, 0, 1) - p] for p ~ Beta(4, 2), by a large sample.
    p = rng.beta(4, 2, size=4_000_000)
    truth = float(np.mean(np.clip(p - 0.1, 0, 1) - p))
    gradcam, controls = _erasing_correctness(rng, repeats=2000, n=300, seeds=3)
    mean, low, high = paired_bootstrap_ci(trajectory_differences(gradcam, controls), n_boot=1000, seed=2)
    coverage = float(np.mean((low <= truth) & (truth <= high)))
    assert 0.93 <= coverage <= 0.97, coverage
    assert abs(mean.mean() - truth) < 0.003


def test_range_over_control_seeds_alone_undercovers():
    """The old interval: Grad-CAM accuracy minus each control seed's, range over 5 seeds."""
    rng = np.random.default_rng(3)
    p = rng.beta(4, 2, size=4_000_000)
    truth = float(np.mean(np.clip(p - 0.1, 0, 1) - p))
    gradcam, controls = _erasing_correctness(rng, repeats=2000, n=300, seeds=5)
    per_seed = gradcam.mean(axis=0)[None] - controls.mean(axis=0)  # (seeds, repeats)
    coverage = float(np.mean((per_seed.min(axis=0) <= truth) & (truth <= per_seed.max(axis=0))))
    assert coverage < 0.85, coverage


def test_paired_bootstrap_rejects_too_few_trajectories():
    with pytest.raises(ValueError, match="at least 2 trajectories"):
        paired_bootstrap_ci(np.zeros(1))


def test_command_stores_per_trajectory_correctness(tmp_path) -> None:
    model, data, gradcam = _tiny_files(tmp_path)
    out, npz = tmp_path / "erasing.csv", tmp_path / "correct.npz"
    assert cli_main(["erasing", "--model", model, "--data", data, "--gradcam", gradcam, "--out", str(out),
                     "--correctness", str(npz), "--seeds", "2", "--master-seed", "7", "--device", "cpu",
                     "--max-trajectories", "12"]) == 0
    table = pd.read_csv(out)
    labels, correct = read_correctness(npz)
    assert correct["gradcam"].shape == (12, 10) and correct["uniform"].shape == (2, 12, 10)
    assert correct["gradcam"].dtype == np.int8 and len(labels) == 12
    cam = table[(table["method"] == "gradcam") & (table["class"] == "all")].sort_values("bin")["accuracy"]
    assert np.allclose(correct["gradcam"].mean(axis=0), cam)
    # a subset of no trajectories is refused before anything is written
    bad = tmp_path / "bad.csv"
    assert cli_main(["erasing", "--model", model, "--data", data, "--gradcam", gradcam, "--out", str(bad),
                     "--seeds", "2", "--master-seed", "7", "--device", "cpu", "--max-trajectories", "0"]) == 2
    assert not bad.exists()
    uni = table[(table["method"] == "uniform") & (table["class"] == "all") & (table["seed"] == 1)].sort_values("bin")
    assert np.allclose(correct["uniform"][1].mean(axis=0), uni["accuracy"])
    boot = trajectory_bootstrap_differences(labels, correct, CLASS_NAMES, n_boot=200)
    old = control_differences(table)
    both = boot[boot["class"] == "all"].merge(old[old["class"] == "all"], on=["control", "bin"])
    assert len(both) == 2 * 10
    assert np.allclose(both["mean_x"], both["mean_y"])  # same point estimate, other interval
    assert (both["low_x"] <= both["mean_x"]).all() and (both["mean_x"] <= both["high_x"]).all()
    assert (boot["ci_method"] == "paired bootstrap over " + boot["n_traj"].astype(str) + " trajectories").all()
    pdf = tmp_path / "erasing.pdf"
    assert cli_main(["plot", "erasing", "--erasing", str(out), "--correctness", str(npz), "--out", str(pdf)]) == 0
    assert pdf.stat().st_size > 0
    titles = [ax.get_title() for ax in plot_erasing(table, boot).axes]
    assert "band: 95 % paired bootstrap over 12 trajectories" in titles
    assert "band: range over control seeds" in [ax.get_title() for ax in plot_erasing(table).axes]


def _synthetic_erasing_table(positions: str, n_bins: int = 10, seeds: int = 2) -> pd.DataFrame:
    """An erasing table as `andicam erasing` writes it, with made-up accuracies (for the figures only)."""
    rows = []
    for cls in ["all", *CLASS_NAMES]:
        rows.append({"bin": -1, "method": "none", "seed": -1, "class": cls, "accuracy": 0.9, "n": 40})
        for b in range(n_bins):
            rows.append({"bin": b, "method": "gradcam", "seed": -1, "class": cls, "accuracy": 0.5 - 0.03 * b, "n": 40})
            for control in ("uniform", "run_length"):
                for seed in range(seeds):
                    rows.append({"bin": b, "method": control, "seed": seed, "class": cls,
                                 "accuracy": 0.3 + 0.01 * seed, "n": 40})
    return pd.DataFrame(rows).assign(positions=positions, stage="layer4")


def test_erasing_figure_names_the_run_length_control_the_papers_comparator() -> None:
    fig = plot_erasing([_synthetic_erasing_table("all"), _synthetic_erasing_table("trajectory")])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    papers = [label for label in labels if "paper's" in label and "control" in label]
    assert papers and all("run lengths kept" in label for label in papers)
    assert not [label for label in labels if "uniform" in label and "paper's control" in label]
    assert [label for label in labels if "uniform" in label and "not the paper's" in label]
    # the paper's 27.2 % is drawn in the colour of the run-length control
    top_right = fig.axes[1]
    line = next(ln for ln in top_right.get_lines() if ln.get_label().startswith("paper's random control"))
    control = next(ln for ln in top_right.get_lines() if ln.get_label().startswith("random segments, run lengths"))
    assert list(line.get_ydata()) == [PAPER_RANDOM_CONTROL_MEAN] * 2 and line.get_color() == control.get_color()


@pytest.mark.parametrize("positions, words", [("trajectory", "trajectory segments"), ("all", "padding included")])
def test_erasing_by_class_says_which_positions_it_shows(positions: str, words: str) -> None:
    title = plot_erasing_by_class(_synthetic_erasing_table(positions))._suptitle.get_text()
    assert words in title and repr(positions) in title


# --- fills ------------------------------------------------------------------------------------------------------


def _walk(n: int = 3, steps: int = 1000, std: float = 0.01, seed: int = 11) -> np.ndarray:
    """(n, 2, steps) random walks with step std ``std``, offset into the min-max box."""
    rng = np.random.default_rng(seed)
    return 0.5 + np.cumsum(rng.normal(0, std, size=(n, 2, steps)), axis=-1)


def _gap(steps: int, lo: int, hi: int, n: int = 3) -> np.ndarray:
    erased = np.zeros((n, steps), dtype=bool)
    erased[:, lo:hi] = True
    return erased


def test_zero_fill_is_the_papers_erasing_exactly() -> None:
    rng = np.random.default_rng(4)
    x = rng.uniform(0.1, 1, size=(5, 2, 1000)).astype(np.float32)
    erased = rng.random((5, 1000)) < 0.3
    starts = np.array([0, 500, 900, 0, 10])
    filled = fill_erased(x, erased, starts, "zero")
    np.testing.assert_array_equal(filled, np.where(erased[:, None], 0, x))  # padding included, as before
    masks = rng.random((5, 3, 32)) < 0.3
    seen = []
    for fill in ("zero", None):
        model = _Recorder().eval()
        kwargs = {"fill": fill, "starts": starts} if fill else {}
        erased_correct(model, x, np.zeros(5, int), masks, batch_size=6, **kwargs)
        seen.append(torch.cat(model.seen).numpy())
    np.testing.assert_array_equal(seen[0], seen[1])


def test_hold_repeats_the_last_kept_position_and_touches_nothing_else() -> None:
    x = _walk()
    starts = np.array([0, 0, 0])
    filled = fill_erased(x, _gap(1000, 300, 420), starts, "hold")
    np.testing.assert_array_equal(np.diff(filled[..., 299:420], axis=-1), 0)  # zero increments inside
    np.testing.assert_array_equal(filled[..., 300:420], np.repeat(x[..., 299:300], 120, axis=-1))
    np.testing.assert_array_equal(filled[..., :300], x[..., :300])
    np.testing.assert_array_equal(filled[..., 420:], x[..., 420:])
    # a gap that starts the trajectory holds the first position after it
    first = fill_erased(x, _gap(1000, 0, 50), starts, "hold")
    np.testing.assert_array_equal(first[..., :50], np.repeat(x[..., 50:51], 50, axis=-1))


def test_fills_leave_the_padding_as_it_was() -> None:
    x = _walk()
    starts = np.array([600, 600, 600])
    x[..., :600] = 0.25  # padding: the normalised start, scaled
    erased = _gap(1000, 500, 700)  # half on padding, half on the trajectory's first 100 steps
    noise = bridge_noise(np.arange(3), 5, (2, 1000))
    for fill in ("hold", "bridge"):
        filled = fill_erased(x, erased, starts, fill, noise)
        np.testing.assert_array_equal(filled[..., :600], 0.25)
        np.testing.assert_array_equal(filled[..., 700:], x[..., 700:])
    # the gap starts the trajectory: hold holds the first kept position after it, bridge walks back from it
    held = fill_erased(x, erased, starts, "hold")
    np.testing.assert_array_equal(held[..., 600:700], np.repeat(x[..., 700:701], 100, axis=-1))
    walked = fill_erased(x, erased, starts, "bridge", noise)
    inc = np.diff(walked[..., 600:701], axis=-1)  # the 100 steps into x[700]
    np.testing.assert_allclose(inc, noise[..., 601:701] * step_std(x, ~erased & (np.arange(1000) >= 600))[..., None])
    np.testing.assert_array_equal(fill_erased(x, erased, starts, "zero")[..., 500:700], 0)  # today's erasing
    # a trajectory erased whole takes the padding's value; without padding, 0
    whole = fill_erased(x, _gap(1000, 600, 1000), starts, "hold")
    np.testing.assert_array_equal(whole, 0.25)
    assert (fill_erased(x, _gap(1000, 0, 1000), np.zeros(3, int), "hold") == 0).all()


def test_bridge_joins_the_neighbours_with_the_trajectorys_step_std() -> None:
    std = 0.01
    x = _walk(n=4, std=std)
    lo, hi = 200, 800
    erased = _gap(1000, lo, hi, n=4)
    noise = bridge_noise(np.arange(4), 3, (2, 1000))
    filled = fill_erased(x, erased, np.zeros(4, int), "bridge", noise)
    np.testing.assert_array_equal(filled[..., :lo], x[..., :lo])
    np.testing.assert_array_equal(filled[..., hi:], x[..., hi:])
    estimated = step_std(x, ~erased)
    np.testing.assert_allclose(estimated, std, rtol=0.15)  # from the 398 kept increments
    # the bridge leaves the left neighbour and arrives at the right one: its last step ends on x[hi]
    path = filled[..., lo - 1 : hi + 1]
    inc = np.diff(path, axis=-1)  # 601 increments, from x[lo-1] to x[hi]
    np.testing.assert_allclose(path[..., 0] + inc.sum(-1), x[..., hi], atol=1e-12)
    # increments: std sigma * sqrt(1 - 1/601) about; sampling error of a std from 601 values ~ 1/sqrt(1202)
    ratio = inc.std(axis=-1) / estimated
    assert np.all(np.abs(ratio - 1) < 4 / np.sqrt(2 * inc.shape[-1]))
    assert not np.allclose(inc, inc[..., :1])  # not a straight line


def test_bridge_walks_from_the_one_neighbour_of_a_gap_at_an_end() -> None:
    std = 0.01
    x = _walk(n=4, std=std)
    noise = bridge_noise(np.arange(4), 8, (2, 1000))
    starts = np.zeros(4, int)
    for lo, hi, anchor in ((900, 1000, 899), (0, 100, 100)):  # the track's last 100 steps, then its first
        erased = _gap(1000, lo, hi, n=4)
        filled = fill_erased(x, erased, starts, "bridge", noise)
        np.testing.assert_array_equal(filled[..., anchor], x[..., anchor])  # the neighbour is kept
        # every step of the filled stretch, the one joining it to its neighbour included, is the walk's
        a, b = min(lo, anchor), max(hi - 1, anchor)
        np.testing.assert_allclose(np.diff(filled[..., a : b + 1], axis=-1),
                                   noise[..., a + 1 : b + 1] * step_std(x, ~erased)[..., None], atol=1e-12)
        assert np.abs(np.diff(filled[..., lo:hi], axis=-1)).min() > 0  # no step holds still, unlike hold


def test_bridge_is_reproducible_from_its_seed_and_a_line_without_steps() -> None:
    x = _walk(n=2)
    erased = _gap(1000, 100, 300, n=2)
    starts = np.zeros(2, int)
    a = fill_erased(x, erased, starts, "bridge", bridge_noise(np.array([4, 9]), 1, (2, 1000)))
    b = fill_erased(x, erased, starts, "bridge", bridge_noise(np.array([4, 9]), 1, (2, 1000)))
    c = fill_erased(x, erased, starts, "bridge", bridge_noise(np.array([4, 9]), 2, (2, 1000)))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[..., 100:300], c[..., 100:300])
    # each trajectory's draw depends on its own index only, not on its row
    swapped = bridge_noise(np.array([9, 4]), 1, (2, 1000))
    np.testing.assert_array_equal(swapped[::-1], bridge_noise(np.array([4, 9]), 1, (2, 1000)))
    # a trajectory that moves in straight equal steps has step std 0: the bridge is the straight line
    line = np.broadcast_to(np.linspace(0, 1, 1000), (1, 2, 1000)).copy()
    filled = fill_erased(line, erased[:1], starts[:1], "bridge", bridge_noise(np.array([0]), 1, (2, 1000)))
    np.testing.assert_allclose(filled, line, atol=1e-12)
    with pytest.raises(ValueError, match="unknown fill"):
        fill_erased(x, erased, starts, "mean")


def test_table_with_a_fill_erases_only_the_trajectory(tmp_path) -> None:
    out, args = _mixed_length_command(tmp_path)
    assert cli_main(args) == 0
    zero = pd.read_csv(out)
    assert "fill" not in zero  # zero-fill tables are the tables of before fills
    for fill in ("hold", "bridge"):
        assert cli_main([*args, "--fill", fill]) == 0
        table = pd.read_csv(out)
        assert list(table.columns[:3]) == ["stage", "positions", "fill"] and (table["fill"] == fill).all()
        # the same segments are chosen, whatever they become
        pd.testing.assert_series_equal(table["segments"], zero["segments"])
        assert cli_main([*args, "--fill", fill, "--batch-size", "7"]) == 0
        pd.testing.assert_frame_equal(pd.read_csv(out), table)  # reproducible, whatever the batches


def test_one_erasing_figure_column_per_positions_mode_and_fill(tmp_path) -> None:
    model, data_path, gradcam = _tiny_files(tmp_path, lengths=np.array([40, 1000] * 8))
    args = ["erasing", "--model", model, "--data", data_path, "--gradcam", gradcam, "--seeds", "1",
            "--master-seed", "7", "--device", "cpu"]
    files = []
    for fill in ("bridge", "zero"):
        for mode, flag in (("trajectory", []), ("all", ["--include-padding"])):
            out, npz = tmp_path / f"{mode}_{fill}.csv", tmp_path / f"{mode}_{fill}.npz"
            assert cli_main([*args, "--fill", fill, "--out", str(out), "--correctness", str(npz), *flag]) == 0
            files.append((out, npz))
    pdf = tmp_path / "fills.pdf"
    assert cli_main(["plot", "erasing", "--erasing", *(str(f[0]) for f in files),
                     "--correctness", *(str(f[1]) for f in files), "--out", str(pdf)]) == 0
    assert pdf.with_suffix(".png").stat().st_size > 0
    fig = plot_erasing([pd.read_csv(f[0]) for f in files])
    titles = [ax.get_title() for ax in fig.axes[:4]]
    # zero (the paper's) first, its titles as before fills existed; then the bridge, named
    assert "trajectory segments)" in titles[0] and "padding included)" in titles[1]
    assert "trajectory segments; erased segments: Brownian bridge" in titles[2]
    assert "padding included; erased segments: Brownian bridge" in titles[3]
    # the paper's deciles stand beside the run computed as the paper's was only: padding included, zero fill
    papers = [ax for ax in fig.axes[:4] if any(line.get_label().startswith("paper's deciles") for line in ax.get_lines())]
    assert papers == [fig.axes[1]]
    with pytest.raises(ValueError, match="same positions and fill"):
        plot_erasing([pd.read_csv(files[0][0])] * 2)


def test_by_length_table_splits_the_curves_by_trajectory_length() -> None:
    lengths = np.array([10, 49, 50, 199, 200, 500, 1000, 1000])
    none = np.array([1, 0, 1, 1, 1, 1, 1, 0], dtype=np.int8)
    gradcam = np.zeros((8, 2), dtype=np.int8)
    gradcam[[0, 2, 6], 0] = 1
    uniform = np.ones((2, 8, 2), dtype=np.int8)
    uniform[1, :2] = 0
    table = by_length_table({"none": none, "gradcam": gradcam, "uniform": uniform}, lengths)
    assert list(table["length_bin"].unique()) == ["10-49", "50-199", "200-499", "500-1000"]
    assert list(table.columns) == ["length_bin", "bin", "method", "seed", "accuracy", "n"]
    at = table.set_index(["length_bin", "method", "seed", "bin"])
    assert at.loc[("10-49", "none", 0, -1), "accuracy"] == 0.5 and at.loc[("10-49", "none", 0, -1), "n"] == 2
    assert at.loc[("500-1000", "none", 0, -1), "accuracy"] == pytest.approx(2 / 3)
    assert at.loc[("500-1000", "none", 0, -1), "n"] == 3
    assert at.loc[("50-199", "gradcam", 0, 0), "accuracy"] == 0.5 and at.loc[("50-199", "gradcam", 0, 1), "accuracy"] == 0
    assert at.loc[("10-49", "uniform", 1, 0), "accuracy"] == 0 and at.loc[("10-49", "uniform", 0, 0), "accuracy"] == 1
    assert "run_length" not in set(table["method"])  # only the controls that ran


def test_command_writes_the_curves_by_length_and_their_figure(tmp_path) -> None:
    model, data_path, gradcam = _tiny_files(tmp_path, lengths=np.array([40, 120, 300, 1000] * 4))
    args = ["erasing", "--model", model, "--data", data_path, "--gradcam", gradcam, "--seeds", "1",
            "--master-seed", "7", "--device", "cpu"]
    tables = []
    for fill in ("zero", "hold"):
        out, by_length, npz = (tmp_path / f"{fill}{ext}" for ext in (".csv", "_by_length.csv", ".npz"))
        assert cli_main([*args, "--fill", fill, "--out", str(out), "--by-length", str(by_length),
                         "--correctness", str(npz)]) == 0
        table, split = pd.read_csv(out), pd.read_csv(by_length)
        assert set(np.load(npz).files) == {"labels", "gradcam", "uniform", "run_length"}  # as before
        assert list(split.columns[:3]) == (["stage", "positions", "fill"] if fill == "hold" else
                                           ["stage", "positions", "length_bin"])
        assert (split.groupby("length_bin")["n"].first() == 4).all()
        # the length bins pool back to the table's curve
        pooled = split[split["method"] == "gradcam"].groupby("bin")["accuracy"].mean()
        whole = table[(table["class"] == "all") & (table["method"] == "gradcam")].set_index("bin")["accuracy"]
        np.testing.assert_allclose(pooled, whole)
        tables.append(by_length)
    pdf = tmp_path / "by_length.pdf"
    assert cli_main(["plot", "erasing_by_length", "--erasing", *map(str, tables), "--out", str(pdf)]) == 0
    assert pdf.with_suffix(".png").stat().st_size > 0
    fig = plot_erasing_by_length([pd.read_csv(t) for t in tables])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("length 10-49 (n = 4)") and "erased: set to 0" in titles[0]
    assert "erased: last position held" in titles[4] and len(titles) == 8
    assert cli_main([*args, "--out", str(tmp_path / "x.csv"), "--length-edges", "50", "10"]) == 2


def test_runs_of_another_regime_are_named_and_drawn_beside_the_main_one(tmp_path) -> None:
    model, data_path, gradcam = _tiny_files(tmp_path)  # 1000 steps each: fixed length, no padding
    args = ["erasing", "--model", model, "--data", data_path, "--gradcam", gradcam, "--seeds", "1",
            "--master-seed", "7", "--device", "cpu"]
    main, fixed = tmp_path / "main.csv", tmp_path / "fixed_hold.csv"
    assert cli_main([*args, "--out", str(main), "--correctness", str(tmp_path / "main.npz")]) == 0
    assert cli_main([*args, "--out", str(fixed), "--fill", "hold", "--regime", "fixed", "--by-length",
                     str(tmp_path / "by_length.csv"), "--correctness", str(tmp_path / "fixed.npz")]) == 0
    assert "regime" not in pd.read_csv(main)  # the main run's table as before
    table = pd.read_csv(fixed)
    assert list(table.columns[:4]) == ["regime", "stage", "positions", "fill"] and (table["regime"] == "fixed").all()
    split = pd.read_csv(tmp_path / "by_length.csv")
    assert list(split.columns[:5]) == ["regime", "stage", "positions", "fill", "length_bin"]
    assert set(split["length_bin"]) == {"500-1000"}
    pdf = tmp_path / "regimes.pdf"
    assert cli_main(["plot", "erasing_regimes", "--erasing", str(fixed), str(main), "--correctness",
                     str(tmp_path / "fixed.npz"), str(tmp_path / "main.npz"), "--main-regime", "variable",
                     "--out", str(pdf)]) == 0
    assert pdf.with_suffix(".png").stat().st_size > 0
    fig = plot_erasing([table, pd.read_csv(main)], main_regime="variable")
    titles = [ax.get_title() for ax in fig.axes[:2]]
    assert "variable-length model" in titles[0] and "fixed-length model" in titles[1]  # the main run first
    assert "last position held" in titles[1]
    # without a main regime the figure is the erasing figure of before: no regime in the titles
    assert "model" not in plot_erasing(pd.read_csv(main)).axes[0].get_title()


def test_erasing_under_amp_runs_bf16_with_the_first_convolution_in_fp32(tmp_path, monkeypatch) -> None:
    """explain.erasing.amp: the erased inputs pass the network under bf16 autocast, its first convolution in
    fp32 (the model loaded by andicam.noise.inference_model); without it everything is fp32. The command's
    table keeps its rows either way, and --no-amp is the fp32 run exactly."""
    from andicam import device as device_module
    from andicam.noise import inference_model

    model_path, data, gradcam = _tiny_files(tmp_path)
    x = model_input(read_trajectories(data))
    labels = np.arange(len(x)) % 8
    masks = np.zeros((len(x), 2, 32), dtype=bool)
    masks[:, 1, :4] = True
    for amp in (False, True):
        model = inference_model(model_path, "cpu", amp)
        seen = {}
        hooks = [m.register_forward_hook(lambda mod, i, o, name=name: seen.__setitem__(name, o.dtype))
                 for name, m in (("stem", model.conv1), ("layer1", model.layer1[0].conv1))]
        erased_correct(model, x, labels, masks, batch_size=8, amp=amp)
        for h in hooks:
            h.remove()
        assert seen == {"stem": torch.float32, "layer1": torch.bfloat16 if amp else torch.float32}
    common = ["erasing", "--model", model_path, "--data", data, "--gradcam", gradcam, "--seeds", "1",
              "--master-seed", "7", "--device", "cpu"]
    assert cli_main([*common, "--out", str(tmp_path / "fp32.csv")]) == 0
    assert cli_main([*common, "--no-amp", "--out", str(tmp_path / "no_amp.csv")]) == 0
    fp32 = pd.read_csv(tmp_path / "fp32.csv")
    pd.testing.assert_frame_equal(fp32, pd.read_csv(tmp_path / "no_amp.csv"))
    monkeypatch.setattr(device_module, "resolve_amp", lambda device, requested: (requested, "forced for the test"))
    assert cli_main([*common, "--amp", "--out", str(tmp_path / "amp.csv")]) == 0
    amp_table = pd.read_csv(tmp_path / "amp.csv")
    key = ["bin", "method", "seed", "class", "n", "segments"]
    pd.testing.assert_frame_equal(amp_table[key], fp32[key])

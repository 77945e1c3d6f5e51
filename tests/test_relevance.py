"""Relevance correlations: exact bootstrap (checked against explicit resamples), seeds, files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from andicam import relevance as rel
from andicam.dataio import CLASS_NAMES, DataFileError, Trajectories, write_trajectories
from andicam.gradcam import write_gradcam
from andicam.stats import STATISTICS, stage_statistics


def _pairs(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    stat = rng.normal(size=(n, p))
    cam = 0.5 * stat + rng.normal(size=(n, p)) + rng.normal(size=(n, 1))  # a shared offset per trajectory
    stat[:, :3] = np.round(stat[:, :3])  # ties, as the AC = 1 convention produces
    return cam, stat


def test_pearson_bootstrap_equals_explicit_resamples() -> None:
    cam, stat = _pairs(12, 5, seed=1)
    counts = rel.bootstrap_counts(12, 7, np.random.default_rng(3))
    assert counts.shape == (7, 12) and np.all(counts.sum(1) == 12)
    r, reps = rel.pearson_bootstrap(cam, stat, counts)
    assert r == pytest.approx(np.corrcoef(cam.ravel(), stat.ravel())[0, 1], abs=1e-12)
    for b in range(7):
        idx = np.repeat(np.arange(12), counts[b])
        expect = np.corrcoef(cam[idx].ravel(), stat[idx].ravel())[0, 1]
        assert reps[b] == pytest.approx(expect, abs=1e-12)


def test_spearman_bootstrap_equals_scipy_on_explicit_resamples() -> None:
    cam, stat = _pairs(12, 5, seed=2)
    cam[0, :2] = cam[1, 0]  # ties in the maps too
    counts = rel.bootstrap_counts(12, 6, np.random.default_rng(4))
    out = rel.spearman_bootstrap(cam, {"S": stat, "T": -stat}, counts)
    assert out["S"][0] == pytest.approx(spearmanr(cam.ravel(), stat.ravel())[0], abs=1e-12)
    assert out["T"][0] == pytest.approx(-out["S"][0], abs=1e-12)
    for b in range(6):
        idx = np.repeat(np.arange(12), counts[b])
        expect = spearmanr(cam[idx].ravel(), stat[idx].ravel())[0]
        assert out["S"][1][b] == pytest.approx(expect, abs=1e-12)


def test_spearman_chunking_gives_the_same_replicates(monkeypatch: pytest.MonkeyPatch) -> None:
    cam, stat = _pairs(10, 4, seed=5)
    counts = rel.bootstrap_counts(10, 9, np.random.default_rng(0))
    whole = rel.spearman_bootstrap(cam, {"S": stat}, counts)["S"][1]
    monkeypatch.setattr(rel, "_CELLS_PER_CHUNK", 80)  # two replicates per chunk
    chunked = rel.spearman_bootstrap(cam, {"S": stat}, counts)["S"][1]
    assert np.array_equal(whole, chunked)


def _table(seed: int, n_boot: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 5], 30)
    stats = {s: rng.normal(size=(90, 32)) for s in STATISTICS}
    sign = np.where(labels == 1, -1.0, 1.0)[:, None]
    cam = sign * stats["SG"] + 0.5 * rng.normal(size=(90, 32))
    return rel.relevance_table("layer4", cam, stats, labels, 225, n_boot=n_boot, seed=seed)


def test_table_layout_signs_and_seeds() -> None:
    table = _table(seed=1)
    assert list(table.columns) == list(rel.COLUMNS)
    assert len(table) == 3 * len(STATISTICS) * len(rel.METHODS)  # classes present x statistics x methods
    sg = table[(table["statistic"] == "SG") & (table["method"] == "pearson")].set_index("class")
    expect = 1 / np.sqrt(1 + 0.25)  # r of s and s + noise with variances 1 and 0.25
    assert sg.loc["SubATTM", "r"] == pytest.approx(expect, abs=0.03)
    assert sg.loc["SubCTRW", "r"] == pytest.approx(-expect, abs=0.03)
    assert (table["ci_low"] <= table["r"]).all() and (table["r"] <= table["ci_high"]).all()
    other = table[(table["statistic"] == "AC") & (table["method"] == "pearson")]
    assert (other["ci_low"] < 0).all() and (other["ci_high"] > 0).all()  # no relation: CI covers 0
    assert table.equals(_table(seed=1))
    assert not table["ci_low"].equals(_table(seed=2)["ci_low"])
    assert set(table["n_traj"]) == {30}
    grid = rel.correlation_grid(table, "layer4")
    assert list(grid.index) == list(STATISTICS) and list(grid.columns) == ["SubATTM", "SubCTRW", "SupLW"]


def test_no_bootstrap_gives_nan_intervals() -> None:
    table = _table(seed=1, n_boot=0)
    assert table["ci_low"].isna().all() and table["r"].notna().all()


def _write_pair(tmp_path, n_per_class: int = 3, length: int = 1000, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = 8 * n_per_class
    traj = np.cumsum(rng.normal(size=(n, 2, 1000)), axis=-1).astype(np.float32)
    lengths = np.full(n, length, dtype=np.int32)
    traj[:, :, length:] = 0
    labels = np.repeat(np.arange(8), n_per_class).astype(np.int8)
    data = Trajectories(traj, lengths, labels, np.ones(n, dtype=np.float32), {})
    write_trajectories(tmp_path / "d.h5", data)
    maps = {"layer4": rng.normal(size=(n, 32)).astype(np.float32),
            "layer2": rng.normal(size=(n, 125)).astype(np.float32)}
    write_gradcam(tmp_path / "g.h5", maps, labels, labels, labels, {"target": "true", "relu": False})
    return data, maps


def test_relevance_from_files_matches_in_memory(tmp_path) -> None:
    from andicam.gradcam import model_input

    data, maps = _write_pair(tmp_path)
    table = rel.relevance_from_files([str(tmp_path / "d.h5")], [str(tmp_path / "g.h5")], ["layer4", "layer2"],
                                     n_boot=20, seed=3)
    direct = rel.relevance(model_input(data), data.labels, maps, n_boot=20, seed=3)
    pd.testing.assert_frame_equal(table, direct)
    assert set(table["class"]) == set(CLASS_NAMES)
    assert dict(zip(table["stage"], table["window"])) == {"layer4": 225, "layer2": 58}
    stats = stage_statistics(model_input(data), "layer4")
    sub = data.labels == 7
    r = np.corrcoef(maps["layer4"][sub].ravel(), stats["VD"][sub].ravel())[0, 1]
    got = table.query("stage == 'layer4' and statistic == 'VD' and method == 'pearson' and `class` == 'BM'")["r"]
    assert float(got.iloc[0]) == pytest.approx(r, abs=1e-6)


def test_files_that_do_not_belong_together_are_refused(tmp_path) -> None:
    _write_pair(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    _write_pair(other, n_per_class=2)
    with pytest.raises(DataFileError, match="labels differ"):
        rel.collect([str(tmp_path / "d.h5")], [str(other / "g.h5")], ["layer4"])
    with pytest.raises(DataFileError, match="no map for stage"):
        rel.collect([str(tmp_path / "d.h5")], [str(tmp_path / "g.h5")], ["layer3"])
    short = tmp_path / "short"
    short.mkdir()
    _write_pair(short, length=600)
    with pytest.raises(DataFileError, match="1000 steps"):
        rel.collect([str(short / "d.h5")], [str(short / "g.h5")], ["layer4"])


def test_spearman_interval_methods_agree_on_the_estimate() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([2, 4], 40)
    stats = {s: rng.normal(size=(80, 8)) for s in STATISTICS}
    cam = stats["AC"] + rng.normal(size=(80, 8)) + rng.normal(size=(80, 1))
    fast = rel.relevance_table("layer4", cam, stats, labels, 225, n_boot=300, seed=1, methods=["spearman"])
    exact = rel.relevance_table("layer4", cam, stats, labels, 225, n_boot=300, seed=1, methods=["spearman"],
                                spearman_ci="exact")
    np.testing.assert_allclose(fast["r"], exact["r"], atol=1e-12)
    sub = labels == 2
    assert float(fast["r"].iloc[0]) == pytest.approx(spearmanr(cam[sub].ravel(), stats["AC"][sub].ravel())[0])
    np.testing.assert_allclose(fast["ci_low"], exact["ci_low"], atol=0.05)
    np.testing.assert_allclose(fast["ci_high"], exact["ci_high"], atol=0.05)
    with pytest.raises(ValueError, match="spearman_ci"):
        rel.relevance_table("layer4", cam, stats, labels, 225, spearman_ci="fast")


def test_cli_relevance_and_figures(tmp_path, capsys) -> None:
    from andicam.cli import main

    _write_pair(tmp_path)
    out = tmp_path / "rel.csv"
    args = ["relevance", "--data", str(tmp_path / "d.h5"), "--gradcam", str(tmp_path / "g.h5"), "--stages",
            "layer2", "layer4", "--window", "layer2=40", "--n-boot", "50", "--seed", "1", "--out", str(out)]
    assert main(args) == 0
    table = pd.read_csv(out)
    assert dict(zip(table["stage"], table["window"])) == {"layer2": 40, "layer4": 225}
    for name in ("relevance_train", "relevance_test", "relevance_layers"):
        pdf = tmp_path / f"{name}.pdf"
        extra = ["--stages", "layer2", "layer4"] if name == "relevance_layers" else []
        assert main(["plot", name, "--relevance", str(out), *extra, "--out", str(pdf)]) == 0
        assert pdf.stat().st_size > 0 and pdf.with_suffix(".png").stat().st_size > 0
    capsys.readouterr()
    assert main([*args[:-2], "--window", "layer9=40", "--out", str(out)]) == 2
    assert "layer9" in capsys.readouterr().err
    assert main(["plot", "relevance_layers", "--relevance", str(out), "--stages", "layer1",
                 "--out", str(tmp_path / "x.pdf")]) == 2
    assert "layer1" in capsys.readouterr().err


def test_within_trajectory_correlation_can_oppose_the_pooled_one() -> None:
    """Confident trajectories have high maps and high statistics throughout (a shared offset, sd 3), while
    within each trajectory the map points away from high statistics: pooled r > 0, within r < 0."""
    rng = np.random.default_rng(4)
    n, p = 200, 32
    offset = rng.normal(scale=3.0, size=(n, 1))
    s = rng.normal(size=(n, p))
    stat = offset + s
    cam = offset - s + 0.5 * rng.normal(size=(n, p))
    stats = {name: stat for name in STATISTICS}
    table = rel.relevance_table("layer4", cam, stats, np.zeros(n, dtype=int), 225, n_boot=300, seed=0,
                                methods=["pearson", "pearson_within"]).set_index("method")
    sg = table[table["statistic"] == "SG"]
    # pooled: cov 9 - 1, variances 9 + 1.25 and 9 + 1; within: -1 / sqrt(1.25)
    assert sg.loc["pearson", "r"] == pytest.approx(8 / np.sqrt(10.25 * 10), abs=0.03)
    assert sg.loc["pearson_within", "r"] == pytest.approx(-1 / np.sqrt(1.25), abs=0.02)
    assert sg.loc["pearson", "ci_low"] > 0 > sg.loc["pearson_within", "ci_high"]
    centred = cam - cam.mean(1, keepdims=True), stat - stat.mean(1, keepdims=True)
    assert sg.loc["pearson_within", "r"] == pytest.approx(np.corrcoef(centred[0].ravel(), centred[1].ravel())[0, 1])


def test_relevance_figure_has_a_within_trajectory_panel() -> None:
    from andicam.plots.relevance import plot_relevance

    table = _table(seed=1, n_boot=20)
    titles = [ax.get_title() for ax in plot_relevance(table).axes]
    assert "pooled Pearson r" in titles and "within-trajectory Pearson r (centred)" in titles
    only_pooled = table[table["method"] != "pearson_within"]
    assert "within-trajectory Pearson r (centred)" not in [ax.get_title() for ax in plot_relevance(only_pooled).axes]


def _synthetic_relevance(stages: dict[str, int], r_max: float = 0.55) -> pd.DataFrame:
    """A relevance table of every class and statistic with made-up r up to ``r_max`` (for the figures only)."""
    rng = np.random.default_rng(0)
    return pd.DataFrame([{"stage": stage, "statistic": s, "class": c, "method": m, "r": rng.uniform(-0.3, r_max),
                          "ci_low": -1.0, "ci_high": 1.0, "n_traj": 10, "window": window}
                         for stage, window in stages.items() for s in STATISTICS for c in CLASS_NAMES
                         for m in ("pearson", "pearson_within")]).assign(
        r=lambda t: np.where((t["statistic"] == "AC") & (t["class"] == "BM"), r_max, t["r"]))


def test_relevance_figure_outlines_the_papers_cells_and_extends_its_colour_bar() -> None:
    from matplotlib.patches import Rectangle

    from andicam.plots.relevance import plot_relevance
    from andicam.paper import CORRELATION_CELLS, PAPER

    fig = plot_relevance(_synthetic_relevance({"layer4": 225}))
    pooled = next(ax for ax in fig.axes if ax.get_title() == "pooled Pearson r")
    outlined = [p for p in pooled.patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert len(outlined) == len(CORRELATION_CELLS)
    texts = " ".join(t.get_text() for t in pooled.texts)
    for cls, stat in CORRELATION_CELLS:
        assert f"(paper {PAPER[f'corr_{cls}_{stat}'].value:+.2f})" in texts
    bars = [im.colorbar for ax in fig.axes for im in ax.images if im.colorbar is not None]
    assert [bar.extend for bar in bars] == ["max"]  # r = 0.55 passes the +0.4 limit, nothing passes -0.4
    within = next(ax for ax in fig.axes if ax.get_title().startswith("within"))
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    assert pooled.get_tightbbox(renderer).y0 >= within.get_tightbbox(renderer).y1  # no labels into the panel below


def test_block_relevance_orders_columns_by_merged_group() -> None:
    from andicam.plots.relevance import block_groups, plot_relevance_stages

    accuracy = pd.DataFrame({"cut": ["layer1"], "n_groups": [4], "eval_accuracy": [0.9],
                             "groups": ["SubFBM; SupFBM+SupLW; SubATTM+SubCTRW; SubSBM+SupSBM+BM"]})
    groups = block_groups(accuracy)
    assert groups["layer1"][3] == ["SubSBM", "SupSBM", "BM"]
    ax = plot_relevance_stages(_synthetic_relevance({"layer1": 13}), ["layer1"], groups=groups).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["SubFBM", "SupFBM", "SupLW", "SubATTM", "SubCTRW",
                                                             "SubSBM", "SupSBM", "BM"]
    assert len([line for line in ax.lines if line.get_color() == "white"]) == 3  # between the four groups
    assert block_groups(accuracy.drop(columns="groups")) == {}


def _synthetic_ablation() -> pd.DataFrame:
    """An ablation results table with made-up numbers: new errors 3 (SubFBM) or 250 (every other class)."""
    from andicam.ablation import MODES, RANDOM, RANDOM_STATISTIC

    rows = [{"mode": mode, "statistic": stat, "class": cls, "n": 500, "acc_before": 0.9, "acc_after": 0.8, "drop": 0.1,
             "n_new_errors": 3 if cls == "SubFBM" else 250, "top1_class": "SupSBM", "top1_share": 0.789}
            for mode in (*MODES, RANDOM) for stat in (STATISTICS if mode != RANDOM else [RANDOM_STATISTIC])
            for cls in CLASS_NAMES]
    return pd.DataFrame(rows)


def test_ablation_top1_greys_thin_cells_defines_abbreviations_and_keeps_text_in_cells() -> None:
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Rectangle

    from andicam.plots.relevance import MIN_NEW_ERRORS, plot_ablation_top1

    fig = plot_ablation_top1(_synthetic_ablation())
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    column = CLASS_NAMES.index("SubFBM")
    for ax in fig.axes[:2]:
        grey = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_fill()]
        assert len(grey) == len(STATISTICS) + 1  # the whole SubFBM column rests on 3 < 10 new errors
        assert all(p.get_x() == column - 0.5 and p.get_facecolor() == to_rgba("0.85") for p in grey)
        for text in ax.texts:  # each cell's text stays inside its cell
            j, i = text.get_position()
            cell = ax.transData.transform([(j - 0.5, i - 0.5), (j + 0.5, i + 0.5)])
            box = text.get_window_extent(renderer)
            assert cell[:, 0].min() <= box.x0 and box.x1 <= cell[:, 0].max()
            assert abs(box.y1 - box.y0) <= abs(cell[1, 1] - cell[0, 1])
    caption = fig._supxlabel.get_text().replace("\n", " ")
    assert all(f"{s}:" in caption for s in STATISTICS) and "SBM+ = SupSBM" in caption
    assert f"fewer than {MIN_NEW_ERRORS} new errors" in caption

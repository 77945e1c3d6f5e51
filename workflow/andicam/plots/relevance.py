"""Figures of the statistical relevance, block-wise heads and feature ablation (METHODS §4).

Every function takes the tidy tables written by ``andicam relevance`` /
``andicam ablation`` and returns a Figure; the commands save them.
"""

from __future__ import annotations

import textwrap
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from andicam.ablation import INDEPENDENCE_COLUMNS, MODES, RANDOM, RESULT_COLUMNS, summary_grid
from andicam.relevance import COLUMNS, correlation_grid
from andicam.stats import STATISTICS
from andicam.summary import heads_of
from andicam.paper import PAPER

R_LIMIT = 0.4  # colour range of correlation heatmaps, as the paper's
SHORT = {"SubATTM": "ATTM", "SubCTRW": "CTRW", "SubFBM": "sFBM", "SubSBM": "sSBM", "SupFBM": "FBM+",
         "SupLW": "LW", "SupSBM": "SBM+", "BM": "BM"}
# The statistics (METHODS §4, from the increments d of a window) and the control, as the ablation figure names them.
STATISTIC_TEXT = {"AC": "lag-1 autocorrelation of d", "CS": "AC x spread of turning angles",
                  "SG": "spread of |d[t+1]|/|d[t]| x kurtosis", "VD": "(sd of d, last - first quarter) / sd x kurtosis",
                  "random": "control: transplant at a random window"}
MIN_NEW_ERRORS = 10  # fewer new errors than this make the top class's share too noisy to read: greyed out
MODE_TITLE = {"for": "largest window removed (for)", "inverse": "smallest window removed (inverse)"}


def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = set(columns) - set(table.columns)
    if missing:
        raise ValueError(f"table lacks column(s) {', '.join(sorted(missing))}; is it {what}?")


def _heatmap(ax: plt.Axes, grid: pd.DataFrame, limit: float, cmap: str = "RdBu_r", fmt: str = "{:+.2f}",
             texts: pd.DataFrame | None = None, vmin: float | None = None, fontsize: float = 6.5):
    """Cells coloured by value in [vmin (default -limit), limit], each labelled (white text on dark cells)."""
    values = grid.to_numpy(dtype=float)
    im = ax.imshow(values, cmap=cmap, vmin=-limit if vmin is None else vmin, vmax=limit, aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            label = texts.iat[i, j] if texts is not None else ("" if not np.isfinite(v) else fmt.format(v))
            r, g, b, _ = im.cmap(im.norm(v)) if np.isfinite(v) else (1.0, 1.0, 1.0, 1.0)
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
            ax.text(j, i, label, ha="center", va="center", fontsize=fontsize, color="white" if dark else "black")
    ax.set_xticks(range(values.shape[1]), list(grid.columns), rotation=45, ha="right")
    ax.set_yticks(range(values.shape[0]), list(grid.index))
    return im


def _extend(values: np.ndarray, vmin: float, vmax: float) -> str:
    """The colour bar's ``extend``: an arrow at each end that some value passes."""
    finite = values[np.isfinite(values)]
    low, high = bool((finite < vmin).any()), bool((finite > vmax).any())
    return {(False, False): "neither", (True, False): "min", (False, True): "max", (True, True): "both"}[low, high]


def _paper_correlations(grid: pd.DataFrame) -> dict[tuple[int, int], float]:
    """(row, column) of the grid -> the paper's pooled Pearson r, for the cells the paper reports."""
    return {(i, j): PAPER[f"corr_{cls}_{stat}"].value for i, stat in enumerate(grid.index)
            for j, cls in enumerate(grid.columns) if f"corr_{cls}_{stat}" in PAPER}


def _mark_paper_cells(ax: plt.Axes, grid: pd.DataFrame) -> None:
    """Outline the cells the paper reports and write its value under this run's."""
    for (i, j), r in _paper_correlations(grid).items():
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", lw=1.6, label="paper"))
        v = grid.iat[i, j]
        text = next(t for t in ax.texts if t.get_position() == (j, i))
        text.set_text(f"{'' if not np.isfinite(v) else f'{v:+.2f}'}\n(paper {r:+.2f})")
        text.set_fontsize(5.5)


def plot_relevance(table: pd.DataFrame, stage: str = "layer4", method: str = "pearson",
                   title: str | None = None) -> plt.Figure:
    """Heatmap: correlation of the stage's Grad-CAM with each statistic (rows) per class (columns).

    Beside pooled Pearson, a second panel shows the within-trajectory (per-trajectory centred) Pearson r
    when the table has it: the pooled r also carries the between-trajectory confidence effect (a layer4
    map's mean is the logit), the within r only where along a trajectory the map is high.
    """
    _require(table, COLUMNS, "the output of `andicam relevance`")
    panels = [method]
    if method == "pearson" and ((table["stage"] == stage) & (table["method"] == "pearson_within")).any():
        panels.append("pearson_within")
    fig, axes = plt.subplots(len(panels), 1, figsize=(5.2, 2.8 * len(panels)), squeeze=False, sharex=True,
                             layout="constrained")
    window = int(table.loc[table["stage"] == stage, "window"].iloc[0])
    fig.suptitle(title or f"{stage} Grad-CAM vs window statistics (window {window} steps)", fontsize=9)
    im, values = None, []
    for ax, panel in zip(axes[:, 0], panels):
        grid = correlation_grid(table, stage, panel)
        im = _heatmap(ax, grid, R_LIMIT)
        values.append(grid.to_numpy(dtype=float).ravel())
        if panel == "pearson":  # the paper reports pooled Pearson r
            _mark_paper_cells(ax, grid)
            fig.supxlabel("outlined: the cells whose pooled Pearson r the paper reports (its value in brackets; "
                          "training set, test within 0.03); all its other cells |r| < 0.2", fontsize=6.5)
        ax.set_title({"pearson": "pooled Pearson r",
                      "pearson_within": "within-trajectory Pearson r (centred)",
                      "spearman": "pooled Spearman r"}[panel], fontsize=8)
        if ax is not axes[-1, 0]:
            ax.tick_params(axis="x", labelbottom=False)
    fig.colorbar(im, ax=list(axes[:, 0]), fraction=0.04, pad=0.02, label="r",
                 extend=_extend(np.concatenate(values), -R_LIMIT, R_LIMIT))
    return fig


def plot_relevance_stages(table: pd.DataFrame, stages: Sequence[str] | None = None, method: str = "pearson",
                          titles: dict[str, str] | None = None,
                          groups: Mapping[str, Sequence[Sequence[str]]] | None = None) -> plt.Figure:
    """One heatmap per stage (or per block head), sharing the +-0.4 colour range.

    With ``groups`` (stage -> the merged labels its head was trained on, see `block_groups`), a stage's
    class columns are ordered group by group, a white line between groups and the group named above.
    """
    _require(table, COLUMNS, "the output of `andicam relevance`")
    stages = list(stages) if stages else list(dict.fromkeys(table["stage"]))
    if not stages:
        raise ValueError("the table holds no stage")
    groups = groups or {}
    grouped = any(stage in groups for stage in stages)
    fig, axes = plt.subplots(len(stages), 1, figsize=(5.6, (2.6 if grouped else 2.0) * len(stages)), squeeze=False,
                             layout="constrained" if grouped else None)
    im, values = None, []
    for ax, stage in zip(axes[:, 0], stages):
        grid = correlation_grid(table, stage, method)
        if stage in groups:
            grid = grid[[c for group in groups[stage] for c in group if c in grid.columns]]
        im = _heatmap(ax, grid, R_LIMIT)
        values.append(grid.to_numpy(dtype=float).ravel())
        window = int(table.loc[table["stage"] == stage, "window"].iloc[0])
        ax.set_title((titles or {}).get(stage, f"{stage} (window {window} steps)"))
        if stage in groups:
            _group_columns(ax, list(grid.columns), groups[stage])
        elif ax is not axes[-1, 0] and not grouped:
            ax.set_xticklabels([])
    fig.colorbar(im, ax=list(axes[:, 0]), fraction=0.03, pad=0.02, label=f"{method} r",
                 extend=_extend(np.concatenate(values), -R_LIMIT, R_LIMIT))
    return fig


def _group_columns(ax: plt.Axes, columns: list[str], groups: Sequence[Sequence[str]]) -> None:
    """Separate the columns of each merged group by a white line and name the group on a top axis."""
    centres, names, j = [], [], 0
    for group in groups:
        members = [c for c in group if c in columns]
        if not members:
            continue
        if j:
            ax.axvline(j - 0.5, color="white", lw=3)
        centres.append(j + (len(members) - 1) / 2)
        names.append(" & ".join(SHORT.get(c, c) for c in members))
        j += len(members)
    top = ax.secondary_xaxis("top")
    top.set_xticks(centres, names, fontsize=6.5)
    top.tick_params(length=0)


def block_groups(accuracy: pd.DataFrame) -> dict[str, list[list[str]]]:
    """Cut -> its merged labels, read from the ``groups`` column of `andicam block-heads`' accuracy table
    ("SubFBM; SupFBM+SupLW; ..."); empty if the table has no such column."""
    if "groups" not in accuracy:
        return {}
    return {str(row.cut): [g.split("+") for g in str(row.groups).split("; ")]
            for row in heads_of(accuracy, "none").itertuples()}


def block_titles(accuracy: pd.DataFrame, table: pd.DataFrame) -> dict[str, str]:
    """Panel titles of the block heads: cut, number of groups, evaluation accuracy (ours; and of the heads on
    group-balanced undersamples, the paper's way, where the table has them), window."""
    _require(accuracy, ["cut", "n_groups", "eval_accuracy"], "the accuracy table of `andicam block-heads`")
    paper_way = heads_of(accuracy, "undersample")
    balanced = dict(zip(paper_way["cut"], paper_way["eval_accuracy"]))
    out = {}
    for row in heads_of(accuracy, "none").itertuples():
        windows = table.loc[table["stage"] == row.cut, "window"]
        win = f", window {int(windows.iloc[0])}" if len(windows) else ""
        bal = f" (balanced {100 * balanced[row.cut]:.1f} %)" if row.cut in balanced else ""
        out[row.cut] = f"head after {row.cut}: {row.n_groups} groups, acc. {100 * row.eval_accuracy:.1f} %{bal}{win}"
    return out


def plot_ablation_heatmap(results: pd.DataFrame) -> plt.Figure:
    """Accuracy drop (percentage points) per ablated statistic and class, both modes, random control last."""
    _require(results, RESULT_COLUMNS, "the results table of `andicam ablation`")
    grids = {m: 100 * summary_grid(results, m, "drop") for m in MODES}
    limit = max(5.0, float(np.nanmax([np.nanmax(np.abs(g.to_numpy(dtype=float))) for g in grids.values()])))
    fig, axes = plt.subplots(len(MODES), 1, figsize=(5.2, 4.6), squeeze=False)
    im = None
    for ax, mode in zip(axes[:, 0], MODES):
        im = _heatmap(ax, grids[mode], limit, fmt="{:+.1f}")
        ax.set_title(MODE_TITLE[mode])
        if ax is not axes[-1, 0]:
            ax.set_xticklabels([])
    fig.colorbar(im, ax=list(axes[:, 0]), fraction=0.03, pad=0.02, label="accuracy drop (pp)")
    return fig


def plot_ablation_top1(results: pd.DataFrame) -> plt.Figure:
    """Where the new errors go: the class receiving most of them (text) and its share (colour); a cell resting
    on fewer than ``MIN_NEW_ERRORS`` new errors is greyed out. The abbreviations are defined under the panels."""
    _require(results, RESULT_COLUMNS, "the results table of `andicam ablation`")
    fig, axes = plt.subplots(len(MODES), 1, figsize=(7.0, 5.6), squeeze=False, sharex=True, layout="constrained")
    im = None
    for ax, mode in zip(axes[:, 0], MODES):
        share = summary_grid(results, mode, "top1_share")
        top = summary_grid(results, mode, "top1_class")
        n_new = summary_grid(results, mode, "n_new_errors")
        texts = pd.DataFrame(
            [[f"{SHORT.get(str(t), str(t))}\n{100 * s:.0f}% of {int(k)}" if isinstance(t, str) and t and k > 0 else "-"
              for t, s, k in zip(top.iloc[i], share.iloc[i], n_new.iloc[i])] for i in range(len(top))],
            index=top.index, columns=top.columns)
        im = _heatmap(ax, share.astype(float), 1.0, cmap="viridis", texts=texts, vmin=0.0, fontsize=6)
        _grey_out(ax, n_new.to_numpy(dtype=float) < MIN_NEW_ERRORS)
        ax.set_title(f"{MODE_TITLE[mode]}: where the new errors go")
        if ax is not axes[-1, 0]:
            ax.tick_params(axis="x", labelbottom=False)
    fig.colorbar(im, ax=list(axes[:, 0]), fraction=0.03, pad=0.02, label="share of the new errors")
    fig.supxlabel(_abbreviations(), fontsize=6.5, ha="left", x=0.02)
    return fig


def _grey_out(ax: plt.Axes, mask: np.ndarray) -> None:
    """Cover the masked cells of a heatmap with grey and grey their text."""
    for i, j in zip(*np.nonzero(mask)):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="0.85", edgecolor="none", zorder=2))
    for text in ax.texts:
        j, i = text.get_position()
        if mask[int(round(i)), int(round(j))]:
            text.set_color("0.45")
            text.set_zorder(3)


def _abbreviations() -> str:
    """The feature and class abbreviations of the ablation figure, with the greying rule, as a caption."""
    stats = "; ".join(f"{k}: {v}" for k, v in STATISTIC_TEXT.items())
    classes = ", ".join(f"{short} = {name}" for name, short in SHORT.items() if short != name)
    return "\n".join(textwrap.wrap(f"rows: the statistic ablated ({stats}; d: the increments; kurtosis of each "
                                   f"quarter of the window).", 125)
                     + textwrap.wrap(f"cells: the class receiving most new errors ({classes}), its share of the new "
                                     f"errors and their number; grey: fewer than {MIN_NEW_ERRORS} new errors.", 125))


def plot_ablation_independence(independence: pd.DataFrame) -> plt.Figure:
    """Mean |change| of every statistic at the target window, in units of its spread, per ablated statistic."""
    _require(independence, INDEPENDENCE_COLUMNS, "the independence table of `andicam ablation`")
    fig, axes = plt.subplots(1, len(MODES), figsize=(6.4, 2.6), squeeze=False)
    grids = {}
    for mode in MODES:
        sub = independence[(independence["mode"] == mode) | (independence["mode"] == RANDOM)]
        sub = sub.assign(row=np.where(sub["mode"] == RANDOM, RANDOM, sub["statistic"]))
        grids[mode] = sub.pivot(index="row", columns="moved", values="mean_abs_change_sd").reindex(
            index=[*STATISTICS, RANDOM], columns=list(STATISTICS))
    limit = float(np.nanmax([np.nanmax(g.to_numpy(dtype=float)) for g in grids.values()]))
    im = None
    for ax, mode in zip(axes[0], MODES):
        im = _heatmap(ax, grids[mode], limit if limit > 0 else 1.0, cmap="magma_r", fmt="{:.2f}", vmin=0.0)
        ax.set_title(MODE_TITLE[mode], fontsize=8)
        ax.set_xlabel("statistic measured")
        if ax is axes[0, 0]:
            ax.set_ylabel("statistic ablated")
        else:
            ax.set_yticklabels([])
    fig.colorbar(im, ax=list(axes[0]), fraction=0.03, pad=0.02, label="mean |change| / sd")
    return fig

"""Figures built on Grad-CAM: erasing, layer response, map scale, t-SNE, examples."""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, PowerNorm

from andicam.dataio import CLASS_NAMES
from andicam.erasing_tables import (
    FILL_TEXT,
    FILLS,
    POSITIONS,
    POSITIONS_TEXT,
    control_differences,
    fill_of,
    positions_of,
    regime_of,
)
from andicam.model import STAGES
from andicam.paper import PAPER_DECILES, PAPER_RANDOM_CONTROL_MEAN
from andicam.plots.common import CLASS_COLORS

# The authors' code ran only the run-length-preserving random control: it is the paper's comparator (its
# 27.2 %); the uniform control is this workflow's addition.
PAPERS_CONTROL = "run_length"
CONTROL_STYLE = {"uniform": ("#555555", "random segments, uniform (added here, not the paper's)"),
                 "run_length": ("#e08214", "random segments, run lengths kept (the paper's control)")}


def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what} table lacks column(s) {', '.join(missing)}")


def _bin_labels(n_bins: int) -> list[str]:
    step = 100 / n_bins
    return [f"{b * step:g}-{(b + 1) * step:g}" for b in range(n_bins)]


def _erasing_panel(ax: plt.Axes, table: pd.DataFrame, cls: str) -> None:
    t = table[table["class"] == cls]
    bins = np.sort(t.loc[t["method"] == "gradcam", "bin"].unique())
    for method, (color, label) in CONTROL_STYLE.items():
        c = t[t["method"] == method]
        if c.empty:
            continue
        per_bin = c.groupby("bin")["accuracy"]
        mean, lo, hi = per_bin.mean().reindex(bins), per_bin.min().reindex(bins), per_bin.max().reindex(bins)
        n_seeds = c["seed"].nunique()
        ax.fill_between(bins, 100 * lo, 100 * hi, color=color, alpha=0.2, lw=0)
        ax.plot(bins, 100 * mean, color=color, ls="--", lw=1, label=f"{label}, mean and range of {n_seeds} seeds")
    g = t[t["method"] == "gradcam"].set_index("bin")["accuracy"].reindex(bins)
    ax.plot(bins, 100 * g, color="#b2182b", marker="o", ms=3, lw=1.5, label="Grad-CAM bin erased")
    base = t.loc[t["method"] == "none", "accuracy"]
    if not base.empty:
        ax.axhline(100 * base.iloc[0], color="k", lw=0.8, ls=":", label="nothing erased")
    ax.set_xticks(bins, _bin_labels(len(bins)), rotation=45, ha="right")
    ax.set_ylim(0, 100)


def plot_erasing(
    tables: pd.DataFrame | Sequence[pd.DataFrame],
    differences: pd.DataFrame | None | Sequence[pd.DataFrame | None] = None,
    main_regime: str | None = None,
) -> plt.Figure:
    """Accuracy (all classes) after erasing each Grad-CAM percentile bin, with the random controls, one
    column per erasing run (model regime, positions mode and fill: the main regime's, then zero's columns
    first, as before fills existed; a table without a ``regime`` column is the main run, of ``main_regime``,
    and the titles name regimes once one is known); below, Grad-CAM minus each matched control: with
    ``differences`` (``trajectory_bootstrap_differences``, one per table) its paired bootstrap interval over
    trajectories, else the range over control seeds. A run that ranked the padding too, as the paper's code
    did, also shows the paper's deciles."""
    tables = [tables] if isinstance(tables, pd.DataFrame) else list(tables)
    if not tables:
        raise ValueError("no erasing table to plot")
    if differences is None:
        differences = [None] * len(tables)
    elif isinstance(differences, pd.DataFrame):
        differences = [differences]
    differences = list(differences)
    if len(differences) != len(tables):
        raise ValueError(f"{len(tables)} erasing tables but {len(differences)} sets of differences")
    for table in tables:
        _require(table, ["bin", "method", "seed", "class", "accuracy", "n"], "erasing")
        if not (table["class"] == "all").any():
            raise ValueError("erasing table has no rows for class 'all'")
    modes = [positions_of(t) for t in tables]
    fills = [fill_of(t) for t in tables]
    regimes = [regime_of(t, main_regime) for t in tables]
    runs = list(zip(regimes, modes, fills))
    if len(set(runs)) != len(runs):
        raise ValueError(f"two erasing tables of the same positions and fill "
                         f"({', '.join(' '.join(filter(None, r)) for r in runs)})")
    regime_order = list(dict.fromkeys([main_regime, *regimes]))
    order = sorted(range(len(tables)), key=lambda i: (regime_order.index(regimes[i]), FILLS.index(fills[i]),
                                                      POSITIONS.index(modes[i])))
    fig, axes = plt.subplots(2, len(tables), figsize=(4.6 * len(tables), 5.4), sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": [2, 1]})
    for col, i in enumerate(order):
        _erasing_column(axes[0, col], axes[1, col], tables[i], differences[i], modes[i], fills[i], regimes[i])
    handles: dict[str, Any] = {}  # one legend entry per label over the columns
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="lower center", fontsize=7, frameon=False,
               ncol=min(len(tables), 2))
    fig.tight_layout(rect=(0, 0.15 if len(tables) == 1 else 0.1, 1, 1))
    return fig


def _erasing_column(ax: plt.Axes, dax: plt.Axes, table: pd.DataFrame, differences: pd.DataFrame | None,
                    mode: str, fill: str = "zero", regime: str | None = None) -> None:
    _erasing_panel(ax, table, "all")
    stage = table["stage"].iloc[0] if "stage" in table else "layer4"
    n = int(table.loc[table["class"] == "all", "n"].iloc[0])
    bins = np.sort(table.loc[table["method"] == "gradcam", "bin"].unique())
    papers = mode == "all" and fill == "zero" and regime in (None, "variable")  # computed as the paper's were
    if papers and len(bins) == len(PAPER_DECILES):
        ax.plot(bins, PAPER_DECILES, color="#2166ac", marker="s", ms=3, lw=0, label="paper's deciles (padding included)")
        ax.axhline(PAPER_RANDOM_CONTROL_MEAN, color=CONTROL_STYLE[PAPERS_CONTROL][0], lw=1.0, ls="-.",
                   label=f"paper's random control (run lengths kept), mean {PAPER_RANDOM_CONTROL_MEAN:g} %")
    ax.set_ylabel("accuracy (%)")
    # Zero-fill columns keep their title of before fills existed; another fill is named.
    filled = "" if fill == "zero" else f"; erased segments: {FILL_TEXT[fill]}"
    model = "" if regime is None else f", {regime}-length model"
    ax.set_title(f"Erasing segments, {n} trajectories{model}\n({POSITIONS_TEXT[mode]}{filled})", fontsize=9)
    if differences is None:
        diff = control_differences(table[table["class"] == "all"])
        band = "range over control seeds"
    else:
        diff = differences[differences["class"] == "all"]
        band = "95 % " + str(diff["ci_method"].iloc[0])
    for control, d in diff.groupby("control"):
        color, label = CONTROL_STYLE[str(control)]
        d = d.sort_values("bin")
        dax.fill_between(d["bin"], 100 * d["low"], 100 * d["high"], color=color, alpha=0.2, lw=0)
        dax.plot(d["bin"], 100 * d["mean"], color=color, marker="o", ms=3, lw=1.2)
    dax.axhline(0, color="k", lw=0.8)
    dax.set_ylabel("Grad-CAM - control\n(points)")
    dax.set_title(f"band: {band}", fontsize=7)
    dax.set_xlabel(f"percentile bin of the trajectory's own {stage} Grad-CAM (%)")
    dax.set_xticks(bins, _bin_labels(len(bins)), rotation=45, ha="right")
    ax.tick_params(axis="x", labelbottom=False)


def plot_erasing_by_class(table: pd.DataFrame) -> plt.Figure:
    """The erasing curves per true class, 2 x 4 panels, titled with the positions mode of the table's run."""
    _require(table, ["bin", "method", "seed", "class", "accuracy", "n"], "erasing")
    fig, axes = plt.subplots(2, 4, figsize=(10, 5), sharex=True, sharey=True)
    mode = positions_of(table)
    fig.suptitle(f"Erasing per true class: {POSITIONS_TEXT[mode]} ranked and erased (the {mode!r} positions run)")
    for ax, cls in zip(axes.flat, CLASS_NAMES):
        if (table["class"] == cls).any():
            _erasing_panel(ax, table, cls)
            n = int(table.loc[table["class"] == cls, "n"].iloc[0])
            ax.set_title(f"{cls} (n = {n})", color=CLASS_COLORS[cls])
        else:
            ax.set_title(f"{cls} (no data)")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy (%)")
    for ax in axes[1]:
        ax.set_xlabel("Grad-CAM percentile bin (%)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, frameon=False, bbox_to_anchor=(0.5, -0.06))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def plot_erasing_by_length(tables: pd.DataFrame | Sequence[pd.DataFrame]) -> plt.Figure:
    """The erasing curves (all classes) per trajectory-length bin, as ``andicam erasing --by-length`` wrote
    them: one column per length bin, one row per table (run; zero's first). A decile of a short trajectory
    is one or two segments that may hold all of it, of a long one three of 32: the pooled curve mixes them."""
    tables = [tables] if isinstance(tables, pd.DataFrame) else list(tables)
    if not tables:
        raise ValueError("no erasing by-length table to plot")
    for table in tables:
        _require(table, ["length_bin", "bin", "method", "seed", "accuracy", "n"], "erasing by length")
        if table.empty:
            raise ValueError("erasing by-length table has no rows")
    runs = [(positions_of(t), fill_of(t)) for t in tables]
    if len(set(runs)) != len(runs):
        raise ValueError("two erasing by-length tables of the same positions and fill")
    order = sorted(range(len(tables)), key=lambda i: (FILLS.index(runs[i][1]), POSITIONS.index(runs[i][0])))
    labels = list(dict.fromkeys(label for t in tables for label in t["length_bin"]))  # shortest first
    fig, axes = plt.subplots(len(tables), len(labels), figsize=(3.2 * len(labels), 0.6 + 2.9 * len(tables)),
                             sharey=True, sharex=True, squeeze=False)
    for row, i in enumerate(order):
        mode, fill = runs[i]
        for col, label in enumerate(labels):
            ax = axes[row, col]
            part = tables[i][tables[i]["length_bin"] == label].assign(**{"class": "all"})
            if part.empty:
                ax.set_title(f"length {label} (no data)", fontsize=8)
                continue
            _erasing_panel(ax, part, "all")
            ax.set_title(f"length {label} (n = {int(part['n'].iloc[0])})\n{POSITIONS_TEXT[mode]}, "
                         f"erased: {FILL_TEXT[fill]}", fontsize=8)
        axes[row, 0].set_ylabel("accuracy (%)")
    for ax in axes[-1]:
        ax.set_xlabel("Grad-CAM percentile bin (%)")
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, name in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(name, handle)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.5 / (0.6 + 2.9 * len(tables)) + 0.04, 1, 1))
    return fig


def plot_layer_response(responses: dict[str, np.ndarray], windows: pd.DataFrame) -> plt.Figure:
    """Heatmap per stage of the response of every output position to an impulse at every input step."""
    _require(windows, ["stage", "position", "width", "start", "end"], "window")
    fig, axes = plt.subplots(1, len(responses), figsize=(3 * len(responses), 3.0), squeeze=False)
    for ax, (stage, resp) in zip(axes[0], responses.items()):
        scale = resp.max() if resp.max() > 0 else 1.0
        im = ax.imshow((resp / scale).T, aspect="auto", origin="lower", cmap="viridis",
                       norm=PowerNorm(0.5, vmin=0, vmax=1), extent=(-0.5, resp.shape[0] - 0.5, -0.5, resp.shape[1] - 0.5),
                       interpolation="nearest")
        w = windows[windows["stage"] == stage]
        if not w.empty:
            row = w.iloc[0]
            ax.plot([row["start"], row["end"]], [row["position"]] * 2, color="w", lw=1.2)
            ax.set_title(f"{stage}: window {int(row['width'])} steps")
        else:
            ax.set_title(stage)
        ax.set_xlabel("impulse at input step")
    axes[0, 0].set_ylabel("output position")
    fig.colorbar(im, ax=axes[0].tolist(), label="response / max (square-root scale)", fraction=0.02, pad=0.01)
    fig.text(0.45, -0.1, _window_note(windows), ha="center", va="top", fontsize=7, wrap=True)
    return fig


def _window_note(windows: pd.DataFrame) -> str:
    """What the titles' window is, in words (the threshold as the table records it)."""
    threshold = float(windows["threshold"].iloc[0]) if "threshold" in windows and len(windows) else 0.5
    half = " (the full width at half maximum)" if threshold == 0.5 else ""
    return (f"window: the span of input steps, first to last, at which the response of the stage's central output "
            f"position (white line) exceeds {100 * threshold:g} % of its largest value{half}")


def plot_gradcam_scale(table: pd.DataFrame) -> plt.Figure:
    """Autocorrelation length of the Grad-CAM maps per stage and class, in input steps and in positions."""
    _require(table, ["stage", "class", "stride", "length_positions", "length_steps"], "scale")
    stages = [s for s in STAGES if s in set(table["stage"])]
    x = np.arange(len(stages))
    fig, (ax_steps, ax_pos) = plt.subplots(1, 2, figsize=(8, 3.3))
    for cls in [*CLASS_NAMES, "all"]:
        t = table[table["class"] == cls].set_index("stage").reindex(stages)
        if t["length_steps"].isna().all():
            continue
        style = dict(color="k", lw=2, marker="s", ms=4) if cls == "all" else dict(color=CLASS_COLORS[cls], lw=1,
                                                                                  marker="o", ms=3)
        ax_steps.plot(x, t["length_steps"], label=cls, **style)
        ax_pos.plot(x, t["length_positions"], **style)
    strides = table.drop_duplicates("stage").set_index("stage").reindex(stages)["stride"]
    ax_steps.plot(x, strides, color="grey", ls=":", lw=1, label="one position (stride)")
    ax_steps.set_yscale("log", base=2)
    ax_steps.set_ylabel("autocorrelation length (input steps)")
    ax_pos.set_ylabel("autocorrelation length (positions)")
    ax_steps.set_title("in input steps")
    ax_pos.set_title("in positions of the stage")
    for ax in (ax_steps, ax_pos):
        ax.set_xticks(x, stages)
    ax_steps.legend(fontsize=6.5, ncol=2)
    fig.tight_layout()
    return fig


def plot_tsne(table: pd.DataFrame) -> plt.Figure:
    """1 x 4 panels: t-SNE of the pooled features after each stage, coloured by true class."""
    _require(table, ["stage", "label", "x", "y"], "t-SNE")
    stages = [s for s in STAGES if s in set(table["stage"])]
    fig, axes = plt.subplots(1, len(stages), figsize=(3 * len(stages), 3.2), squeeze=False)
    for ax, stage in zip(axes[0], stages):
        t = table[table["stage"] == stage]
        for k, cls in enumerate(CLASS_NAMES):
            c = t[t["label"] == k]
            ax.scatter(c["x"], c["y"], s=2, color=CLASS_COLORS[cls], label=cls, lw=0, rasterized=True)
        ax.set_title(f"after {stage}")
        ax.set_xticks([])
        ax.set_yticks([])
    n = int((table["stage"] == stages[0]).sum())
    handles = [plt.Line2D([], [], marker="o", ls="", color=CLASS_COLORS[c], label=c) for c in CLASS_NAMES]
    fig.legend(handles=handles, loc="lower center", ncol=8, fontsize=7, frameon=False, bbox_to_anchor=(0.5, -0.05))
    fig.suptitle(f"t-SNE of globally pooled features, {n} trajectories", y=1.0)
    fig.tight_layout()
    return fig


def plot_gradcam_examples(
    trajectories: Sequence[np.ndarray], labels: Sequence[int], maps: Sequence[dict[str, np.ndarray]]
) -> plt.Figure:
    """One row per example (class), one column per stage: the 2-D path coloured by its Grad-CAM.

    ``trajectories[i]`` is (2, L); ``maps[i][stage]`` is (L,), the stage's map upsampled to the input
    steps the trajectory occupies. Each panel's colours span +-max|map| of that panel (sign kept).
    """
    stages = list(maps[0]) if maps else []
    fig, axes = plt.subplots(len(trajectories), len(stages), figsize=(2.1 * len(stages), 2.0 * len(trajectories)),
                             squeeze=False)
    norm = Normalize(-1, 1)
    for row, (xy, label, m) in enumerate(zip(trajectories, labels, maps)):
        points = xy.T.reshape(-1, 1, 2)  # (L, 1, 2)
        segments = np.concatenate([points[:-1], points[1:]], axis=1)  # (L-1, 2, 2)
        for col, stage in enumerate(stages):
            ax = axes[row, col]
            values = m[stage][:-1]
            scale = np.abs(values).max() if values.size and np.abs(values).max() > 0 else 1.0
            lc = LineCollection(segments, array=values / scale, cmap="coolwarm", norm=norm, lw=1.0)
            ax.add_collection(lc)
            ax.autoscale()
            ax.set_aspect("equal", adjustable="datalim")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(stage)
            if col == 0:
                ax.set_ylabel(CLASS_NAMES[int(label)], color=CLASS_COLORS[CLASS_NAMES[int(label)]])
    if stages:
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="coolwarm"), ax=axes.ravel().tolist(), fraction=0.02,
                     pad=0.01, label="Grad-CAM / max |Grad-CAM| of the panel")
    return fig

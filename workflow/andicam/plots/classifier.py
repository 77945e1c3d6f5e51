"""Figures of the classifier stage: confusion matrices, class share vs alpha, accuracy vs depth, training curves."""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from andicam.dataio import CLASS_NAMES
from andicam.evaluate import confusion_matrix, row_normalise
from andicam.plots.common import CLASS_COLORS
from andicam.paper import PAPER_ACCURACY

PAPER_DEPTH = 18  # the paper trained ResNet-18 only (METHODS §2)

ALPHA_BIN = 0.05  # METHODS §4: alpha binned in 0.05-wide bins


def confusion(labels: np.ndarray, predicted: np.ndarray, title: str | None = None) -> plt.Figure:
    """Row-normalised confusion matrix (true class per row) with the percentage written in every cell."""
    counts = confusion_matrix(labels, predicted, len(CLASS_NAMES))
    share = 100 * row_normalise(counts)  # (C, C) percent of each true class
    fig, ax = plt.subplots(figsize=(5.6, 5.0), layout="constrained")
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=100)
    for i in range(share.shape[0]):
        for j in range(share.shape[1]):
            if np.isnan(share[i, j]):
                continue
            # White text where the cell is dark enough that black would vanish.
            ax.text(j, i, f"{share[i, j]:.1f}", ha="center", va="center", fontsize=7,
                    color="white" if share[i, j] > 60 else "black")
    ticks = np.arange(len(CLASS_NAMES))
    ax.set_xticks(ticks, CLASS_NAMES, rotation=45, ha="right")
    ax.set_yticks(ticks, CLASS_NAMES)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = float(np.trace(counts) / counts.sum())
    ax.set_title(f"{title + ': ' if title else ''}accuracy {100 * accuracy:.1f} % (n = {counts.sum()})")
    fig.colorbar(image, ax=ax, shrink=0.8, label="% of the true class")
    return fig


def class_shares(frame: pd.DataFrame, label: int, width: float = ALPHA_BIN) -> pd.DataFrame:
    """For one true class: per alpha bin (rows, by bin centre) the fraction predicted as each class (columns)."""
    rows = frame[frame["label"] == label]
    # The small offset keeps alphas that sit on a bin edge (0.1 stored as float32) in the bin they start.
    bins = np.floor(rows["alpha"].to_numpy() / width + 1e-6).astype(np.int64)
    table = pd.crosstab(bins, rows["predicted"].to_numpy()).reindex(columns=range(len(CLASS_NAMES)), fill_value=0)
    table = table.div(table.sum(axis=1), axis=0)
    table.index = (table.index.to_numpy() + 0.5) * width
    table.columns = list(CLASS_NAMES)
    return table


def class_share_vs_alpha(frame: pd.DataFrame, title: str | None = None) -> plt.Figure:
    """Per true class, stacked shares of the predicted classes against alpha; a class with one alpha bin is a bar."""
    fig, axes = plt.subplots(2, 4, figsize=(12, 5.6), sharey=True, layout="constrained")
    colors = [CLASS_COLORS[name] for name in CLASS_NAMES]
    for label, (name, ax) in enumerate(zip(CLASS_NAMES, axes.flat)):
        n = int((frame["label"] == label).sum())
        ax.set_title(f"true {name} (n = {n})")
        ax.set_ylim(0, 1)
        if n == 0:
            ax.text(0.5, 0.5, "no trajectories", ha="center", va="center", transform=ax.transAxes)
            continue
        shares = class_shares(frame, label)
        centres = shares.index.to_numpy()
        if len(shares) == 1:
            # One bin (BM: alpha = 1): a stacked bar at the class's alpha rather than at the bin centre.
            x = float(frame.loc[frame["label"] == label, "alpha"].mean())
            bottom = 0.0
            for cls, color in zip(CLASS_NAMES, colors):
                share = float(shares[cls].iloc[0])
                ax.bar([x], [share], width=0.6 * ALPHA_BIN, bottom=bottom, color=color)
                bottom += share
            ax.set_xlim(x - 2 * ALPHA_BIN, x + 2 * ALPHA_BIN)
            ax.set_xlabel("alpha")
            continue
        else:
            ax.stackplot(centres, shares.to_numpy().T, colors=colors)
            ax.set_xlim(centres[0], centres[-1])
        ax.set_xlabel("alpha (bin centre)")
    for ax in axes[:, 0]:
        ax.set_ylabel("share of predictions")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors]
    fig.legend(handles, CLASS_NAMES, loc="outside lower center", ncol=8, title="predicted class")
    if title:
        fig.suptitle(title)
    return fig


def depth_records(metrics: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Evaluation metrics (from ``andicam evaluate``) -> one row per model: regime, depth, seed, accuracy, macro_f1."""
    rows = []
    for m in metrics:
        model = m["model"]
        rows.append({"regime": model.get("tags", {}).get("regime", "all"), "depth": int(model["depth"]),
                     "seed": model.get("seed"), "accuracy": float(m["accuracy"]), "macro_f1": float(m["macro_f1"])})
    return pd.DataFrame(rows, columns=["regime", "depth", "seed", "accuracy", "macro_f1"])


def depth_summary(records: pd.DataFrame) -> pd.DataFrame:
    """Per regime and depth: number of seeds, mean and sample standard deviation of the accuracy."""
    grouped = records.groupby(["regime", "depth"])["accuracy"]
    return grouped.agg(n_seeds="count", mean="mean", std="std").reset_index()


def accuracy_vs_depth(records: pd.DataFrame) -> plt.Figure:
    """Test accuracy against depth per regime: every seed a small point, the mean with +-1 SD over seeds
    (written beside it, so that a run of one depth still reads), and the paper's ResNet-18 accuracy of the
    regime a dashed line with a star at depth 18."""
    if records.empty:
        raise ValueError("accuracy_vs_depth needs at least one model")
    depths = sorted(records["depth"].unique())
    regimes = sorted(records["regime"].unique())
    summary = depth_summary(records)
    fig, ax = plt.subplots(figsize=(4.8, 3.6), layout="constrained")
    offsets = np.linspace(-0.15, 0.15, len(regimes)) if len(regimes) > 1 else np.zeros(1)
    for k, (regime, offset) in enumerate(zip(regimes, offsets)):
        color = f"C{k}"
        rec = records[records["regime"] == regime]
        pos = np.array([depths.index(d) for d in rec["depth"]]) + offset
        ax.plot(pos, 100 * rec["accuracy"], "o", ms=3.5, alpha=0.45, color=color, mec="none")
        s = summary[summary["regime"] == regime]
        pos = np.array([depths.index(d) for d in s["depth"]]) + offset
        ax.errorbar(pos, 100 * s["mean"], yerr=100 * s["std"].fillna(0), fmt="s-", ms=6, capsize=3, color=color,
                    label=f"{regime} (mean +- SD over seeds)")
        for x, row in zip(pos, s.itertuples()):
            spread = f" +- {100 * row.std:.1f}" if row.n_seeds > 1 else ""
            ax.annotate(f"{100 * row.mean:.1f}{spread} %\n(n = {row.n_seeds})", (x, 100 * row.mean),
                        xytext=(8, 0), textcoords="offset points", va="center", fontsize=6.5, color=color)
        _paper_reference(ax, regime, depths, offset, color)
    ax.set_xticks(range(len(depths)), [str(d) for d in depths])
    ax.set_xlim(-0.5, len(depths) - 0.5)
    ax.set_xlabel("ResNet depth")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=7)
    return fig


def _paper_reference(ax: plt.Axes, regime: str, depths: list[int], offset: float, color: str) -> None:
    """The paper's accuracy of ``regime`` (it trained depth 18 only): a dashed line, a star where depth 18 is."""
    paper = PAPER_ACCURACY.get(regime)
    if paper is None:
        return
    ax.axhline(paper, color=color, ls="--", lw=0.8, label=f"paper, {regime}, ResNet-{PAPER_DEPTH}: {paper:.2f} %")
    if PAPER_DEPTH in depths:
        ax.plot([depths.index(PAPER_DEPTH) + offset], [paper], "*", ms=9, color=color, mec="k", mew=0.5)


def training_curves(histories: Sequence[tuple[str, pd.DataFrame]]) -> plt.Figure:
    """Loss and accuracy per epoch, training (solid) and validation (dashed), one colour per run."""
    if not histories:
        raise ValueError("training_curves needs at least one history")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for k, (label, h) in enumerate(histories):
        color = f"C{k % 10}"
        ax_loss.plot(h["epoch"], h["train_loss"], "-", color=color, label=label)
        ax_loss.plot(h["epoch"], h["val_loss"], "--", color=color)
        ax_acc.plot(h["epoch"], 100 * h["train_acc"], "-", color=color)
        ax_acc.plot(h["epoch"], 100 * h["val_acc"], "--", color=color)
    ax_loss.set_yscale("log")  # the loss falls over decades; a linear axis flattens all but the first epochs
    ax_loss.set_ylabel("cross-entropy loss (log scale)")
    ax_acc.set_ylabel("accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_acc.plot([], [], "k-", label="training")
    ax_acc.plot([], [], "k--", label="validation")
    ax_acc.legend(fontsize=7)
    ax_loss.legend(fontsize=7, ncol=2 if len(histories) > 6 else 1)
    return fig

"""Figures of the noise-robust retraining experiment, drawn from ``augment-aggregate``'s summary."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from andicam.augment import ARMS, BASELINE, BEYOND_CONFIDENCE, DIFFERENCE, PAPER_ARMS, VERSUS_RANDOM
from andicam.dataio import CLASS_NAMES
from andicam.paper import AUGMENT_SETUPS

# Noise is added to trajectories normalised to unit-variance steps (METHODS §1), so sigma is in step SDs.
SIGMA_LABEL = r"localisation noise $\sigma$ (in units of the step standard deviation)"
BAND = r"line: mean over retraining seeds; band: $\pm$1 SE over them"

ARM_STYLE: dict[str, dict[str, str]] = {
    "targeted": {"color": "#d62728", "linestyle": "-", "label": "Grad-CAM targeted"},
    "random": {"color": "#1f77b4", "linestyle": "-", "label": "random"},
    "targeted_layer3": {"color": "#2ca02c", "linestyle": "-", "label": "layer3 time-mean"},
    "targeted_peak": {"color": "#9467bd", "linestyle": "-", "label": "layer4 peak"},
    "most_probable": {"color": "#8c564b", "linestyle": "-", "label": "most probable (softmax)"},
    "least_confident": {"color": "#ff7f0e", "linestyle": "-", "label": "least confident"},
    BASELINE: {"color": "#7f7f7f", "linestyle": "--", "label": "no augmentation"},
}


def _check(summary: pd.DataFrame) -> None:
    missing = {"arm", "sigma", "metric", "n", "mean", "se", "ci_low", "ci_high"} - set(summary.columns)
    if missing:
        raise ValueError(f"summary lacks column(s) {', '.join(sorted(missing))}; is it augment-aggregate's output?")
    if not set(summary["arm"]) & {*PAPER_ARMS, BASELINE}:
        raise ValueError("summary holds no arm to plot")


def _arm_lines(ax: plt.Axes, summary: pd.DataFrame, metric: str, arms: tuple[str, ...] = PAPER_ARMS) -> None:
    """Mean (in %) against sigma per arm, with a +-1 standard-error band where there are several seeds."""
    for arm in (BASELINE, *arms):
        rows = summary[(summary["arm"] == arm) & (summary["metric"] == metric)].sort_values("sigma")
        if rows.empty:
            continue
        style = ARM_STYLE[arm]
        n = int(rows["n"].max())
        mean = 100 * rows["mean"].to_numpy()
        se = 100 * rows["se"].to_numpy()
        ax.plot(rows["sigma"], mean, marker="o", markersize=2.5, color=style["color"],
                linestyle=style["linestyle"], label=f"{style['label']} (n={n})")
        if np.isfinite(se).any():
            ax.fill_between(rows["sigma"], mean - se, mean + se, color=style["color"], alpha=0.2, linewidth=0)


def _paper_points(ax: plt.Axes, draw: str = "with_replacement", arms: tuple[str, ...] = PAPER_ARMS) -> None:
    """The paper's accuracy of each of its arms in the set-up ``draw`` runs (METHODS §6.1), at true sigma: open
    diamonds with +-1 SE bars (its +-, the SE over its models); nothing for a draw of neither of its set-ups."""
    setup = AUGMENT_SETUPS.get(draw)
    if setup is None:
        return
    for arm in arms:
        points = [(p.sigma, *getattr(p, arm)) for p in setup.points]
        sigma, mean, se = (np.array(v) for v in zip(*points))
        color = ARM_STYLE[arm]["color"]
        ax.errorbar(sigma, mean, yerr=se, fmt="D", markersize=4, markerfacecolor="none", markeredgecolor=color,
                    ecolor=color, elinewidth=0.8, capsize=1.5, zorder=3,
                    label=f"paper set-up {setup.name}, {ARM_STYLE[arm]['label']} ({setup.n_models} models, +-1 SE)")


# Where plot_noise may put its inset, in axes fractions: accuracy falls with sigma, so both corners are free of a
# curve that falls evenly; a curve that falls steeply at small sigma (set-up V) crosses the bottom left.
INSET_CORNERS: tuple[tuple[float, float, float, float], ...] = ((0.1, 0.09, 0.38, 0.3), (0.58, 0.6, 0.38, 0.3))


def _free_corner(ax: plt.Axes) -> tuple[float, float, float, float]:
    """The corner of ``INSET_CORNERS`` that covers the fewest of the plotted points (lines and the paper's
    markers), the first on a tie."""
    ax.get_xlim(), ax.get_ylim()  # settle the autoscaled limits, which transData maps through
    to_axes = ax.transData + ax.transAxes.inverted()
    inside = to_axes.transform(np.vstack([np.empty((0, 2)), *(line.get_xydata() for line in ax.get_lines())]))

    def covered(box: tuple[float, float, float, float]) -> int:
        x, y, w, h = box
        return int(((inside[:, 0] >= x) & (inside[:, 0] <= x + w) & (inside[:, 1] >= y) &
                    (inside[:, 1] <= y + h)).sum())

    return min(INSET_CORNERS, key=covered)


def plot_noise(summary: pd.DataFrame, draw: str = "with_replacement") -> plt.Figure:
    """Accuracy against noise sigma per arm (mean +- SE), inset: targeted minus random with its 95 % paired t CI;
    the paper's points of the set-up ``draw`` runs."""
    _check(summary)
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    _arm_lines(ax, summary, "accuracy")
    _paper_points(ax, draw)
    ax.set_xlabel(SIGMA_LABEL)
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=7, title=BAND,
              title_fontsize=7)
    diff = summary[(summary["arm"] == DIFFERENCE) & (summary["metric"] == "accuracy")].sort_values("sigma")
    if not diff.empty:
        inset = ax.inset_axes(_free_corner(ax))
        inset.axhline(0, color="black", linewidth=0.6)
        inset.fill_between(diff["sigma"], 100 * diff["ci_low"], 100 * diff["ci_high"], color="#555555", alpha=0.25,
                           linewidth=0)
        inset.plot(diff["sigma"], 100 * diff["mean"], marker="o", markersize=2, color="black")
        inset.set_title("targeted $-$ random (pp; 95 % paired t CI)", fontsize=6, pad=2)
        inset.tick_params(labelsize=6)
    return fig


def plot_by_class(summary: pd.DataFrame) -> plt.Figure:
    """Recall of each class against noise sigma per arm (mean +- SE), one panel per class (2 x 4)."""
    _check(summary)
    fig, axes = plt.subplots(2, 4, figsize=(9.5, 4.6), sharex=True, sharey=True)
    for ax, name in zip(axes.flat, CLASS_NAMES):
        _arm_lines(ax, summary, f"recall_{name}")
        ax.set_title(name)
        ax.set_ylim(0, 101)
    for ax in axes[1]:
        ax.set_xlabel(r"noise $\sigma$ (step SDs)")
    for ax in axes[:, 0]:
        ax.set_ylabel("recall (%)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.04),
               title=BAND, title_fontsize=7)
    fig.tight_layout()
    return fig


def _difference_lines(ax: plt.Axes, acc: pd.DataFrame, pairs: Sequence[tuple[str, str]], ylabel: str) -> None:
    """Each ``arm - reference`` of ``pairs`` that ran: mean paired difference over seeds and its 95 % t band."""
    ax.axhline(0, color="black", linewidth=0.6)
    for arm, ref in pairs:
        diff = acc[acc["arm"] == f"{arm}-{ref}"].sort_values("sigma")
        if diff.empty:
            continue
        style = ARM_STYLE[arm]
        ax.fill_between(diff["sigma"], 100 * diff["ci_low"], 100 * diff["ci_high"], color=style["color"],
                        alpha=0.15, linewidth=0)
        ax.plot(diff["sigma"], 100 * diff["mean"], marker="o", markersize=2.5, color=style["color"],
                label=f"{style['label']} (n={int(diff['n'].max())} pairs)")
    ax.set_xlabel(SIGMA_LABEL)
    ax.set_ylabel(ylabel)
    ax.set_title("mean paired difference over seeds; band: 95 % paired t CI", fontsize=7)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=6)


def plot_arms(summary: pd.DataFrame, draw: str = "with_replacement") -> plt.Figure:
    """Every arm that ran: accuracy against sigma (mean +- SE), each arm minus random, paired by seed (95 % t CI),
    and, where a Grad-CAM arm (targeted, targeted_layer3, targeted_peak) ran beside most_probable, each minus
    most_probable."""
    _check(summary)
    acc = summary[summary["metric"] == "accuracy"]
    beyond = [pair for pair in BEYOND_CONFIDENCE if (acc["arm"] == "-".join(pair)).any()]
    fig, axes = plt.subplots(1, 3 if beyond else 2, figsize=(13.0 if beyond else 9.0, 3.6))
    left = axes[0]
    _arm_lines(left, summary, "accuracy", ARMS)
    _paper_points(left, draw)
    left.set_xlabel(SIGMA_LABEL)
    left.set_ylabel("test accuracy (%)")
    left.legend(frameon=False, fontsize=6, title=BAND, title_fontsize=6)
    _difference_lines(axes[1], acc, VERSUS_RANDOM, "arm $-$ random (points)")
    if beyond:
        _difference_lines(axes[2], acc, beyond, "arm $-$ most probable (points)")
        # in the title, where no line can run over it
        axes[2].set_title("the Grad-CAM arms beyond confidence; band: 95 % paired t CI", fontsize=7)
    fig.tight_layout()
    return fig

"""Figure of the scaling study: test accuracy against training samples x epochs, per width."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import NullFormatter

from andicam.paper import PAPER_ACCURACY
from andicam.scaling import scaling_summary

SPREAD = "small points: single models; line: mean over seeds;\nerror bars: $\\pm$1 SD over seeds (where > 1 seed)"


def scaling_figure(records: pd.DataFrame) -> plt.Figure:
    """One panel per regime. Every model a small point; per width (colour) and epoch count (line style) the
    mean over seeds, joined across training sizes, with +-1 SD over seeds as error bars where several seeds
    ran; the paper's accuracy of the regime a dashed line."""
    summary = scaling_summary(records)
    regimes = sorted(records["regime"].unique())
    widths = sorted(records["width"].unique())
    epochs = sorted(records["epochs"].unique())
    styles = ["-", "--", ":", "-."]
    # the y axis starts a little under the weakest model (at 0 when one is near chance), so gaps of a point show
    y_low = max(0.0, 10.0 * ((float(records["accuracy"].min()) - 5.0) // 10.0))
    fig, axes = plt.subplots(1, len(regimes), figsize=(4.6 * len(regimes), 3.6), layout="constrained",
                             squeeze=False, sharey=True)
    for ax, regime in zip(axes[0], regimes):
        rec = records[records["regime"] == regime]
        for k, width in enumerate(widths):
            color = f"C{k}"
            for j, n_epochs in enumerate(epochs):
                pts = rec[(rec["width"] == width) & (rec["epochs"] == n_epochs)]
                if pts.empty:
                    continue
                ax.plot(pts["samples_x_epochs"], pts["accuracy"], "o", ms=3, alpha=0.45, color=color, mec="none")
                s = summary[(summary["regime"] == regime) & (summary["width"] == width)
                            & (summary["epochs"] == n_epochs)]
                depth = ", ".join(f"depth {d}" for d in sorted(s["depth"].unique()))
                seeds = "-".join(str(n) for n in sorted({int(s["n_seeds"].min()), int(s["n_seeds"].max())}))
                ax.plot(s["samples_x_epochs"], s["accuracy"], styles[j % len(styles)], marker="o", ms=4,
                        color=color, label=f"width {width}, {n_epochs} epochs ({depth}; {seeds} seeds)")
                _seed_spread(ax, s, color)
        # the training size once per position on the x axis (every width shares them), along the bottom
        sizes = summary[summary["regime"] == regime].groupby("samples_x_epochs")["per_class"].unique()
        for x, per_class in sizes.items():
            ax.annotate(" / ".join(f"{n:,}" for n in sorted(per_class)), (x, 0.02),
                        xycoords=("data", "axes fraction"), ha="center", fontsize=6.5, color="0.3")
        paper = PAPER_ACCURACY[regime]
        ax.axhline(paper, color="k", ls="--", lw=0.9)
        ax.text(0.02, paper, f" paper {paper:.1f} % (400,000 trajectories)", transform=ax.get_yaxis_transform(),
                va="bottom", fontsize=7)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short log range run into each other
        ax.margins(x=0.08)
        ax.set_ylim(y_low, 100)
        if y_low < 12.5:
            ax.axhline(12.5, color="0.6", ls=":", lw=0.8)
            ax.text(0.02, 12.5, " chance", transform=ax.get_yaxis_transform(), va="bottom", fontsize=7, color="0.4")
        ax.set_xlabel("training samples x epochs")
        ax.set_title(f"{regime} length (at the bottom: training trajectories per class)")
        ax.grid(alpha=0.3, which="both", lw=0.4)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][-1].legend(fontsize=7, loc="lower right", bbox_to_anchor=(1, 0.07),  # above the size labels
                       title=SPREAD, title_fontsize=7)
    return fig


def _seed_spread(ax: plt.Axes, summary: pd.DataFrame, color: str) -> None:
    """+-1 SD over seeds as error bars, at the grid points trained with more than one seed."""
    several = summary[summary["n_seeds"] > 1]
    if not several.empty:
        ax.errorbar(several["samples_x_epochs"], several["accuracy"], yerr=several["accuracy_sd"], fmt="none",
                    ecolor=color, elinewidth=1.0, capsize=3)

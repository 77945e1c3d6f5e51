"""Figure of the noise-robust classifier against the paper's noiseless one (``andicam.robust``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

KIND_STYLE = {"noiseless": {"color": "#7f7f7f", "label": "noiseless (paper)"},
              "robust": {"color": "#d62728", "label": "noise-robust"}}
REGIME_STYLE = {"fixed": "--", "variable": "-"}
# Noise levels whose accuracy is drawn per trajectory length.
LENGTH_PANEL_SIGMAS = (0.0, 0.5, 1.0)
MARKERS = ("o", "s", "^", "D", "v")


def _check(summary: pd.DataFrame) -> None:
    missing = {"regime", "kind", "sigma", "length_bin", "metric", "mean", "low", "high", "n_seeds", "method"} - set(
        summary.columns)
    if missing:
        raise ValueError(f"summary lacks column(s) {', '.join(sorted(missing))}; is it robustness_summary's output?")


def _versus_sigma(ax: plt.Axes, summary: pd.DataFrame, metric: str) -> None:
    rows = summary[(summary["length_bin"] == "all") & (summary["metric"] == metric)]
    for (regime, kind), group in rows.groupby(["regime", "kind"], sort=True):
        group = group.sort_values("sigma")
        style = KIND_STYLE[kind]
        ax.plot(group["sigma"], group["mean"], marker="o", markersize=2.5, color=style["color"],
                linestyle=REGIME_STYLE.get(regime, ":"),
                label=f"{style['label']}, {regime} (n={int(group['n_seeds'].max())})")
        if np.isfinite(group["low"]).any():
            ax.fill_between(group["sigma"], group["low"], group["high"], color=style["color"], alpha=0.15, linewidth=0)
    ax.set_xlabel(r"localisation noise $\sigma$ (step std; SNR = 1/$\sigma$)")
    ax.set_ylim(0, 100)
    ax.axhline(12.5, color="0.7", linewidth=0.6, linestyle=":")


def plot_noise_robustness(summary: pd.DataFrame) -> plt.Figure:
    """(a) accuracy and (b) macro-F1 against sigma, (c) accuracy per trajectory length (variable regime)."""
    _check(summary)
    fig, (ax_acc, ax_f1, ax_len) = plt.subplots(1, 3, figsize=(11.5, 3.6), layout="constrained")
    _versus_sigma(ax_acc, summary, "accuracy")
    ax_acc.set_ylabel("test accuracy (%)")
    ax_acc.set_title("(a) accuracy")
    _versus_sigma(ax_f1, summary, "macro_f1")
    ax_f1.set_ylabel("macro-F1 (%)")
    ax_f1.set_title("(b) macro-F1")

    rows = summary[(summary["regime"] == "variable") & (summary["metric"] == "accuracy")
                   & (summary["length_bin"] != "all")]
    bins = list(dict.fromkeys(rows["length_bin"]))
    for marker, sigma in zip(MARKERS, LENGTH_PANEL_SIGMAS):
        for kind, style in KIND_STYLE.items():
            sel = rows[(rows["kind"] == kind) & np.isclose(rows["sigma"], sigma)].set_index("length_bin").reindex(bins)
            if sel["mean"].isna().all():
                continue
            pos = np.arange(len(bins))
            ax_len.errorbar(pos, sel["mean"], yerr=[sel["mean"] - sel["low"], sel["high"] - sel["mean"]],
                            color=style["color"], marker=marker, markersize=3, capsize=2, linewidth=0.8,
                            label=f"{style['label']}, $\\sigma$={sigma:g}")
    ax_len.set_xticks(np.arange(len(bins)), bins)
    ax_len.set_xlabel("trajectory length (points)")
    ax_len.set_ylabel("test accuracy (%)")
    ax_len.set_ylim(0, 100)
    ax_len.set_title("(c) by length, variable regime")
    # the legends go under the panels, where they cover no data: (a)/(b)'s on the left, (c)'s on the right
    fig.legend(*ax_acc.get_legend_handles_labels(), loc="outside lower left", ncol=2, frameon=False, fontsize=6.5,
               title="(a), (b): kind, regime (n: training seeds)", title_fontsize=6.5)
    fig.legend(*ax_len.get_legend_handles_labels(), loc="outside lower right", ncol=3, frameon=False, fontsize=6.5,
               title="(c): kind, noise level", title_fontsize=6.5)
    method = summary["method"].iloc[0] if len(summary) else ""
    intervals = (f"bands and bars: 95 % {method}" if len(summary) and summary["n_seeds"].max() >= 2
                 else "one training seed, so no interval")
    fig.suptitle(f"Noise-robust vs noiseless classifier; {intervals}", fontsize=8)
    return fig

"""The AnDi 2020 Task 2 benchmark figure: micro-F1 by length and by noise per classifier, and confusions."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from andicam.dataio import ANDI_MODELS


def _bars(ax: plt.Axes, scores: pd.DataFrame, group: str, models: list[str], xlabel: str) -> None:
    part = scores[scores["group"] == group]
    bins = list(dict.fromkeys(part["bin"]))
    width = 0.8 / len(models)
    for m, name in enumerate(models):
        rows = part[part["model"] == name].set_index("bin").reindex(bins)
        x = np.arange(len(bins)) + (m - (len(models) - 1) / 2) * width
        f1 = rows["micro_f1"].to_numpy(float)
        err = np.vstack([f1 - rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float) - f1])
        ax.bar(x, f1, width, yerr=err, capsize=2, label=name)
    ax.set_xticks(np.arange(len(bins)), [b.split(" ", 1)[-1] for b in bins])  # "T 10-49" -> "10-49"
    ax.set_xlabel(xlabel)
    ax.set_ylim(0, 1)
    ax.grid(axis="y", lw=0.3)


def plot_andi2020(tables: list[pd.DataFrame]) -> plt.Figure:
    """Three panels: micro-F1 by track length and by noise level (bars: Wilson 95 % intervals over tracks;
    the legend gives each classifier's overall micro-F1), and the row-normalised confusion of the best one."""
    scores, confusion = tables
    for col in ("model", "group", "bin", "n", "micro_f1", "ci_low", "ci_high"):
        if col not in scores.columns:
            raise ValueError(f"the scores table has no column {col!r}")
    models = list(dict.fromkeys(scores["model"]))
    overall = scores[scores["group"] == "all"].set_index("model")["micro_f1"]
    best = str(overall.idxmax())
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), gridspec_kw={"width_ratios": [1.2, 1, 1]})
    _bars(axes[0], scores, "length", models, "track length (points)")
    axes[0].set_ylabel("micro-F1 (the challenge's metric)")
    _bars(axes[1], scores, "noise", models, "localisation noise std (step std)")
    n_all = scores[scores["group"] == "all"].set_index("model")["n"]
    handles, _ = axes[0].get_legend_handles_labels()
    axes[0].legend(handles, [f"{m}: {overall[m]:.3f} overall (n = {int(n_all[m])})" for m in models],
                   fontsize=7, loc="upper left", frameon=True, title="classifier: micro-F1", title_fontsize=7)
    conf = confusion[confusion["model"] == best].pivot(index="true", columns="predicted", values="count")
    conf = conf.reindex(index=list(ANDI_MODELS), columns=list(ANDI_MODELS)).fillna(0).to_numpy(float)
    share = 100 * conf / np.maximum(conf.sum(axis=1, keepdims=True), 1)
    axes[2].imshow(share, cmap="Blues", vmin=0, vmax=100)
    for i in range(len(ANDI_MODELS)):
        for j in range(len(ANDI_MODELS)):
            axes[2].text(j, i, f"{share[i, j]:.0f}", ha="center", va="center", fontsize=8,
                         color="white" if share[i, j] > 60 else "black")
    axes[2].set_xticks(range(len(ANDI_MODELS)), ANDI_MODELS)
    axes[2].set_yticks(range(len(ANDI_MODELS)), ANDI_MODELS)
    axes[2].set_xlabel("predicted")
    axes[2].set_ylabel("true")
    axes[2].set_title(f"{best}: % of each true model", fontsize=9)
    fig.suptitle("AnDi 2020 Task 2 in 2-D, generated locally with the challenge's recipe (bars: Wilson 95 % "
                 "intervals over tracks; eight-class models folded to five, BM split between FBM and SBM)",
                 fontsize=9)
    fig.tight_layout()
    return fig

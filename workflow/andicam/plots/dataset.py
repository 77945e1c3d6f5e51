"""Figure ``dataset_overview``: what the eight classes look like and whether their MSD exponents are right."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from andicam.dataio import CLASS_NAMES, Trajectories
from andicam.plots.common import CLASS_COLORS


def dataset_overview(data: Trajectories, exponents: pd.DataFrame, seed: int = 0) -> plt.Figure:
    """Top: one example per class (x-y path, seeded choice). Bottom: fitted ensemble-MSD exponent vs drawn alpha."""
    rng = np.random.default_rng(seed)
    fig = plt.figure(figsize=(11, 7.5), layout="constrained")
    grid = fig.add_gridspec(3, 4, height_ratios=[1, 1, 1.3])
    for label, name in enumerate(CLASS_NAMES):
        ax = fig.add_subplot(grid[label // 4, label % 4])
        idx = np.flatnonzero(data.labels == label)
        if idx.size:
            i = rng.choice(idx)
            T = int(data.lengths[i])
            x, y = data.trajectories[i, 0, :T], data.trajectories[i, 1, :T]
            ax.plot(x, y, lw=0.6, color=CLASS_COLORS[name])
            ax.plot(x[0], y[0], "o", ms=3, color="k")
            ax.set_title(f"{name}  (alpha {data.alpha[i]:.2f}, T {T})")
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize=7)
    ax = fig.add_subplot(grid[2, :])
    for name, group in exponents.groupby("class", sort=False):
        ax.plot(group["alpha_drawn"], group["alpha_fitted"], "o-", color=CLASS_COLORS[name], label=name, ms=4)
    ax.plot([0, 2], [0, 2], "k--", lw=0.8, label="fitted = drawn")
    ax.set_xlabel("drawn alpha (mean of the bin)")
    ax.set_ylabel("ensemble-MSD exponent")
    ax.set_xlim(0, 2)
    ax.set_ylim(0, 2.1)
    ax.legend(ncol=5, fontsize=7, loc="upper left")
    return fig

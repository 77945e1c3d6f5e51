"""Figure of the claims table: each claim's difference to the paper, in units of its margin, coloured by verdict."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import Patch

from andicam.claims import (
    CONTRADICTED,
    GROUP_ORDER,
    NOT_COMPARABLE,
    NOT_RUN,
    REPRODUCED,
    UNDECIDED,
    margin_text,
    verdict_counts,
)
from andicam.paper import R

VERDICT_COLORS: dict[str, str] = {REPRODUCED: "#2ca02c", UNDECIDED: "#e6a100", CONTRADICTED: "#d62728",
                                  NOT_COMPARABLE: "0.55", NOT_RUN: "0.75"}
NEEDED: tuple[str, ...] = ("claim", "group", "unit", "margin", "difference", "diff_low", "diff_high", "verdict")
CAPTION = ("reproduced: the whole 95 % interval within $\\pm\\delta$ of the paper; contradicted: entirely outside "
           "(or, for r, of the opposite sign); undecided: across an edge")


def _raw(row: pd.Series) -> str:
    """The difference in the claim's own unit, e.g. '-7.6 [-9.5, -5.7] %'."""
    digits = 2 if row["unit"] == R else 1
    text = f"{row['difference']:+.{digits}f}"
    if math.isfinite(row["diff_low"]) and math.isfinite(row["diff_high"]):
        text += f" [{row['diff_low']:+.{digits}f}, {row['diff_high']:+.{digits}f}]"
    return f"{text} {row['unit']}"


def plot_claims(claims: pd.DataFrame) -> plt.Figure:
    """One line per claim: ours minus the paper's with its 95 % interval, divided by the claim's margin delta so
    that every unit shares one axis (the grey band is +-delta); claims grouped by the paper's experiment, top to
    bottom, each group headed by its name; the difference in the claim's own unit written at the right."""
    missing = [c for c in NEEDED if c not in claims.columns]
    if missing:
        raise ValueError(f"not a claims table of 'andicam claims': column(s) {', '.join(missing)} missing")
    groups = [g for g in GROUP_ORDER if (claims["group"] == g).any()]
    groups += sorted(set(claims["group"]) - set(groups))
    labels: list[str] = []
    headers: list[int] = []
    for group in groups:
        headers.append(len(labels))
        labels.append(group)
        labels += list(claims.loc[claims["group"] == group, "claim"])
    fig, ax = plt.subplots(figsize=(7.5, 1.6 + 0.17 * len(labels)), layout="constrained")
    ax.axvspan(-1, 1, color="0.9", zorder=0)
    ax.axvline(0, color="0.4", lw=0.8, zorder=1)
    y = 0
    extent = [-1.5, 1.5]
    for group in groups:
        y += 1  # the group's header row
        for _, row in claims[claims["group"] == group].iterrows():
            color = VERDICT_COLORS.get(row["verdict"], "k")
            if not math.isfinite(row["difference"]):
                ax.text(0, y, f" {row['verdict']}", color=color, fontsize=6.5, style="italic", va="center",
                        ha="center", zorder=3)
            else:
                scale = float(row["margin"])
                x = row["difference"] / scale
                lo, hi = row["diff_low"] / scale, row["diff_high"] / scale
                if math.isfinite(lo) and math.isfinite(hi):
                    ax.plot([lo, hi], [y, y], color=color, lw=2.2, solid_capstyle="butt", zorder=2)
                    extent += [lo, hi]
                ax.plot(x, y, "o", ms=3.5, color=color if math.isfinite(lo) else "white", mec=color, zorder=3)
                extent.append(x)
                ax.text(1.01, y, _raw(row), transform=ax.get_yaxis_transform(), fontsize=6, va="center",
                        color=color)
            y += 1
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_yticks(range(len(labels)), labels, fontsize=6.5)
    for i in headers:
        ax.get_yticklabels()[i].set_fontweight("bold")
        if i:
            ax.axhline(i - 0.5, color="0.6", lw=0.6)
    pad = 0.05 * (max(extent) - min(extent))
    ax.set_xlim(min(extent) - pad, max(extent) + pad)
    ax.set_xlabel(f"(this run - paper) / $\\delta$;  $\\delta$ = {margin_text()}")
    ax.grid(axis="x", alpha=0.3, lw=0.4)
    counts = verdict_counts(claims)
    fig.legend(handles=[Patch(color=VERDICT_COLORS[v], label=f"{v} ({n})") for v, n in counts.items() if n],
               fontsize=7, loc="outside lower center", ncols=5, frameon=False)
    ax.set_title(CAPTION, fontsize=7.5)
    return fig


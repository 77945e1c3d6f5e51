"""Reading erasing tables: which positions were ranked, and Grad-CAM against its matched controls.

Kept apart from ``andicam.erasing`` (which runs the network) so that the summary can read the
tables without importing torch.
"""

from __future__ import annotations

import pandas as pd

CONTROLS: tuple[str, ...] = ("uniform", "run_length")


def includes_padding(table: pd.DataFrame) -> bool:
    """Did the erasing table rank the padding too? Tables without a ``positions`` column predate the
    choice and ranked every position."""
    return "positions" not in table or bool((table["positions"] == "all").any())


def paired_differences(table: pd.DataFrame) -> pd.DataFrame:
    """Grad-CAM minus each matched control, in accuracy, per (class, control, bin, seed).

    The controls erase as many segments of the same trajectory as the Grad-CAM bin, so the difference
    isolates where the erased segments lie from how many were erased (the raw curve mixes both: on
    variable-length data the extreme bins of short trajectories hold more segments than the middle ones).
    Columns: class, control, bin, seed, diff.
    """
    cam = table[table["method"] == "gradcam"].set_index(["class", "bin"])["accuracy"]
    ctl = table[table["method"].isin(CONTROLS)]
    diff = cam.reindex(pd.MultiIndex.from_frame(ctl[["class", "bin"]])).to_numpy() - ctl["accuracy"].to_numpy()
    out = ctl[["class", "method", "bin", "seed"]].rename(columns={"method": "control"}).assign(diff=diff)
    return out.reset_index(drop=True).astype({"bin": int, "seed": int})


def control_differences(table: pd.DataFrame) -> pd.DataFrame:
    """``paired_differences`` summarised over the control seeds per (class, control, bin).

    Columns: class, control, bin, mean, low, high (range over seeds), seeds.
    """
    stats = paired_differences(table).groupby(["class", "control", "bin"])["diff"]
    out = stats.agg(mean="mean", low="min", high="max", seeds="count").reset_index()
    return out[["class", "control", "bin", "mean", "low", "high", "seeds"]]

"""The scaling study (beyond the paper): test accuracy against training size, width and epochs.

Each point of the study is one classifier trained on the first ``per_class``
trajectories of every class of a regime's training shards (so a smaller
training set is a subset of every larger one) and evaluated on the regime's
test shards. The table puts every model on one row, with its compute as
training samples x epochs; the figure compares it with the paper's accuracy.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from andicam.dataio import CLASS_NAMES
from andicam.intervals import wilson_interval
from andicam.paper import PAPER_ACCURACY

RECORD_COLUMNS = ("regime", "per_class", "n_train", "width", "depth", "epochs", "seed", "samples_x_epochs",
                  "accuracy", "accuracy_low", "accuracy_high", "n_test", "macro_f1", "best_epoch", "train_minutes",
                  "samples_per_second", "precision")
# One model's interval: its test trajectories are the unit (seed-to-seed spread is the summary's SD).
MODEL_INTERVAL = "Wilson 95 % over test trajectories"
# The goal for a paper-strength model: within this many points of the paper's accuracy.
GOAL_POINTS = 1.5
GROUP = ["regime", "per_class", "width", "depth", "epochs"]


def first_per_class(labels: np.ndarray, per_class: int, num_classes: int = len(CLASS_NAMES)) -> np.ndarray:
    """Indices, in file order, of the first ``per_class`` samples of every class in ``labels``."""
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=num_classes)
    short = [f"{CLASS_NAMES[c] if num_classes == len(CLASS_NAMES) else c} has {counts[c]}"
             for c in range(num_classes) if counts[c] < per_class]
    if short:
        raise ValueError(f"{per_class} trajectories per class asked for, but {', '.join(short)}")
    # Rank of each sample within its class, in order of appearance.
    order = np.argsort(labels, kind="stable")  # (N,) grouped by class, file order inside
    rank = np.empty_like(order)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank[order] = np.arange(labels.size) - np.repeat(starts, counts)
    return np.flatnonzero(rank < per_class)


def scaling_records(pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]]) -> pd.DataFrame:
    """(training metrics of ``andicam train``, evaluation metrics of ``andicam evaluate``) per model -> one row
    each, sorted by regime, width, depth, epochs, size and seed. Accuracy and macro-F1 in %, the accuracy with
    its Wilson interval over the model's test trajectories (`MODEL_INTERVAL`)."""
    rows = []
    for train, evaluation in pairs:
        n_test = int(evaluation["n"])
        low, high = wilson_interval(round(float(evaluation["accuracy"]) * n_test), n_test)
        cfg, tags = train["config"], train.get("tags", {})
        if "per_class" not in tags or "regime" not in tags:
            raise ValueError("training metrics lack the tags regime and per_class of a scaling run")
        epochs = int(train["epochs_run"])
        rows.append({
            "regime": tags["regime"], "per_class": int(tags["per_class"]), "n_train": int(train["n_train"]),
            "width": int(cfg["width"]), "depth": int(cfg["depth"]), "epochs": epochs, "seed": int(train["seed"]),
            "samples_x_epochs": int(train["n_train"]) * epochs,
            "accuracy": 100 * float(evaluation["accuracy"]), "accuracy_low": 100 * low, "accuracy_high": 100 * high,
            "n_test": n_test, "macro_f1": 100 * float(evaluation["macro_f1"]),
            "best_epoch": int(train["best_epoch"]), "train_minutes": float(train["train_seconds"]) / 60,
            "samples_per_second": float(train["samples_per_second"]),
            "precision": train["used"]["precision"].split(":")[0],  # "bf16" or "fp32", without the reason
        })
    frame = pd.DataFrame(rows, columns=list(RECORD_COLUMNS))
    return frame.sort_values(["regime", "width", "depth", "epochs", "per_class", "seed"], ignore_index=True)


def scaling_summary(records: pd.DataFrame) -> pd.DataFrame:
    """Per point of the grid: seeds, mean and SD of the test accuracy, compute, training time, and the gap to
    the paper's accuracy of the regime (negative: below it)."""
    if records.empty:
        raise ValueError("the scaling study needs at least one model")
    grouped = records.groupby(GROUP, sort=True)
    out = grouped.agg(n_seeds=("seed", "count"), samples_x_epochs=("samples_x_epochs", "first"),
                      accuracy=("accuracy", "mean"), accuracy_sd=("accuracy", "std"),
                      accuracy_low=("accuracy_low", "first"), accuracy_high=("accuracy_high", "first"),
                      train_minutes=("train_minutes", "mean"),
                      samples_per_second=("samples_per_second", "mean")).reset_index()
    out["paper_accuracy"] = out["regime"].map(PAPER_ACCURACY)
    out["gap_to_paper"] = out["accuracy"] - out["paper_accuracy"]
    several = out["n_seeds"] > 1  # a Wilson interval is one model's; a mean over seeds gets the SD instead
    out.loc[several, ["accuracy_low", "accuracy_high"]] = np.nan
    return out


def cheapest_within(summary: pd.DataFrame, points: float) -> pd.DataFrame:
    """Per regime, the grid point with the least training time whose mean accuracy is at most ``points`` below
    the paper's (none for a regime where no point gets there)."""
    near = summary[summary["gap_to_paper"] >= -points]
    return near.loc[near.groupby("regime")["train_minutes"].idxmin()].reset_index(drop=True)


def summary_markdown(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table (one row per grid point), then the cheapest points that reach the paper's
    accuracy and come within `GOAL_POINTS` of it."""
    lines = [f"Test accuracy: one seed, the model's accuracy with its {MODEL_INTERVAL}; several seeds, the mean "
             "+- the SD over training seeds. Train min: mean training time of one model.", "",
             "| regime | per class | width | depth | epochs | samples x epochs | seeds | test accuracy % "
             "| gap to paper | train min | samples/s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples(index=False):
        spread = f" +- {r.accuracy_sd:.1f}" if r.n_seeds > 1 else f" [{r.accuracy_low:.1f}, {r.accuracy_high:.1f}]"
        lines.append(f"| {r.regime} | {r.per_class:,} | {r.width} | {r.depth} | {r.epochs} | {r.samples_x_epochs:,} "
                     f"| {r.n_seeds} | {r.accuracy:.1f}{spread} | {r.gap_to_paper:+.1f} | {r.train_minutes:.1f} "
                     f"| {r.samples_per_second:,.0f} |")
    lines.append("")
    for points, goal in ((0.0, "at or above the paper's accuracy"), (GOAL_POINTS, f"within {GOAL_POINTS} points of it")):
        found = cheapest_within(summary, points)
        for regime in summary["regime"].unique():
            row = found[found["regime"] == regime]
            if row.empty:
                best = summary[summary["regime"] == regime].sort_values("accuracy").iloc[-1]
                lines.append(f"- {regime}: no point of the grid comes {goal}; the best, {best.accuracy:.1f} % "
                             f"({best.per_class:,} per class, width {best.width}, {best.epochs} epochs), is "
                             f"{-best.gap_to_paper:.1f} points below.")
            else:
                r = row.iloc[0]
                lines.append(f"- {regime}: cheapest point {goal}: {r.per_class:,} per class, width {r.width}, depth "
                             f"{r.depth}, {r.epochs} epochs, {r.accuracy:.1f} % ({r.gap_to_paper:+.1f}) in "
                             f"{r.train_minutes:.1f} min of training.")
    return "\n".join(lines) + "\n"

"""Reading erasing tables: which positions were ranked, and Grad-CAM against its matched controls.

Kept apart from ``andicam.erasing`` (which runs the network) so that the summary can read the
tables without importing torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

CONTROLS: tuple[str, ...] = ("uniform", "run_length")

# Which positions an erasing run ranked and erased (the tables' ``positions`` column, the rule's wildcard):
# only those whose segments hold real steps, or all of them, the left zero-padding included (the paper's code).
POSITIONS: tuple[str, ...] = ("trajectory", "all")
POSITIONS_TEXT = {"trajectory": "trajectory segments", "all": "padding included"}

# What an erased segment becomes (the rule's ``fill``; a table's ``fill`` column, absent for ``zero``): 0 in
# min-max space, as the paper did; the last position before it held; or a Brownian bridge between its
# neighbours with the trajectory's own step std. The first is the paper's and the default.
FILLS: tuple[str, ...] = ("zero", "hold", "bridge")
FILL_TEXT = {"zero": "set to 0", "hold": "last position held", "bridge": "Brownian bridge"}


def regime_of(table: pd.DataFrame, main: str | None = None) -> str | None:
    """The regime of an erasing table's model: its ``regime`` column, which only runs beside the main one
    carry; ``main`` (the main run's regime, when known) for a table without one."""
    if "regime" not in table or table.empty:
        return main
    regimes = table["regime"].unique()
    if len(regimes) != 1:
        raise ValueError(f"erasing table mixes regimes {sorted(map(str, regimes))}")
    return str(regimes[0])


def fill_of(table: pd.DataFrame) -> str:
    """The fill of an erasing table's run. Zero-fill tables carry no ``fill`` column, so that they stay
    the tables written before fills existed."""
    if "fill" not in table or table.empty:
        return "zero"
    fills = table["fill"].unique()
    if len(fills) != 1 or fills[0] not in FILLS:
        raise ValueError(f"erasing table has fill(s) {sorted(map(str, fills))}; expected one of {FILLS}")
    return str(fills[0])


def includes_padding(table: pd.DataFrame) -> bool:
    """Did the erasing table rank the padding too? Tables without a ``positions`` column predate the
    choice and ranked every position."""
    return "positions" not in table or bool((table["positions"] == "all").any())


def positions_of(table: pd.DataFrame) -> str:
    """"all" or "trajectory": the positions the table's run ranked (see ``includes_padding``)."""
    return "all" if includes_padding(table) else "trajectory"


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


PAIRED_METHOD = "paired bootstrap over {n} trajectories"


def trajectory_differences(gradcam: np.ndarray, controls: np.ndarray) -> np.ndarray:
    """Per-trajectory Grad-CAM minus control correctness: (N, ...) and (N, seeds, ...) -> (N, ...).

    The control seeds are averaged within a trajectory, so the difference keeps the pairing by
    trajectory (both arms erase the same trajectory) and the control's own randomness.
    """
    return np.asarray(gradcam, dtype=np.float64) - np.asarray(controls, dtype=np.float64).mean(axis=1)


def paired_bootstrap_ci(
    diff: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of per-trajectory differences ``diff`` (N, ...) and its percentile bootstrap interval.

    Trajectories are resampled with replacement, one resample for both arms (they are already paired
    in ``diff``); the Grad-CAM arm's sampling error over test trajectories is thus counted, which a
    range over control seeds alone misses. Trailing axes (bins, repeats) share the resamples.
    Returns (mean, low, high), each of shape ``diff.shape[1:]``.
    """
    diff = np.asarray(diff, dtype=np.float64)
    n = diff.shape[0]
    if n < 2:
        raise ValueError(f"a bootstrap over trajectories needs at least 2 trajectories, got {n}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    # Resampled means as counts @ diff: the same as indexing with replacement, without (n_boot, N, ...) arrays.
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)
    means = (counts @ diff.reshape(n, -1)).reshape((n_boot, *diff.shape[1:])) / n
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail], axis=0)
    return diff.mean(axis=0), low, high


def read_correctness(path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(labels (N,), {"gradcam": (N, bins), control: (seeds, N, bins)}) from ``andicam erasing --correctness``."""
    try:
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable erasing correctness file ({e})") from e
    missing = {"labels", "gradcam"} - set(arrays)
    if missing:
        raise ValueError(f"{path}: erasing correctness file lacks {sorted(missing)}")
    labels = arrays.pop("labels")
    n, bins = arrays["gradcam"].shape
    for name, a in arrays.items():
        if name != "gradcam" and (a.ndim != 3 or a.shape[1:] != (n, bins)):
            raise ValueError(f"{path}: {name} has shape {a.shape}, expected (seeds, {n}, {bins})")
    return labels, arrays


def trajectory_bootstrap_differences(
    labels: np.ndarray, correctness: dict[str, np.ndarray], class_names: Sequence[str], n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Grad-CAM minus each control per (class or "all", control, bin), with a paired bootstrap over trajectories.

    Columns: class, control, bin, mean, low, high, n_traj, ci_method.
    """
    rows = []
    classes = [("all", np.ones(len(labels), dtype=bool))]
    classes += [(name, labels == k) for k, name in enumerate(class_names) if (labels == k).sum() >= 2]
    for control in CONTROLS:
        if control not in correctness:
            continue
        diff = trajectory_differences(correctness["gradcam"], np.moveaxis(correctness[control], 0, 1))
        for name, sel in classes:
            mean, low, high = paired_bootstrap_ci(diff[sel], n_boot=n_boot, seed=seed)
            n = int(sel.sum())
            for b in range(diff.shape[1]):
                rows.append({"class": name, "control": control, "bin": b, "mean": mean[b], "low": low[b],
                             "high": high[b], "n_traj": n, "ci_method": PAIRED_METHOD.format(n=n)})
    return pd.DataFrame(rows, columns=["class", "control", "bin", "mean", "low", "high", "n_traj", "ci_method"])

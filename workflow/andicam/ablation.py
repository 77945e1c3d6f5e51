"""Feature ablation by window transplant (METHODS §4), with a random-transplant control.

For a trajectory (min-max-scaled model input) and a statistic S of
``andicam.stats`` (AC, CS, SG, VD, in the paper's 32 windows of 225 steps):

1. the target is the window with the largest S (mode "for": the feature is
   taken away where it is strongest) or the smallest S (mode "inverse");
2. every window at least ``min_distance`` positions away (9 by default, so
   that donor and target do not overlap: 9 x 25 = 225 steps) is a candidate
   donor. Its transplant replaces the window - 1 increments of the target
   window by the donor's, re-integrates from the first point (so the path stays
   continuous and keeps its length) and min-max scales again, as the network's
   input is made;
3. all four statistics of the spliced trajectory are recomputed (the
   per-trajectory scaling of |f2|, |f3|, |f5| makes every window depend on all
   others) and compared at the target window: with dS the change of S and dS'
   those of the three others, the donor minimising
   loss = -dS**2 + sum dS'**2 is chosen (ties: the lowest window index).

The classifier then sees the spliced trajectories. Per statistic, mode and
true class we report the accuracy before and after, the drop, and where the new
errors go: the class that receives most of the trajectories that were right
before and are wrong after ("top-1"), with its share. The control transplants
a uniformly drawn donor (again at least ``min_distance`` away) into a uniformly
drawn window, ``repeats`` times per trajectory, seeded. Independence: the mean
|change| of every statistic at the target window, raw and in units of that
statistic's standard deviation over all windows of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from andicam.dataio import CLASS_NAMES
from andicam.paper import PAPER_STRIDE, PAPER_WINDOW
from andicam.preprocess import minmax_scale
from andicam.stats import STATISTICS, window_starts, window_statistics

MODES: tuple[str, ...] = ("for", "inverse")
RANDOM = "random"
RANDOM_STATISTIC = "none"  # the statistic column of the control's rows
MIN_DISTANCE = 9
RESULT_COLUMNS = ("mode", "statistic", "class", "n", "acc_before", "acc_after", "drop", "n_new_errors",
                  "top1_class", "top1_share")
INDEPENDENCE_COLUMNS = ("mode", "statistic", "moved", "mean_abs_change", "mean_abs_change_sd")


@dataclass(frozen=True)
class Windows:
    window: int = PAPER_WINDOW
    stride: int = PAPER_STRIDE
    min_distance: int = MIN_DISTANCE

    def starts(self, length: int) -> np.ndarray:
        starts = window_starts(length, self.window, stride=self.stride)
        if starts.size <= self.min_distance:
            raise ValueError(f"{starts.size} windows leave no donor {self.min_distance} or more windows away")
        return starts


def splice(x: np.ndarray, target_start: np.ndarray, donor_start: np.ndarray, window: int) -> np.ndarray:
    """Put the donor window's increments in place of the target window's; re-integrate and min-max scale.

    x (N, 2, T); target_start, donor_start (N,) first steps of the windows. The window's window - 1
    increments are replaced, every other increment is kept, and the path starts at the same point.
    """
    x = np.asarray(x, dtype=np.float64)
    n, _, length = x.shape
    target_start = np.asarray(target_start, dtype=np.int64).reshape(n, 1)
    donor_start = np.asarray(donor_start, dtype=np.int64).reshape(n, 1)
    d = np.diff(x, axis=-1)  # (N, 2, T - 1)
    t = np.arange(length - 1)[None, :]  # (1, T - 1)
    inside = (t >= target_start) & (t < target_start + window - 1)  # (N, T - 1)
    src = np.where(inside, t - target_start + donor_start, t)  # (N, T - 1)
    d = np.take_along_axis(d, np.broadcast_to(src[:, None, :], d.shape), axis=-1)
    path = np.concatenate([x[..., :1], x[..., :1] + np.cumsum(d, axis=-1)], axis=-1)  # (N, 2, T)
    return minmax_scale(path.astype(np.float32))


def _stack(stats: dict[str, np.ndarray]) -> np.ndarray:
    return np.stack([stats[k] for k in STATISTICS], axis=1)  # (N, 4, W)


def _statistics(x: np.ndarray, win: Windows) -> np.ndarray:
    return _stack(window_statistics(x, win.window, win.stride))


def _spliced_at_target(x: np.ndarray, rows: np.ndarray, targets: np.ndarray, donors: np.ndarray,
                       win: Windows, batch: int) -> np.ndarray:
    """All four statistics (K, 4) at the target window after each transplant (rows, targets, donors (K,))."""
    starts = win.starts(x.shape[-1])
    out = np.empty((rows.size, len(STATISTICS)))
    for lo in range(0, rows.size, batch):
        sl = slice(lo, lo + batch)
        spliced = splice(x[rows[sl]], starts[targets[sl]], starts[donors[sl]], win.window)
        s = _statistics(spliced, win)  # (k, 4, W)
        out[sl] = s[np.arange(s.shape[0]), :, targets[sl]]
    return out


def transplant_loss(delta: np.ndarray, statistic: int) -> np.ndarray:
    """-dS**2 + sum of the other statistics' dS'**2 for changes ``delta`` (..., 4)."""
    sq = delta * delta
    return sq.sum(axis=-1) - 2 * sq[..., statistic]


@dataclass
class Search:
    targets: np.ndarray  # (N, 4, 2) target window per statistic and mode
    donors: np.ndarray  # (N, 4, 2) chosen donor window
    before: np.ndarray  # (N, 4, 2, 4) all statistics at the target window, before
    after: np.ndarray  # (N, 4, 2, 4) and after the chosen transplant


def search_transplants(x: np.ndarray, win: Windows = Windows(), batch: int = 256) -> Search:
    """The loss-minimising donor for every trajectory, statistic and mode, all candidates evaluated in batches."""
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[0]
    n_win = win.starts(x.shape[-1]).size
    s0 = _statistics(x, win)  # (N, 4, W)
    targets = np.stack([s0.argmax(axis=-1), s0.argmin(axis=-1)], axis=-1)  # (N, 4, 2)
    # Transplants depend on (trajectory, target, donor) only: evaluate each distinct target once.
    keys, pair_of = np.unique(np.arange(n)[:, None, None] * n_win + targets, return_inverse=True)
    pair_of = pair_of.reshape(targets.shape)
    pair_row, pair_target = keys // n_win, keys % n_win  # (P,)
    j = np.arange(n_win)
    allowed = np.abs(j[None, :] - pair_target[:, None]) >= win.min_distance  # (P, W)
    p_idx, j_idx = np.nonzero(allowed)
    values = np.full((keys.size, n_win, len(STATISTICS)), np.nan)  # (P, W, 4)
    values[p_idx, j_idx] = _spliced_at_target(x, pair_row[p_idx], pair_target[p_idx], j_idx, win, batch)
    rows = np.arange(n)[:, None, None]
    before = s0[rows, :, targets]  # (N, 4, 2, 4): [n, s, m, k] = statistic k at target of (s, m)
    cand = values[pair_of]  # (N, 4, 2, W, 4)
    loss = np.stack([transplant_loss(cand[:, s] - before[:, s, :, None, :], s) for s in range(len(STATISTICS))],
                    axis=1)  # (N, 4, 2, W)
    loss = np.where(allowed[pair_of], loss, np.inf)
    donors = loss.argmin(axis=-1)  # (N, 4, 2); argmin keeps the first of equal losses
    after = np.take_along_axis(cand, donors[..., None, None], axis=3)[:, :, :, 0]  # (N, 4, 2, 4)
    return Search(targets, donors, before, after)


def random_transplants(n: int, n_windows: int, min_distance: int, repeats: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(targets, donors) (repeats, N): a uniform window, and a uniform donor at least ``min_distance`` away."""
    targets = rng.integers(0, n_windows, size=(repeats, n))
    j = np.arange(n_windows)
    allowed = np.abs(j[None, None, :] - targets[..., None]) >= min_distance  # (R, N, W)
    # The k-th allowed window, k uniform: rank the allowed ones and pick by a uniform draw of the rank.
    count = allowed.sum(-1)
    if (count == 0).any():
        raise ValueError(f"{n_windows} windows leave no donor {min_distance} or more windows away")
    pick = (rng.random((repeats, n)) * count).astype(np.int64)  # (R, N) in [0, count)
    donors = (np.cumsum(allowed, axis=-1) <= pick[..., None]).sum(-1)  # index of the pick-th allowed window
    return targets, donors


@torch.no_grad()
def predict(model: torch.nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    p = next(model.parameters())
    out = [model(torch.from_numpy(np.ascontiguousarray(x[lo:lo + batch_size])).to(p.device, p.dtype))
           .argmax(1).cpu().numpy() for lo in range(0, x.shape[0], batch_size)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _class_rows(mode: str, statistic: str, labels: np.ndarray, before: np.ndarray,
                after: np.ndarray) -> list[dict]:
    """after (R, N): R transplants per trajectory (R = 1 for the search), pooled."""
    rows = []
    for label, name in enumerate(CLASS_NAMES):
        idx = np.flatnonzero(labels == label)
        if idx.size == 0:
            continue
        right = before[idx] == label  # (n,)
        now = after[:, idx]  # (R, n)
        new_err = right[None, :] & (now != label)
        dest = np.bincount(now[new_err], minlength=len(CLASS_NAMES))
        n_new = int(new_err.sum())
        top = int(dest.argmax()) if n_new else -1
        rows.append({
            "mode": mode, "statistic": statistic, "class": name, "n": int(idx.size),
            "acc_before": float(right.mean()), "acc_after": float((now == label).mean()),
            "drop": float(right.mean() - (now == label).mean()), "n_new_errors": n_new,
            "top1_class": CLASS_NAMES[top] if n_new else "",
            "top1_share": float(dest[top] / n_new) if n_new else np.nan,
        })
    return rows


@dataclass
class AblationResult:
    results: pd.DataFrame  # RESULT_COLUMNS
    independence: pd.DataFrame  # INDEPENDENCE_COLUMNS
    transplants: pd.DataFrame  # one row per trajectory and transplant: what was moved where, and the prediction


def run_ablation(model: torch.nn.Module, x: np.ndarray, labels: np.ndarray, seed: int, win: Windows = Windows(),
                 repeats: int = 1, batch: int = 256, index: np.ndarray | None = None) -> AblationResult:
    """Search, splice and classify; ``index`` (N,) names the trajectories in the transplant table."""
    x = np.asarray(x, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    n, _, length = x.shape
    index = np.arange(n) if index is None else np.asarray(index)
    starts = win.starts(length)
    search = search_transplants(x, win, batch)
    pred0 = predict(model, x, batch)
    results: list[dict] = []
    independence: list[dict] = []
    log: list[pd.DataFrame] = []
    s0 = _statistics(x, win)  # (N, 4, W)
    sd = s0.transpose(1, 0, 2).reshape(len(STATISTICS), -1).std(axis=1)  # (4,) spread of each statistic

    def moved_rows(mode: str, statistic: str, delta: np.ndarray) -> None:
        for k, name in enumerate(STATISTICS):
            m = float(np.abs(delta[..., k]).mean())
            independence.append({"mode": mode, "statistic": statistic, "moved": name, "mean_abs_change": m,
                                 "mean_abs_change_sd": m / sd[k] if sd[k] > 0 else np.nan})

    def transplant_log(mode: str, statistic: str, repeat: int, tgt: np.ndarray, don: np.ndarray,
                       after: np.ndarray) -> None:
        log.append(pd.DataFrame({"index": index, "label": labels, "mode": mode, "statistic": statistic,
                                 "repeat": repeat, "target": tgt, "donor": don, "predicted_before": pred0,
                                 "predicted_after": after}))

    for s, stat in enumerate(STATISTICS):
        for m, mode in enumerate(MODES):
            tgt, don = search.targets[:, s, m], search.donors[:, s, m]
            after = predict(model, splice(x, starts[tgt], starts[don], win.window), batch)
            results += _class_rows(mode, stat, labels, pred0, after[None])
            moved_rows(mode, stat, search.after[:, s, m] - search.before[:, s, m])
            transplant_log(mode, stat, 0, tgt, don, after)
    rng = np.random.default_rng(seed)
    r_tgt, r_don = random_transplants(n, starts.size, win.min_distance, repeats, rng)
    r_after = np.empty((repeats, n), dtype=np.int64)
    deltas = []
    for r in range(repeats):
        spliced = splice(x, starts[r_tgt[r]], starts[r_don[r]], win.window)
        r_after[r] = predict(model, spliced, batch)
        s1 = _statistics(spliced, win)
        deltas.append(s1[np.arange(n), :, r_tgt[r]] - s0[np.arange(n), :, r_tgt[r]])  # (N, 4)
        transplant_log(RANDOM, RANDOM_STATISTIC, r, r_tgt[r], r_don[r], r_after[r])
    results += _class_rows(RANDOM, RANDOM_STATISTIC, labels, pred0, r_after)
    moved_rows(RANDOM, RANDOM_STATISTIC, np.stack(deltas))
    return AblationResult(pd.DataFrame(results, columns=list(RESULT_COLUMNS)),
                          pd.DataFrame(independence, columns=list(INDEPENDENCE_COLUMNS)),
                          pd.concat(log, ignore_index=True))


def select_per_class(labels: np.ndarray, per_class: int | None) -> np.ndarray:
    """Indices of the first ``per_class`` trajectories of every class, in file order (all when None)."""
    labels = np.asarray(labels)
    if per_class is None:
        return np.arange(labels.size)
    if per_class < 1:
        raise ValueError(f"per_class must be positive, got {per_class}")
    keep = np.zeros(labels.size, dtype=bool)
    for label in np.unique(labels):
        keep[np.flatnonzero(labels == label)[:per_class]] = True
    return np.flatnonzero(keep)


def summary_grid(results: pd.DataFrame, mode: str, value: str = "drop",
                 statistics: Sequence[str] = STATISTICS) -> pd.DataFrame:
    """``value`` as rows (the statistics, then the random control) x classes present, for one mode."""
    sub = results[(results["mode"] == mode) | (results["mode"] == RANDOM)]
    sub = sub.assign(row=np.where(sub["mode"] == RANDOM, RANDOM, sub["statistic"]))
    grid = sub.pivot(index="row", columns="class", values=value)
    return grid.reindex(index=[*statistics, RANDOM], columns=[c for c in CLASS_NAMES if c in grid.columns])

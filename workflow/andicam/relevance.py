"""Statistical relevance of Grad-CAM (METHODS §4): how a map follows the window statistics.

For one stage, position p of a trajectory's raw Grad-CAM map is paired with
the statistic of the window that belongs to p (``andicam.stats``: one window
per position, 225 steps for layer4 as in the paper). Per true class, the
Pearson and Spearman correlations are taken over all (trajectory, position)
pairs pooled. Their 95 % intervals come from a percentile bootstrap that
resamples whole trajectories with replacement, because the windows of one
trajectory overlap and are not independent.

The bootstrap is vectorised and exact:

- Pearson: each resample is a vector of multiplicities k (one per
  trajectory), so its sums are k @ per-trajectory sums (n, x, y, xx, yy, xy).
- Spearman, ``spearman_ci="exact"``: the ranks of a resample (average ranks
  for ties, copies of a point tied with each other, as
  ``scipy.stats.spearmanr`` ranks duplicated data) follow from cumulative
  multiplicities along the sorted pooled values; the correlation is the
  multiplicity-weighted Pearson correlation of those ranks. This costs
  O(replicates x pooled points) and is slow at the paper's scale.
- Spearman, ``spearman_ci="global-ranks"`` (default): the pooled values are
  ranked once and the Pearson bootstrap above runs on the ranks. It leaves out
  the re-ranking of each resample; on a small trained model (200 trajectories
  per class, layer4) its bootstrap standard deviations were within 7 % of the
  exact ones and the interval ends within 0.006, at 1/100 of the cost.

The point estimate of Spearman's r is exact either way (pooled average ranks).

The pooled correlation mixes two effects: between trajectories (a layer4 map's
time-mean is the class logit, so confident trajectories have high maps
throughout) and within a trajectory (which windows the map points to).
``pearson_within`` separates the second: every trajectory's map and statistic
are centred on their own means before pooling, so only where along a
trajectory the map is high counts. Its bootstrap is the Pearson one on the
centred values (centring is per trajectory, so resampling whole trajectories
stays valid).

Within a (stage, class) every statistic and both methods use the same
resamples, drawn from ``derive_seed(seed, "relevance", stage, class)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from andicam.dataio import CLASS_NAMES, DataFileError, read_trajectories
from andicam.gradcam import model_input, read_gradcam
from andicam.preprocess import INPUT_LENGTH
from andicam.seeding import derive_seed
from andicam.stats import RATIO_EPS, STATISTICS, composite_statistics, matched_windows, window_features, window_starts

METHODS: tuple[str, ...] = ("pearson", "pearson_within", "spearman")
SPEARMAN_CI: tuple[str, ...] = ("global-ranks", "exact")
COLUMNS: tuple[str, ...] = ("stage", "statistic", "class", "method", "r", "ci_low", "ci_high", "n_traj", "window")
CI_LEVEL = 0.95
_CELLS_PER_CHUNK = 4_000_000  # bootstrap replicates x pooled points held at once by the Spearman bootstrap


def statistics_for_maps(
    x: np.ndarray, positions: int, window: int, eps: float = RATIO_EPS
) -> dict[str, np.ndarray]:
    """Statistics (N, positions) float32 in one window of ``window`` steps per map position, spread over the input.

    Stored as float32 (the maps' precision) so that all stages of 400,000 trajectories fit in memory; the
    correlations are computed in float64.
    """
    starts = window_starts(x.shape[-1], window, n_windows=positions)
    stats = composite_statistics(window_features(x, starts, window, eps))
    return {k: v.astype(np.float32) for k, v in stats.items()}


def bootstrap_counts(n_traj: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_traj) multiplicities of trajectories in each resample (each row sums to n_traj)."""
    if n_boot == 0 or n_traj == 0:
        return np.zeros((n_boot, n_traj), dtype=np.int64)
    return rng.multinomial(n_traj, np.full(n_traj, 1.0 / n_traj), size=n_boot)


def _pearson_from_sums(s: np.ndarray) -> np.ndarray:
    """Correlation from sums (..., 6) = (n, x, y, xx, yy, xy); NaN where a variance is 0."""
    n, sx, sy, sxx, syy, sxy = np.moveaxis(s, -1, 0)
    cov = n * sxy - sx * sy
    vx = n * sxx - sx * sx
    vy = n * syy - sy * sy
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(vx * vy)
    return np.where((vx > 0) & (vy > 0), np.clip(r, -1.0, 1.0), np.nan)


def pearson_bootstrap(cam: np.ndarray, stat: np.ndarray, counts: np.ndarray) -> tuple[float, np.ndarray]:
    """Pooled Pearson r of (N, P) pairs and its value in each resample (counts (B, N)) -> (r, (B,))."""
    x = cam.astype(np.float64)
    y = stat.astype(np.float64)
    x = x - x.mean()  # centring first keeps the sums well conditioned
    y = y - y.mean()
    per_traj = np.stack([np.full(x.shape[0], float(x.shape[1])), x.sum(1), y.sum(1),
                         (x * x).sum(1), (y * y).sum(1), (x * y).sum(1)], axis=1)  # (N, 6)
    r = float(_pearson_from_sums(per_traj.sum(0)))
    return r, _pearson_from_sums(counts.astype(np.float64) @ per_traj)  # (B,)


class _RankTable:
    """Sorted pooled values with their tie groups, to rank any multiplicity-weighted resample quickly."""

    def __init__(self, values: np.ndarray) -> None:
        self.order = np.argsort(values, kind="stable")
        v = values[self.order]
        new = np.r_[True, v[1:] != v[:-1]]
        self.group = np.cumsum(new) - 1  # (M,) tie group of each sorted point
        self.last = np.r_[np.flatnonzero(new)[1:] - 1, v.size - 1]  # (G,) last sorted index of each group

    def ranks(self, w: np.ndarray) -> np.ndarray:
        """Average ranks (b, M) in the original order of the points, for weights w (b, M) in that order."""
        cum = np.cumsum(w[:, self.order], axis=1)  # (b, M)
        end = cum[:, self.last]  # (b, G) weight up to and including each group
        size = np.diff(end, axis=1, prepend=0.0)  # (b, G)
        group_rank = end - size + (size + 1.0) / 2.0  # average rank of the copies in each group
        out = np.empty_like(cum)
        out[:, self.order] = group_rank[:, self.group]
        return out


def _weighted_pearson(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted Pearson r per row of (b, M) arrays."""
    sw = w.sum(1)
    ma = (w * a).sum(1) / sw
    mb = (w * b).sum(1) / sw
    da = a - ma[:, None]
    db = b - mb[:, None]
    cov = (w * da * db).sum(1)
    va = (w * da * da).sum(1)
    vb = (w * db * db).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(va * vb)
    return np.where((va > 0) & (vb > 0), np.clip(r, -1.0, 1.0), np.nan)


def spearman_bootstrap(
    cam: np.ndarray, stats: Mapping[str, np.ndarray], counts: np.ndarray
) -> dict[str, tuple[float, np.ndarray]]:
    """Pooled Spearman r of the map with every statistic, and its value in each resample (counts (B, N))."""
    n_traj, positions = cam.shape
    owner = np.repeat(np.arange(n_traj), positions)  # (M,) trajectory of each pooled point
    cam_table = _RankTable(cam.reshape(-1).astype(np.float64))
    tables = {name: _RankTable(s.reshape(-1).astype(np.float64)) for name, s in stats.items()}
    ones = np.ones((1, owner.size))
    cam_rank = cam_table.ranks(ones)
    out: dict[str, tuple[float, list[np.ndarray]]] = {
        name: (float(_weighted_pearson(cam_rank, t.ranks(ones), ones)[0]), []) for name, t in tables.items()
    }
    step = max(1, _CELLS_PER_CHUNK // max(owner.size, 1))
    for lo in range(0, counts.shape[0], step):
        w = counts[lo:lo + step, owner].astype(np.float64)  # (b, M)
        cam_r = cam_table.ranks(w)
        for name, t in tables.items():
            out[name][1].append(_weighted_pearson(cam_r, t.ranks(w), w))
    return {name: (r, np.concatenate(reps) if reps else np.zeros(0)) for name, (r, reps) in out.items()}


def _pooled_ranks(v: np.ndarray) -> np.ndarray:
    """Average ranks of all values of an (N, P) array pooled, in its shape."""
    return rankdata(v.reshape(-1), method="average").reshape(v.shape)


def _centre_rows(v: np.ndarray) -> np.ndarray:
    """Each trajectory's values (row) minus their own mean, in float64."""
    v = np.asarray(v, dtype=np.float64)
    return v - v.mean(axis=1, keepdims=True)


def _interval(replicates: np.ndarray) -> tuple[float, float]:
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = 100 * (1 - CI_LEVEL) / 2
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return float(lo), float(hi)


def relevance_table(
    stage: str,
    cam: np.ndarray,
    stats: Mapping[str, np.ndarray],
    labels: np.ndarray,
    window: int,
    n_boot: int = 1000,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
    spearman_ci: str = "global-ranks",
) -> pd.DataFrame:
    """Tidy table (``COLUMNS``) of per-class correlations between a stage's maps (N, P) and statistics (N, P)."""
    cam = np.asarray(cam)
    labels = np.asarray(labels)
    if cam.ndim != 2:
        raise ValueError(f"{stage}: maps must have shape (N, positions), got {cam.shape}")
    if labels.shape != (cam.shape[0],):
        raise ValueError(f"{stage}: {labels.shape[0]} labels for {cam.shape[0]} maps")
    for name, s in stats.items():
        if s.shape != cam.shape:
            raise ValueError(f"{stage}: statistic {name} has shape {s.shape}, the maps {cam.shape}")
    bad = set(methods) - set(METHODS)
    if bad:
        raise ValueError(f"unknown correlation method(s) {sorted(bad)}; expected {list(METHODS)}")
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    if spearman_ci not in SPEARMAN_CI:
        raise ValueError(f"spearman_ci must be one of {list(SPEARMAN_CI)}, got {spearman_ci!r}")
    rows: list[dict] = []
    for label, name in enumerate(CLASS_NAMES):
        idx = np.flatnonzero(labels == label)
        if idx.size == 0:
            continue
        rng = np.random.default_rng(derive_seed(seed, "relevance", stage, name))
        counts = bootstrap_counts(idx.size, n_boot, rng)
        results: dict[str, dict[str, tuple[float, np.ndarray]]] = {}
        if "pearson" in methods:
            results["pearson"] = {s: pearson_bootstrap(cam[idx], stats[s][idx], counts) for s in stats}
        if "pearson_within" in methods:
            cam_c = _centre_rows(cam[idx])
            results["pearson_within"] = {s: pearson_bootstrap(cam_c, _centre_rows(stats[s][idx]), counts)
                                         for s in stats}
        if "spearman" in methods and spearman_ci == "exact":
            results["spearman"] = spearman_bootstrap(cam[idx], {s: stats[s][idx] for s in stats}, counts)
        elif "spearman" in methods:
            rank_cam = _pooled_ranks(cam[idx])
            results["spearman"] = {s: pearson_bootstrap(rank_cam, _pooled_ranks(stats[s][idx]), counts)
                                   for s in stats}
        for method in methods:
            for statistic, (r, reps) in results[method].items():
                lo, hi = _interval(reps)
                rows.append({"stage": stage, "statistic": statistic, "class": name, "method": method, "r": r,
                             "ci_low": lo, "ci_high": hi, "n_traj": int(idx.size), "window": int(window)})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def stage_window(stage: str, windows: Mapping[str, int] | None, length: int) -> int:
    """The window for a stage: the one given, else the position-matched default (``stats.matched_windows``)."""
    if windows and stage in windows:
        return int(windows[stage])
    defaults = matched_windows(length)
    if stage not in defaults:
        raise ValueError(f"no window given for {stage!r} and no default (defaults exist for {list(defaults)})")
    return defaults[stage]


def relevance(
    x: np.ndarray,
    labels: np.ndarray,
    maps: Mapping[str, np.ndarray],
    windows: Mapping[str, int] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
    spearman_ci: str = "global-ranks",
) -> pd.DataFrame:
    """Correlations of every stage's maps with the statistics of inputs x (N, 2, T) in windows matched to it."""
    x = np.asarray(x)
    frames = []
    for stage, cam in maps.items():
        window = stage_window(stage, windows, x.shape[-1])
        stats = statistics_for_maps(x, np.asarray(cam).shape[1], window)
        frames.append(relevance_table(stage, cam, stats, labels, window, n_boot, seed, methods, spearman_ci))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))


def correlation_grid(table: pd.DataFrame, stage: str, method: str = "pearson") -> pd.DataFrame:
    """r as a statistics x classes frame (rows ``STATISTICS``, columns the classes present, in label order)."""
    sub = table[(table["stage"] == stage) & (table["method"] == method)]
    if sub.empty:
        raise ValueError(f"the table has no {method} rows for stage {stage!r}")
    grid = sub.pivot(index="statistic", columns="class", values="r")
    return grid.reindex(index=[s for s in STATISTICS if s in grid.index],
                        columns=[c for c in CLASS_NAMES if c in grid.columns])


@dataclass
class MapsAndStatistics:
    """Everything the correlations need, gathered shard by shard (the inputs themselves are not kept)."""

    labels: np.ndarray  # (N,) true class
    maps: dict[str, np.ndarray]  # stage -> (N, P) raw Grad-CAM
    stats: dict[str, dict[str, np.ndarray]]  # stage -> statistic -> (N, P)
    windows: dict[str, int]  # stage -> window length in steps


def collect(
    data_paths: Sequence[str],
    gradcam_paths: Sequence[str],
    stages: Sequence[str],
    windows: Mapping[str, int] | None = None,
) -> MapsAndStatistics:
    """Read trajectory shards and the Grad-CAM files of the same trajectories, and compute the statistics.

    The Grad-CAM files, concatenated, must hold the trajectories of the data files concatenated, in order
    (one Grad-CAM file per shard, or one for all). One data shard is in memory at a time, so the paper's
    400,000 training trajectories fit.
    """
    if not stages:
        raise ValueError("no stages given")
    if not data_paths or not gradcam_paths:
        raise ValueError("give at least one trajectory file and one Grad-CAM file")
    win = {s: stage_window(s, windows, INPUT_LENGTH) for s in stages}
    cams: dict[str, list[np.ndarray]] = {s: [] for s in stages}
    cam_labels: list[np.ndarray] = []
    for gpath in gradcam_paths:
        arrays, _ = read_gradcam(gpath)
        missing = [s for s in stages if s not in arrays]
        if missing:
            raise DataFileError(f"{gpath}: no map for stage(s) {', '.join(missing)}")
        for s in stages:
            cams[s].append(arrays[s])
        cam_labels.append(arrays["labels"].astype(np.int64))
    maps = {s: np.concatenate(c) for s, c in cams.items()}
    map_labels = np.concatenate(cam_labels)
    labels: list[np.ndarray] = []
    stats: dict[str, dict[str, list[np.ndarray]]] = {s: {k: [] for k in STATISTICS} for s in stages}
    row = 0
    for dpath in data_paths:
        data = read_trajectories(dpath)
        n = len(data)
        if n and int(data.lengths.min()) < INPUT_LENGTH:
            raise DataFileError(f"{dpath}: statistical relevance needs trajectories of {INPUT_LENGTH} steps "
                                f"(the fixed regime); this file has lengths down to {int(data.lengths.min())}")
        if not np.array_equal(map_labels[row:row + n], data.labels.astype(np.int64)):
            raise DataFileError(f"{dpath}: its labels differ from those of the Grad-CAM rows {row}..{row + n - 1}; "
                                "were the maps computed on other files or in another order?")
        x = model_input(data)  # (n, 2, 1000)
        labels.append(data.labels.astype(np.int64))
        for s in stages:
            for name, v in statistics_for_maps(x, maps[s].shape[1], win[s]).items():
                stats[s][name].append(v)
        row += n
    if row != map_labels.size:
        raise DataFileError(f"the Grad-CAM files hold {map_labels.size} trajectories, the data files {row}")
    return MapsAndStatistics(
        np.concatenate(labels), maps,
        {s: {k: np.concatenate(v) for k, v in d.items()} for s, d in stats.items()}, win,
    )


def relevance_from_files(
    data_paths: Sequence[str],
    gradcam_paths: Sequence[str],
    stages: Sequence[str],
    windows: Mapping[str, int] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
    spearman_ci: str = "global-ranks",
) -> pd.DataFrame:
    """The tidy correlation table for trajectory shards and the Grad-CAM files of the same trajectories."""
    got = collect(data_paths, gradcam_paths, stages, windows)
    frames = [relevance_table(s, got.maps[s], got.stats[s], got.labels, got.windows[s], n_boot, seed, methods,
                              spearman_ci) for s in stages]
    return pd.concat(frames, ignore_index=True)

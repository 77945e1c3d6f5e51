"""Noise-robust retraining: Grad-CAM-targeted versus random augmentation (METHODS §4).

The experiment, one function per step:

1. ``select``: within each class, keep the trajectories with the largest
   time-mean layer4 Grad-CAM ("targeted") or the same number drawn at random
   without replacement ("random"; the paper drew with replacement, §5.4).
2. ``augment``: the kept trajectories plus one copy of each rotated by an
   angle U(0, 2 pi). A fresh model is trained on the result by ``andicam train``.
3. ``evaluate_noise``: every model on the noise experiment's inputs
   (``andicam.noise.noisy_inputs``: Gaussian localisation noise of standard
   deviation sigma on every valid point of the normalised test trajectories,
   the same draw for every model, never accumulated across levels).
4. ``aggregate``: mean, standard error and t interval over retraining seeds
   per arm and noise level, and the paired difference targeted minus random
   with a paired t interval (andicam.intervals).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from andicam.config import PAPER_ARMS
from andicam.dataio import CLASS_NAMES, NUM_CLASSES, DataFileError, Trajectories
from andicam.intervals import PAIRED_T_METHOD, T_METHOD, t_interval
from andicam.seeding import derive_seed

if TYPE_CHECKING:  # torch is imported by the evaluation alone, so selecting and aggregating need none
    import torch

# The paper's two arms, then four beyond it. "targeted" ranks by the time-mean of the layer4 map, which is
# (true-class logit - bias) / 32, i.e. a logit; the next two use where Grad-CAM points (the finer layer3
# map's mean, the layer4 map's peak over time); most_probable ranks by the softmax probability of the true class
# (what "confidence" usually means), which no Grad-CAM map enters; least_confident keeps the bottom p % by the
# layer4 mean as a contrast.
ARMS: tuple[str, ...] = (*PAPER_ARMS, "targeted_layer3", "targeted_peak", "most_probable", "least_confident")
PROBABILITY = "probability"  # ARM_LAYER's name for the true-class log-probability of a Grad-CAM file
ARM_LAYER: dict[str, str] = {"targeted": "layer4", "random": "layer4", "targeted_layer3": "layer3",
                             "targeted_peak": "layer4", "most_probable": PROBABILITY, "least_confident": "layer4"}
# with_replacement: the paper's set-up (authors' earlier code behind its augmentation figure): per class
# size_per_class draws with replacement from the top p % (targeted) or from the whole class (random).
# without_replacement: keep p % of each class, targeted by rank, random drawn without replacement.
# notebooks: set-up V, the authors' later notebooks (METHODS §6.1): targeted keeps the top p % of each class once,
# random draws as many from the whole class *with* replacement (their defect 4, kept to reproduce them).
DRAWS: tuple[str, ...] = ("with_replacement", "without_replacement", "notebooks")
REPEATING_DRAWS: frozenset[str] = frozenset({"with_replacement", "notebooks"})  # draws whose sets may repeat
BASELINE = "baseline"  # the unaugmented main model, evaluated beside the arms
DIFFERENCE = "targeted-random"  # aggregate's label for the paired difference
# The paired differences aggregate adds besides each arm minus random: the Grad-CAM arms minus the most probable
# trajectories, i.e. does Grad-CAM's selection add anything beyond confidence? The paper's targeted arm (layer4
# mean, i.e. the logit) differs from most_probable only by ranking logits instead of probabilities; the layer3 mean
# and the layer4 peak use where Grad-CAM points.
BEYOND_CONFIDENCE: tuple[tuple[str, str], ...] = (("targeted", "most_probable"),
                                                   ("targeted_layer3", "most_probable"),
                                                   ("targeted_peak", "most_probable"))
# Every (arm, reference) whose paired difference aggregate writes as "<arm>-<reference>".
VERSUS_RANDOM: tuple[tuple[str, str], ...] = tuple((a, "random") for a in ARMS if a != "random")
DIFFERENCE_PAIRS: tuple[tuple[str, str], ...] = VERSUS_RANDOM + BEYOND_CONFIDENCE
CAM_LAYER = "layer4"
METRICS: tuple[str, ...] = ("accuracy", *(f"recall_{name}" for name in CLASS_NAMES))
T_SEEDS = T_METHOD.format(unit="retraining seed")
PAIRED_T_SEEDS = PAIRED_T_METHOD.format(unit="retraining seed")


# --- 1. selection -----------------------------------------------------------------------------------------------


def keep_count(n: int, percent: float) -> int:
    """How many of ``n`` trajectories of a class an arm keeps: ceil(p % of n).

    Ceiling, so that any p > 0 keeps at least one trajectory of a non-empty
    class; rounded to 9 decimals first so that e.g. 7 % of 100 is 7, not 8
    through floating-point error. Both arms use this same count.
    """
    if not 0 < percent <= 100:
        raise ValueError(f"percent must lie in (0, 100], got {percent}")
    return min(n, math.ceil(round(percent * n / 100, 9)))


def cam_score(cam: np.ndarray) -> np.ndarray:
    """Time-mean of each raw Grad-CAM map over its positions: (N, P) -> (N,).

    Taken at the layer's own resolution (32 positions for layer4), over all
    positions (for a short trajectory these include the left padding, as in
    the paper). The paper averaged the map after nearest upsampling to 1000
    steps, which weights positions 31 or 32 times; rankings agree up to near-ties.
    """
    return cam.astype(np.float64).mean(axis=1)  # (N, P) -> (N,)


def select(cam: np.ndarray, labels: np.ndarray, percent: float, arm: str, seed: int,
           draw: str = "without_replacement", size_per_class: int | None = None) -> np.ndarray:
    """Indices (ascending) of the trajectories an arm keeps; per class the same count in both arms.

    ``cam`` (N, P) is what the arm ranks by (``read_cam``): a stage's maps, or for most_probable the
    true-class log-probability (N, 1).

    draw "without_replacement": targeted keeps the ``keep_count`` trajectories
    of each class with the largest time-mean Grad-CAM (ties go to the lower
    index; ``seed`` is not used); random the same count per class, drawn
    without replacement. draw "notebooks" (set-up V): targeted as
    "without_replacement", random the same count per class drawn with
    replacement. draw "with_replacement" (the paper's figure):
    ``size_per_class`` draws with replacement per class from the top p % by
    time-mean Grad-CAM (targeted) or from the whole class (random), so the
    result may repeat indices. Draws use ``numpy.random.default_rng(seed)``,
    classes in label order.
    """
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    if draw not in DRAWS:
        raise ValueError(f"draw must be one of {DRAWS}, got {draw!r}")
    if (draw == "with_replacement") != (size_per_class is not None):
        raise ValueError("size_per_class is required by draw 'with_replacement' and used by no other draw")
    if size_per_class is not None and size_per_class < 1:
        raise ValueError(f"size_per_class must be positive, got {size_per_class}")
    cam = np.asarray(cam)
    labels = np.asarray(labels)
    if cam.ndim != 2 or labels.shape != (cam.shape[0],):
        raise ValueError(f"need cam (N, P) and labels (N,), got {cam.shape} and {labels.shape}")
    if not np.isfinite(cam).all():
        raise ValueError("the Grad-CAM maps contain NaN or Inf")
    score = cam.astype(np.float64).max(axis=1) if arm == "targeted_peak" else cam_score(cam)
    if arm == "least_confident":
        score = -score
    rng = np.random.default_rng(seed)
    kept = []
    for label in range(NUM_CLASSES):
        members = np.flatnonzero(labels == label)
        k = keep_count(members.size, percent)
        if arm == "random":
            pool = members
        else:
            order = np.argsort(-score[members], kind="stable")  # largest score first, stable on ties
            pool = members[order[:k]]
        if draw == "with_replacement":
            # a class absent from the shard has nothing to draw from
            kept.append(rng.choice(pool, size=size_per_class, replace=True) if pool.size else pool)
        elif arm == "random":
            kept.append(rng.choice(members, size=k, replace=draw == "notebooks"))
        else:
            kept.append(pool)
    return np.sort(np.concatenate(kept)).astype(np.int64)


RANKED_ARMS: tuple[str, ...] = tuple(a for a in ARMS if a != "random")


def _once_each(pairs: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """``pairs`` with each unordered pair kept once, as first met: equal pools make the share symmetric."""
    kept: dict[frozenset[str], tuple[str, str]] = {}
    for pair in pairs:
        kept.setdefault(frozenset(pair), pair)
    return tuple(kept.values())


# Pairs of ranked arms whose pools ``pool_overlap`` compares: each ranked arm against the paper's targeted one,
# and the Grad-CAM arms against confidence (BEYOND_CONFIDENCE).
OVERLAP_PAIRS: tuple[tuple[str, str], ...] = _once_each(
    (*((a, "targeted") for a in RANKED_ARMS if a != "targeted"), *BEYOND_CONFIDENCE))
OVERLAP_COLUMNS: tuple[str, ...] = ("class", "arm", "reference", "n_class", "pool_size", "shared", "share", "chance")


def pool_overlap(pools: dict[str, np.ndarray], labels: np.ndarray,
                 pairs: Sequence[tuple[str, str]] = OVERLAP_PAIRS) -> pd.DataFrame:
    """How alike two arms' training pools are: per class and over all classes, the share of an arm's pool
    that is also in the reference arm's pool.

    ``pools`` maps each arm to its pool (``select`` with draw "without_replacement": indices of the top p %
    of each class, the same count per class for every arm); ``labels`` (N,) the shard's classes. ``share`` =
    shared / pool_size; ``chance`` is its expectation for a pool of the same size drawn at random from the
    class, pool_size / n_class (over all classes: sum of pool_size^2 / n_class over sum of pool_size). A share
    near 1 means the two arms train on nearly the same trajectories, so their retrainings cannot differ much;
    a share near chance means the two rankings are as unrelated as a random draw. Pairs with an arm missing
    from ``pools`` are left out.
    """
    labels = np.asarray(labels)
    rows = []
    for arm, ref in ((a, r) for a, r in pairs if a in pools and r in pools):
        a_in = np.zeros(labels.size, bool)
        r_in = np.zeros(labels.size, bool)
        a_in[np.asarray(pools[arm], dtype=np.int64)] = True
        r_in[np.asarray(pools[ref], dtype=np.int64)] = True
        total = {"n": 0, "k": 0, "shared": 0, "chance": 0.0}
        for label, name in enumerate(CLASS_NAMES):
            member = labels == label
            n, k = int(member.sum()), int((a_in & member).sum())
            if k != int((r_in & member).sum()):
                raise ValueError(f"{arm} and {ref} keep {k} and {int((r_in & member).sum())} of class {name}: "
                                 "pools to compare must be of one size per class")
            if n == 0:
                continue
            shared = int((a_in & r_in & member).sum())
            rows.append({"class": name, "arm": arm, "reference": ref, "n_class": n, "pool_size": k,
                         "shared": shared, "share": shared / k if k else float("nan"), "chance": k / n})
            total["n"] += n
            total["k"] += k
            total["shared"] += shared
            total["chance"] += k * k / n
        if total["k"]:
            rows.append({"class": "all", "arm": arm, "reference": ref, "n_class": total["n"],
                         "pool_size": total["k"], "shared": total["shared"], "share": total["shared"] / total["k"],
                         "chance": total["chance"] / total["k"]})
    return pd.DataFrame(rows, columns=list(OVERLAP_COLUMNS))


# --- 2. augmentation ---------------------------------------------------------------------------------------------


def rotate(traj: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotate each 2-D trajectory (N, 2, T) about the origin by its angle (N,), in radians.

    The padding is zero and stays zero, so it needs no mask.
    """
    c = np.cos(angles)[:, None]  # (N, 1)
    s = np.sin(angles)[:, None]
    x = traj[:, 0].astype(np.float64)  # (N, T)
    y = traj[:, 1].astype(np.float64)
    return np.stack([c * x - s * y, s * x + c * y], axis=1).astype(np.float32)  # (N, 2, T)


def augment(data: Trajectories, idx: np.ndarray, seed: int, attrs: dict[str, Any] | None = None,
            repeats: bool = False) -> Trajectories:
    """The trajectories ``idx`` of ``data`` followed by one rotated copy of each (same order).

    ``repeats`` allows an index more than once (a draw with replacement); each
    occurrence gets its own rotation angle.

    Angles are U(0, 2 pi) from ``numpy.random.default_rng(seed)``. Lengths,
    labels and alpha are copied; ``attrs`` (arm, percent, sources) are
    recorded with the seed, the counts and a hash of the selection.
    """
    idx = np.asarray(idx, dtype=np.int64)
    if idx.size == 0:
        raise ValueError("no trajectories selected")
    if (not repeats and np.unique(idx).size != idx.size) or idx.min() < 0 or idx.max() >= len(data):
        raise ValueError(f"the selection must be {'' if repeats else 'distinct '}indices in [0, {len(data)})")
    kept = data.subset(idx)
    angles = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi, size=idx.size)  # (K,)
    meta: dict[str, Any] = {
        "split": "augmented",
        "source_attrs": {k: v for k, v in data.attrs.items() if k not in ("format", "class_names")},
        "augment_rotation_seed": int(seed),
        "augment_rotation": "one copy of each kept trajectory rotated about the origin by U(0, 2 pi)",
        "n_source": len(data),
        "n_kept": int(idx.size),
        "kept_per_class": np.bincount(kept.labels, minlength=NUM_CLASSES).tolist(),
        "selection_sha256": hashlib.sha256(idx.tobytes()).hexdigest(),
        **(attrs or {}),
    }
    if "regime" in data.attrs:
        meta["regime"] = data.attrs["regime"]
    return Trajectories(
        np.concatenate([kept.trajectories, rotate(kept.trajectories, angles)]),  # (2K, 2, Tmax)
        np.concatenate([kept.lengths, kept.lengths]),
        np.concatenate([kept.labels, kept.labels]),
        np.concatenate([kept.alpha, kept.alpha]),
        meta,
    )


def read_cam(path: str | Path, layer: str = CAM_LAYER) -> tuple[np.ndarray, np.ndarray]:
    """What an arm ranks by, (N, P), and the labels (N,) of a Grad-CAM file (``andicam.gradcam`` layout).

    ``layer`` a stage: its raw maps. ``layer`` ``PROBABILITY``: the log-softmax probability of each
    trajectory's true class as an (N, 1) array, so that its time-mean (``cam_score``) is itself.
    """
    from andicam.gradcam import read_gradcam

    return ranking(read_gradcam(path)[0], layer, path)


def ranking(arrays: dict[str, np.ndarray], layer: str, path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``read_cam`` on the arrays of a Grad-CAM file already read (``read_gradcam``), so that several arms'
    rankings come from one read; ``path`` names the file in errors."""
    labels = arrays["labels"].astype(np.int64)
    if layer == PROBABILITY:
        if "log_probabilities" not in arrays:
            raise DataFileError(f"{path}: holds no log-probabilities (written by an older andicam); "
                                "compute its Grad-CAM again to rank by probability")
        log_p = arrays["log_probabilities"][np.arange(labels.size), labels][:, None]  # (N, 1)
        if not np.isfinite(log_p).all():
            raise DataFileError(f"{path}: 'log_probabilities' contains NaN or Inf at a true class")
        return log_p, labels
    if layer not in arrays:
        stages = ", ".join(k for k in arrays if k.startswith("layer")) or "none"
        raise DataFileError(f"{path}: holds no {layer!r} maps (stages: {stages})")
    cam = arrays[layer]
    if not np.isfinite(cam).all():
        raise DataFileError(f"{path}: {layer!r} contains NaN or Inf")
    return cam, labels


def check_cam_matches(cam_labels: np.ndarray, data: Trajectories, cam_path: str | Path, data_path: str | Path) -> None:
    """Raise DataFileError unless the Grad-CAM rows are the trajectories of ``data``, in order."""
    if cam_labels.shape[0] != len(data):
        raise DataFileError(
            f"{cam_path}: Grad-CAM has {cam_labels.shape[0]} rows but {data_path} holds {len(data)} "
            "trajectories; it was not computed on this shard"
        )
    differ = np.flatnonzero(cam_labels != data.labels)
    if differ.size:
        raise DataFileError(
            f"{cam_path}: labels differ from {data_path} at {differ.size} of {len(data)} rows "
            f"(first at row {differ[0]}); it was computed on another shard or in another order"
        )


def augmented_set(
    data: Trajectories, cam: np.ndarray, arm: str, percent: float, seed: int, attrs: dict[str, Any] | None = None,
    draw: str = "without_replacement", size_per_class: int | None = None,
) -> Trajectories:
    """Selection and rotation of one (arm, seed), each from its own stream derived from ``seed``."""
    select_seed = derive_seed(seed, "select")
    idx = select(cam, data.labels, percent, arm, select_seed, draw, size_per_class)
    meta = {"augment_arm": arm, "augment_percent": float(percent), "augment_set_seed": int(seed),
            "augment_select_seed": select_seed, "augment_draw": draw,
            "augment_size_per_class": -1 if size_per_class is None else int(size_per_class), **(attrs or {})}
    return augment(data, idx, derive_seed(seed, "rotate"), meta, repeats=draw in REPEATING_DRAWS)


# --- 3. noisy evaluation -----------------------------------------------------------------------------------------


def evaluate_noise(
    models: Sequence[str | Path],
    arms: Sequence[str],
    model_seeds: Sequence[int],
    data: Trajectories,
    sigmas: Sequence[float],
    seed: int,
    device: torch.device | str = "cpu",
    batch_size: int = 512,
    amp: bool = False,
) -> pd.DataFrame:
    """Accuracy and per-class recall of every model at every noise level, one row per (model, sigma).

    ``arms`` and ``model_seeds`` label the models (one each, in order) for the
    aggregation. ``amp``: bf16 autocast, the first convolution in fp32 (andicam.noise.evaluate_at_noise).
    """
    if not models or not len(models) == len(arms) == len(model_seeds):
        raise ValueError(
            f"need one arm and one seed per model, got {len(models)} models, {len(arms)} arms, {len(model_seeds)} seeds"
        )
    from andicam.noise import evaluate_at_noise

    ids = [{"model": str(m), "arm": a, "seed": int(s)} for m, a, s in zip(models, arms, model_seeds)]
    return evaluate_at_noise(models, ids, data, sigmas, seed, METRICS, None, device, batch_size, amp)


# --- 4. aggregation ----------------------------------------------------------------------------------------------


def _summary_row(arm: str, sigma: float, metric: str, values: np.ndarray, method: str) -> dict[str, Any]:
    values = values[np.isfinite(values)]  # a class absent from the test data has no recall
    n = values.size
    # accuracies and recalls are shares, differences of shares lie in [-1, 1]; t bounds can pass both at few seeds
    ci = t_interval(values, limits=(-1.0, 1.0) if method == PAIRED_T_SEEDS else (0.0, 1.0)) if n else None
    return {
        "arm": arm, "sigma": sigma, "metric": metric, "n": n,
        "mean": ci.mean if ci else float("nan"),
        "se": float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
        "ci_low": ci.low if ci else float("nan"), "ci_high": ci.high if ci else float("nan"),
        "ci_method": method if n > 1 else "",
    }


def aggregate(results: pd.DataFrame) -> pd.DataFrame:
    """Tidy summary: one row per (arm, sigma, metric) with n, mean, se (std ddof=1 / sqrt n), 95 % t interval.

    Adds arm ``<arm>-random`` for every other arm in the results: its
    difference from the random arm paired by retraining seed (the arm's seeds, which must all be random's; a
    paper arm against a diagnostic arm: the diagnostic arm's), per
    level and metric, with a paired t interval; and ``<arm>-most_probable`` for the arms of
    ``BEYOND_CONFIDENCE``, paired the same way. The
    intervals are over retraining seeds: with 5-10 seeds a percentile bootstrap
    would cover only 83-91 % (tests/test_intervals.py).
    """
    missing = {"arm", "seed", "sigma", *METRICS} - set(results.columns)
    if missing:
        raise ValueError(f"noise results lack column(s) {', '.join(sorted(missing))}")
    unknown = set(results["arm"]) - {*ARMS, BASELINE}
    if unknown:
        raise ValueError(f"unknown arm(s) {sorted(unknown)}; expected {[*ARMS, BASELINE]}")
    dup = results.duplicated(["arm", "seed", "sigma"])
    if dup.any():
        first = results.loc[dup].iloc[0]
        raise ValueError(f"duplicate result for arm {first['arm']}, seed {first['seed']}, sigma {first['sigma']}")
    rows = []
    for (arm, sigma), group in results.groupby(["arm", "sigma"], sort=True):
        for metric in METRICS:
            rows.append(_summary_row(arm, float(sigma), metric, group[metric].to_numpy(float), T_SEEDS))
    present = set(results["arm"])
    for arm, ref in ((a, r) for a, r in DIFFERENCE_PAIRS if a in present and r in present):
        for sigma, group in results[results["arm"].isin([arm, ref])].groupby("sigma", sort=True):
            other = group[group["arm"] == arm].set_index("seed")
            reference = group[group["arm"] == ref].set_index("seed")
            # A diagnostic arm may have fewer seeds (augment.diagnostic_seeds): the pairs are the arm's seeds, or the
            # reference's where a paper arm meets a diagnostic one; each must be the other side's too.
            (name, mine), (their_name, theirs) = ((arm, other), (ref, reference))
            if arm in PAPER_ARMS and ref not in PAPER_ARMS:
                (name, mine), (their_name, theirs) = (their_name, theirs), (name, mine)
            if not set(mine.index) <= set(theirs.index):
                only = sorted(set(mine.index) - set(theirs.index))
                raise ValueError(
                    f"seed(s) {only} at sigma {sigma} are in {name} but not in {their_name}; the paired "
                    f"difference needs each of {name}'s seeds in {their_name} too"
                )
            seeds = sorted(mine.index)
            for metric in METRICS:
                diff = other.loc[seeds, metric].to_numpy(float) - reference.loc[seeds, metric].to_numpy(float)
                rows.append(_summary_row(f"{arm}-{ref}", float(sigma), metric, diff, PAIRED_T_SEEDS))
    return pd.DataFrame(rows)

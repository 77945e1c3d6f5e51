"""The AnDi 2020 challenge's Task 2 (which of five models made a track) in 2-D, as a benchmark.

Data
----
``generate_task2`` builds the challenge's Task 2 data in 2-D exactly as
``andi_datasets.datasets_challenge.challenge_theory_dataset`` does, with the same calls to
``andi_datasets`` in the same order, so that the same random state gives the same trajectories and
labels (tested against that function). It does it itself for one reason: that function returns, with
``return_noise=True``, noise amplitudes indexed by the rows of the whole simulated set, not of the
Task 2 selection it returns, so they do not belong to its trajectories; here every trajectory keeps
its own localisation-noise level and diffusion coefficient.

The challenge's recipe, in 2-D: trajectories of 1000 points for the five models (ATTM, CTRW, FBM, LW,
SBM) on the exponent grid 0.05, 0.10, ..., 2.00 (ATTM and CTRW up to 1.00, LW from 1.05, FBM below 2),
in numbers that balance the models; each coordinate normalised to unit-std increments; Gaussian
localisation noise of std 0.1, 0.5 or 1 (drawn per trajectory, in units of the step std); the
increments multiplied by a diffusion coefficient drawn from a standard normal; per model the first
``1.1 N / 5`` trajectories, shuffled, the first ``N`` kept, each cut to its first ``T`` points with
``T`` uniform in 10..999.

Scores
------
The challenge scored Task 2 by the micro-averaged F1, which for one label per track equals the share
of tracks classified correctly; intervals are Wilson 95 % intervals over trajectories.

Eight classes to five models
----------------------------
A model of the paper's eight classes scores here through ``andicam.predict.fold_to_andi_models``: ATTM = SubATTM,
CTRW = SubCTRW, FBM = SubFBM + SupFBM + BM/2, LW = SupLW, SBM = SubSBM + SupSBM + BM/2. Brownian motion
is FBM and SBM at alpha = 1 at once, so its probability goes half to each; the eight-class models also
never saw ATTM or CTRW at alpha = 1 or LW at alpha = 2, which the challenge has.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from andicam.dataio import ANDI_MODELS, CLASS_NAMES, LENGTH_EDGES, Trajectories, length_bin_labels, length_bins
from andicam.intervals import wilson_interval
from andicam.simulate import normalise, seeded_state

# The challenge's localisation-noise levels (std, in units of the normalised step).
NOISE_LEVELS: tuple[float, ...] = (0.1, 0.5, 1.0)
MIN_T, MAX_T = 10, 1000
DIMENSION = 2
# The exponent grid, as the challenge writes it (its last value is 2 only up to rounding).
EXPONENTS = np.arange(0.05, 2.01, 0.05)


@dataclass
class Task2Set:
    """Task 2 trajectories as the challenge hands them out: x and y, each of its own length."""

    xy: list[np.ndarray]  # (2, T) float64 each
    labels: np.ndarray  # (N,) int, index into ANDI_MODELS
    alpha: np.ndarray  # (N,) float, the exponent the track was simulated with
    noise: np.ndarray  # (N,) float, localisation-noise std (0.1, 0.5 or 1)
    diffusion: np.ndarray  # (N,) float, the factor on its increments
    seed: int

    def __len__(self) -> int:
        return len(self.xy)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([xy.shape[1] for xy in self.xy], dtype=np.int32)


def trajectories_per_exponent(n: int) -> np.ndarray:
    """(5, 40) simulated trajectories per model and exponent for a Task 2 set of ``n``: the challenge's table."""
    n_exp = len(EXPONENTS)
    n_per_model = np.ceil(1.6 * n / 5)
    subdif, superdif = n_exp // 2, n_exp // 2 + 1
    table = np.zeros((len(ANDI_MODELS), n_exp))
    table[:2, :subdif] = np.ceil(n_per_model / subdif)  # ATTM, CTRW
    table[2, :] = np.ceil(n_per_model / (n_exp - 1))  # FBM
    table[2, EXPONENTS == 2] = 0  # FBM cannot be ballistic
    table[3, subdif:] = np.ceil((n_per_model / superdif) * 0.8)  # LW
    table[4, :] = np.ceil(n_per_model / n_exp)  # SBM
    return table


def _generate_in_state(n: int, min_t: int, max_t: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray,
                                                                  np.ndarray, np.ndarray]:
    """The challenge's Task 2 steps in 2-D, drawing from the current global numpy random state."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from andi_datasets.datasets_theory import datasets_theory
        from andi_datasets.utils_trajectories import normalize
    with contextlib.redirect_stdout(io.StringIO()):  # andi_datasets prints progress
        dataset = datasets_theory().create_dataset(
            T=max_t, N_models=trajectories_per_exponent(n), exponents=EXPONENTS, dimension=DIMENSION,
            models=np.arange(len(ANDI_MODELS)), load_trajectories=False, save_trajectories=False, N_save=100,
            path="datasets/")
    n_traj = dataset.shape[0]
    dataset[:, 2:] = normalize(dataset[:, 2:].reshape(n_traj * DIMENSION, max_t)).reshape(dataset[:, 2:].shape)
    amplitude = np.random.choice(np.array(NOISE_LEVELS), size=n_traj).repeat(DIMENSION)
    loc_error = (np.random.randn(n_traj * DIMENSION, int(max_t)).transpose() * amplitude).transpose()
    dataset = datasets_theory().create_noisy_localization_dataset(dataset, dimension=DIMENSION, T=max_t,
                                                                  noise_func=loc_error)
    trajs = dataset[:, 2:].reshape(n_traj * DIMENSION, max_t)
    coefficient = np.random.randn(n_traj).repeat(DIMENSION)
    steps = np.diff(trajs, axis=1) * coefficient[:, None]
    scaled = np.concatenate([np.zeros((steps.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)
    dataset[:, 2:] = scaled.reshape(dataset[:, 2:].shape)
    per_model = max(1, int(1.1 * n / 5))
    rows = np.concatenate([np.flatnonzero(dataset[:, 0] == m)[:per_model] for m in range(len(ANDI_MODELS))])
    rows = rows[np.random.permutation(rows.shape[0])][:n]
    xy, labels, alpha, noise, diffusion = [], [], [], [], []
    for r in rows:
        cut = np.random.randint(min_t, max_t)
        xy.append(dataset[r, 2:].reshape(DIMENSION, -1)[:, :cut].copy())
        labels.append(int(dataset[r, 0]))
        alpha.append(float(np.around(dataset[r, 1], 2)))
        noise.append(float(amplitude[DIMENSION * r]))
        diffusion.append(float(coefficient[DIMENSION * r]))
    return xy, np.array(labels, dtype=np.int64), np.array(alpha), np.array(noise), np.array(diffusion)


def generate_task2(n: int, seed: int, min_t: int = MIN_T, max_t: int = MAX_T) -> Task2Set:
    """``n`` Task 2 trajectories in 2-D, as the challenge generates them, from ``seed`` alone.

    Every draw (andi_datasets' and that of the ``stochastic`` package it uses for FBM) comes from one
    numpy random state seeded with ``seed``; the caller's random state is left as it was.
    """
    if n < 1:
        raise ValueError(f"need at least one trajectory, got n = {n}")
    if not 2 <= min_t < max_t:
        raise ValueError(f"need 2 <= min_t < max_t, got {min_t}, {max_t}")
    with seeded_state(seed):
        xy, labels, alpha, noise, diffusion = _generate_in_state(n, min_t, max_t)
    return Task2Set(xy, labels, alpha, noise, diffusion, seed)


def to_trajectories(task: Task2Set, max_length: int = MAX_T) -> Trajectories:
    """The tracks as a trajectory file holds them: each coordinate normalised as predict normalises a
    user's track (andi_datasets' normalisation), left-aligned in (N, 2, max_length), labels of ANDI_MODELS."""
    n = len(task)
    out = np.zeros((n, DIMENSION, max_length), dtype=np.float32)
    lengths = task.lengths
    if lengths.max() > max_length:
        raise ValueError(f"a track has {lengths.max()} points, more than the {max_length} of the file")
    for i, xy in enumerate(task.xy):
        out[i, :, : xy.shape[1]] = normalise(xy)
    return Trajectories(out, lengths, task.labels.astype(np.int8), task.alpha.astype(np.float32),
                        attrs={"class_names": list(ANDI_MODELS)})


def reference_table(task: Task2Set) -> pd.DataFrame:
    """One row per track: what the challenge's reference file holds, plus its noise and coefficient."""
    return pd.DataFrame({
        "index": np.arange(len(task)),
        "model": [ANDI_MODELS[k] for k in task.labels],
        "label": task.labels,
        "alpha": task.alpha,
        "length": task.lengths,
        "noise": task.noise,
        "diffusion": task.diffusion,
    })


def micro_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
    """The challenge's Task 2 metric: micro-averaged F1, i.e. the share classified correctly (one label each)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if labels.shape != predicted.shape or labels.size == 0:
        raise ValueError(f"need equal, non-empty label arrays, got {labels.shape} and {predicted.shape}")
    # micro precision = micro recall = correct / n when every track has one true and one predicted label
    return float((labels == predicted).mean())


def _row(group: str, value: str, labels: np.ndarray, predicted: np.ndarray) -> dict[str, object]:
    n = int(labels.size)
    if n == 0:
        return {"group": group, "bin": value, "n": 0, "micro_f1": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    correct = int((labels == predicted).sum())
    low, high = wilson_interval(correct, n)
    return {"group": group, "bin": value, "n": n, "micro_f1": micro_f1(labels, predicted), "ci_low": low,
            "ci_high": high}


def score_table(labels: np.ndarray, predicted: np.ndarray, lengths: np.ndarray, noise: np.ndarray,
                edges: tuple[int, ...] = LENGTH_EDGES) -> pd.DataFrame:
    """Micro-F1 overall, per length bin and per noise level, each with its Wilson 95 % interval
    (unit: trajectories). Columns: group (all / length / noise), bin ("all", "T 10-49", ..., "sigma 0.1", ...),
    n, micro_f1, ci_low, ci_high."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    rows = [_row("all", "all", labels, predicted)]
    bins = length_bins(np.asarray(lengths), edges)
    for k, label in enumerate(length_bin_labels(edges)):
        rows.append(_row("length", f"T {label}", labels[bins == k], predicted[bins == k]))
    for level in NOISE_LEVELS:
        keep = np.isclose(noise, level)
        rows.append(_row("noise", f"sigma {level:g}", labels[keep], predicted[keep]))
    table = pd.DataFrame(rows)
    table.attrs["interval"] = "Wilson 95 %, unit: trajectories"
    return table


def andi_model_probabilities(probs: np.ndarray, class_names: tuple[str, ...]) -> np.ndarray:
    """(N, 5) probabilities of ANDI_MODELS from a classifier's (N, C): a five-model classifier's as they
    are (reordered to ANDI_MODELS), the paper's eight classes folded (``andicam.predict.fold_to_andi_models``)."""
    class_names = tuple(class_names)
    if set(class_names) == set(ANDI_MODELS):
        return np.asarray(probs, dtype=np.float64)[:, [class_names.index(m) for m in ANDI_MODELS]]
    if class_names == CLASS_NAMES:
        from andicam.predict import fold_to_andi_models  # imports torch: only where an eight-class model is scored

        return np.asarray(fold_to_andi_models(np.asarray(probs, dtype=np.float64)))
    raise ValueError(f"a classifier of classes {list(class_names)} cannot be scored on the AnDi models "
                     f"{list(ANDI_MODELS)}: it must have those five or the paper's eight classes")


def confusion_frame(labels: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """The 5 x 5 confusion counts in long form: true, predicted, count (every pair, zeros included)."""
    k = len(ANDI_MODELS)
    counts = np.bincount(np.asarray(labels) * k + np.asarray(predicted), minlength=k * k).reshape(k, k)
    return pd.DataFrame([{"true": ANDI_MODELS[i], "predicted": ANDI_MODELS[j], "count": int(counts[i, j])}
                         for i in range(k) for j in range(k)])

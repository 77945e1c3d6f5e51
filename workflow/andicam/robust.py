"""Noise-robust classification (beyond the paper): training inputs with fresh localisation noise, and a
per-track estimate of the noise a real track carries.

The paper trains on noiseless trajectories; real tracks carry localisation noise. A robust model sees,
at every epoch, each training trajectory with Gaussian noise of its own sigma ~ U(low, high) added to
every valid point of x and y of the normalised trajectory (and, optionally, a random rotation), then
left-padded and min-max scaled exactly as ``andicam.preprocess.to_model_input``. With a constant sigma
this is the noise experiment's input (``andicam.augment.noisy_inputs``); sigma is in units of the
trajectory's step standard deviation, so sigma = 1 is a signal-to-noise ratio of 1.

The estimator ``estimate_noise`` reads the noise from a track itself: white localisation noise of
variance s2 adds 2 s2 to the variance of the increments, -s2 to their lag-1 covariance and nothing
to their lag-2 covariance. Taking the motion's own lag-1 covariance to equal its lag-2 one,
s2 = cov2 - cov1, and the step variance is var - 2 s2. That is exact for Brownian motion and keeps
persistent motion (super-diffusive FBM, Levy walks) from hiding the noise, which the plain -cov1
does (median estimate 0 at sigma 0.5 for both); strongly anti-correlated motion (sub-diffusive FBM)
still reads partly as noise. The bias per class is measured on simulated tracks by
``estimator_bias`` (a workflow table) and stated in the README.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from andicam.dataio import CLASS_NAMES, Trajectories
from andicam.preprocess import INPUT_LENGTH

# Above this the steps are (almost) all noise: the estimate is capped so that tables stay finite.
NOISE_EST_CAP = 10.0


@dataclass(frozen=True)
class NoiseRange:
    """Per-trajectory noise of robust training: sigma ~ U(low, high), or 0 with probability ``clean``;
    optionally a random rotation."""

    low: float = 0.0
    high: float = 0.0
    rotate: bool = False
    clean: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and 0 <= self.low <= self.high):
            raise ValueError(f"noise range must satisfy 0 <= low <= high (finite), got [{self.low}, {self.high}]")
        if not 0 <= self.clean < 1:
            raise ValueError(f"the clean fraction must lie in [0, 1), got {self.clean}")

    @property
    def active(self) -> bool:
        return self.high > 0 or self.rotate


def valid_mask(lengths: Tensor, length: int = INPUT_LENGTH) -> Tensor:
    """(N,) trajectory lengths -> (N, length) bool, True on the last ``lengths`` steps (left padding)."""
    return torch.arange(length, device=lengths.device)[None, :] >= (length - lengths)[:, None]


def minmax_scale(x: Tensor) -> Tensor:
    """``andicam.preprocess.minmax_scale`` in torch: each (trajectory, axis) row to [0, 1]; constant rows 0."""
    lo = x.amin(dim=-1, keepdim=True)
    span = x.amax(dim=-1, keepdim=True) - lo
    return (x - lo) / torch.where(span == 0, torch.ones_like(span), span)


def rotate(x: Tensor, angles: Tensor) -> Tensor:
    """Rotate each (2, L) trajectory about the origin by its angle (N,); zero padding stays zero."""
    c, s = torch.cos(angles)[:, None], torch.sin(angles)[:, None]  # (N, 1)
    return torch.stack([c * x[:, 0] - s * x[:, 1], s * x[:, 0] + c * x[:, 1]], dim=1)  # (N, 2, L)


def noisy_input(padded: Tensor, valid: Tensor, sigma: Tensor, noise: Tensor, angles: Tensor | None = None) -> Tensor:
    """Network input of left-padded normalised trajectories with noise added to their valid points.

    padded (N, 2, L): ``andicam.preprocess.left_pad`` of stored trajectories; valid (N, L); sigma (N,);
    noise (N, 2, L) standard normal; angles (N,) or None. Equal to
    ``to_model_input(add_noise(...))`` for the same noise and a constant sigma.
    """
    x = padded if angles is None else rotate(padded, angles)
    x = x + sigma[:, None, None] * noise * valid[:, None, :]  # (N, 2, L)
    return minmax_scale(x)


def draw_noise(gen: torch.Generator, n: int, noise: NoiseRange, length: int = INPUT_LENGTH,
               device: torch.device | str = "cpu") -> tuple[Tensor, Tensor, Tensor | None]:
    """sigma (N,), standard-normal noise (N, 2, length) and angles (N,) or None, drawn from ``gen``."""
    sigma = noise.low + (noise.high - noise.low) * torch.rand(n, generator=gen, device=device)
    if noise.clean > 0:
        sigma = torch.where(torch.rand(n, generator=gen, device=device) < noise.clean, 0.0, sigma)
    z = torch.randn(n, 2, length, generator=gen, device=device)
    angles = 2 * math.pi * torch.rand(n, generator=gen, device=device) if noise.rotate else None
    return sigma, z, angles


def noisy_batch(gen: torch.Generator, padded: Tensor, valid: Tensor, noise: NoiseRange) -> Tensor:
    """One batch of robust-training input: fresh noise (and rotation) from ``gen`` for each trajectory."""
    sigma, z, angles = draw_noise(gen, padded.shape[0], noise, padded.shape[-1], padded.device)
    return noisy_input(padded, valid, sigma, z, angles)


# ----------------------------------------------------------------------------- the noise of a track


def estimate_noise(xy: np.ndarray) -> float:
    """Localisation-noise std relative to the std of the true steps, from a track (T, 2) itself.

    From the increments d (x and y pooled): s2 = max(cov(d_t, d_t+2) - cov(d_t, d_t+1), 0) and step
    variance var(d) - 2 s2; returns sqrt(s2 / step variance), capped at ``NOISE_EST_CAP``
    (noise-dominated tracks) and NaN for tracks under 5 points or without motion. Unbiased for
    Brownian motion with white noise; see the module docstring and ``estimator_bias`` for the rest.
    """
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[0] < 5:
        return float("nan")
    d = np.diff(xy, axis=0)  # (T - 1, 2)
    d = d - d.mean(axis=0)
    var = float(np.mean(d * d))
    if not var > 0:
        return float("nan")
    s2 = max(float(np.mean(d[:-2] * d[2:]) - np.mean(d[:-1] * d[1:])), 0.0)
    step_var = var - 2 * s2
    if step_var <= var / (1 + 2 * NOISE_EST_CAP**2):
        return NOISE_EST_CAP
    return min(math.sqrt(s2 / step_var), NOISE_EST_CAP)


def estimate_noise_stored(data: Trajectories, sigma: float, seed: int) -> np.ndarray:
    """``estimate_noise`` of every stored trajectory (N,) after adding noise ``sigma`` (fresh, seeded)."""
    from andicam.augment import add_noise

    noisy = add_noise(data, sigma, seed)  # (N, 2, Tmax)
    return np.array([estimate_noise(noisy[i, :, : data.lengths[i]].T) for i in range(len(data))])


def estimator_bias(data: Trajectories, sigmas: list[float], seed: int) -> pd.DataFrame:
    """The estimator on simulated tracks: per class and true sigma, its median, mean, quartiles and bias.

    Long format, one row per (class, sigma) plus an ``all`` row per sigma; ``bias`` = median - sigma
    (the median, because noise-dominated tracks hit the cap). Noise seeds derive from ``seed`` and sigma.
    """
    from andicam.augment import noise_seed

    rows = []
    for sigma in sigmas:
        est = estimate_noise_stored(data, sigma, noise_seed(seed, sigma))
        groups = [(name, data.labels == k) for k, name in enumerate(CLASS_NAMES)] + [("all", np.ones(len(est), bool))]
        for name, members in groups:
            values = est[members & np.isfinite(est)]
            if not len(values):
                continue
            q1, med, q3 = np.percentile(values, [25, 50, 75])
            rows.append({"class": name, "sigma": float(sigma), "n": int(len(values)), "median": float(med),
                         "mean": float(values.mean()), "q25": float(q1), "q75": float(q3),
                         "bias": float(med - sigma), "capped": float(np.mean(values >= NOISE_EST_CAP))})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- robustness of the classifiers

# Trajectory-length bins of the robustness figure (left-closed; the last one includes its upper edge).
LENGTH_EDGES = (10, 50, 200, 500, 1000)
MODEL_KINDS = ("noiseless", "robust")
METHOD = "t interval over training seeds"


def length_bin_labels(edges: tuple[int, ...] | list[int]) -> list[str]:
    return [f"{a}-{b - 1}" if i < len(edges) - 2 else f"{a}-{b}" for i, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]


def length_bins(lengths: np.ndarray, edges: tuple[int, ...] | list[int]) -> np.ndarray:
    """Bin index of each length (N,); -1 outside [edges[0], edges[-1]]."""
    edges = np.asarray(edges)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"length bin edges must be at least two increasing numbers, got {edges.tolist()}")
    idx = np.searchsorted(edges, lengths, side="right") - 1
    idx[lengths == edges[-1]] = len(edges) - 2
    idx[(lengths < edges[0]) | (lengths > edges[-1])] = -1
    return idx


def _scores(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from andicam.evaluate import accuracy, confusion_matrix, macro_f1

    return {"accuracy": accuracy(labels, predicted), "macro_f1": macro_f1(confusion_matrix(labels, predicted))}


def noise_robustness(models: list[str], kinds: list[str], seeds: list[int], data: Trajectories, sigmas: list[float],
                     seed: int, edges: tuple[int, ...] | list[int] = LENGTH_EDGES,
                     device: torch.device | str = "cpu", batch_size: int = 512) -> pd.DataFrame:
    """Accuracy and macro-F1 of every model at every noise level, overall and per length bin.

    One row per (model, sigma, length bin); ``length_bin`` is ``all`` for the whole test set. The noise
    of a level is the noise experiment's (``andicam.augment.noisy_predictions``): the same draw for
    every model, so the kinds are compared on identical inputs.
    """
    from andicam.augment import noisy_predictions

    if not models or not len(models) == len(kinds) == len(seeds):
        raise ValueError(f"need one kind and one seed per model, got {len(models)}, {len(kinds)}, {len(seeds)}")
    unknown = sorted(set(kinds) - set(MODEL_KINDS))
    if unknown:
        raise ValueError(f"model kinds must be {' or '.join(MODEL_KINDS)}, got {unknown}")
    labels = data.labels.astype(np.int64)
    bins = length_bins(data.lengths, edges)
    names = length_bin_labels(edges)
    groups = [("all", np.ones(len(labels), bool))] + [(name, bins == b) for b, name in enumerate(names)]
    return pd.DataFrame([
        {"model": str(models[i]), "kind": kinds[i], "seed": int(seeds[i]), "sigma": float(sigma), "length_bin": name,
         "n": int(members.sum()), **_scores(labels[members], predicted[members])}
        for sigma, i, predicted in noisy_predictions(models, data, sigmas, seed, device, batch_size)
        for name, members in groups if members.any()
    ])


def robustness_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over training seeds with a t interval, per (regime, kind, sigma, length bin, metric), in %."""
    from andicam.summary import t_interval

    rows = []
    keys = ["regime", "kind", "sigma", "length_bin"]
    for key, group in table.groupby(keys, sort=False):
        for metric in ("accuracy", "macro_f1"):
            mean, lo, hi = t_interval(100 * group[metric].to_numpy(float), limits=(0.0, 100.0))
            rows.append({**dict(zip(keys, key)), "metric": metric, "mean": mean, "low": lo, "high": hi,
                         "n_seeds": int(group["seed"].nunique()), "n_trajectories": int(group["n"].iloc[0]),
                         "method": METHOD})
    return pd.DataFrame(rows)

"""The localisation-noise model: how noise is drawn, added to trajectories and read back from a track.

It owns every use of noise in the workflow, so that the experiments that compare models under noise see
the same draws:

- the noise experiment's inputs (``noisy_inputs``): Gaussian noise of standard deviation sigma on every
  valid point of the normalised test trajectories, drawn once per level from a seed that depends only on
  the master seed and sigma (``noise_seed``), so every model sees the same noisy inputs and noise never
  accumulates across levels (the paper's in-place addition made its nominal 1.0 really ~1.96, §5.3);
  ``noisy_predictions`` runs every model on them, and ``evaluate_at_noise`` scores them, the one
  evaluation path of the noise experiment (``andicam.augment``) and of the robustness table
  (``andicam.robust``);
- robust training's inputs (``NoiseRange``, ``noisy_batch``): at every epoch each training trajectory
  gets fresh noise of its own sigma ~ U(low, high) (and, optionally, a random rotation), added to the
  left-padded normalised trajectory before the min-max scaling of ``andicam.preprocess.to_model_input``.
  With a constant sigma this is ``noisy_inputs``; sigma is in units of the trajectory's step standard
  deviation, so sigma = 1 is a signal-to-noise ratio of 1;
- the per-track estimate (``estimate_noise``) that ``andicam predict`` reports: white localisation noise
  of variance s2 adds 2 s2 to the variance of the increments, -s2 to their lag-1 covariance and nothing
  to their lag-2 covariance. Taking the motion's own lag-1 covariance to equal its lag-2 one,
  s2 = cov2 - cov1, and the step variance is var - 2 s2. That is exact for Brownian motion and keeps
  persistent motion (super-diffusive FBM, Levy walks) from hiding the noise, which the plain -cov1
  does (median estimate 0 at sigma 0.5 for both); strongly anti-correlated motion (sub-diffusive FBM)
  still reads partly as noise. The bias per class is measured on simulated tracks by
  ``estimator_bias`` (a workflow table) and stated in docs/predict.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from andicam.dataio import CLASS_NAMES, Trajectories
from andicam.evaluate import confusion_matrix, macro_f1, predict_logits
from andicam.model import ResNet1d, check_model_classes, load_model
from andicam.preprocess import INPUT_LENGTH, to_model_input
from andicam.seeding import derive_seed


# --- noise of the noise experiment: stored trajectories, one draw per level ------------------------------------


def noise_seed(master: int, sigma: float) -> int:
    """Seed of the noise at level ``sigma``: depends on nothing else (sigma written to 6 significant digits)."""
    return derive_seed(master, "noise", format(float(sigma), ".6g"))


def add_noise(data: Trajectories, sigma: float, seed: int) -> np.ndarray:
    """Stored trajectories (N, 2, Tmax) with sigma * N(0, 1) added to every valid point of x and y.

    A new array: ``data`` is left untouched, so levels never accumulate. The
    noise is one draw of ``numpy.random.default_rng(seed)`` over the whole
    (N, 2, Tmax) array, masked to the valid points (the padding stays zero),
    so it does not depend on how many models are evaluated or in which order.
    """
    if not (math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"noise sigma must be finite and >= 0, got {sigma}")
    if sigma == 0:
        return data.trajectories.copy()
    tmax = data.trajectories.shape[2]
    noise = np.random.default_rng(seed).standard_normal(data.trajectories.shape, dtype=np.float32)  # (N, 2, Tmax)
    valid = np.arange(tmax)[None, :] < data.lengths[:, None]  # (N, Tmax)
    noise *= np.float32(sigma)  # in place: at paper scale each (N, 2, Tmax) temporary is 0.6 GB
    noise *= valid[:, None, :]
    noise += data.trajectories
    return noise


def noisy_inputs(data: Trajectories, sigma: float, seed: int) -> np.ndarray:
    """Network input (N, 2, 1000) of ``add_noise(data, sigma, seed)``; sigma 0 gives the clean input."""
    return to_model_input(add_noise(data, sigma, seed), data.lengths)  # (N, 2, 1000)


def predict(model: torch.nn.Module, x: np.ndarray, batch_size: int = 512, amp: bool = False) -> np.ndarray:
    """Predicted class (N,) of inputs (N, 2, 1000), in batches on the model's device."""
    return predict_logits(model, x, batch_size=batch_size, amp=amp).argmax(dim=1).cpu().numpy()  # (N, C) -> (N,)


def noisy_predictions(
    models: Sequence[ResNet1d],
    data: Trajectories,
    sigmas: Sequence[float],
    seed: int,
    batch_size: int = 512,
    amp: bool = False,
) -> Iterator[tuple[float, int, np.ndarray]]:
    """(sigma, index of the model, predicted class (N,)) for every noise level and model, levels outermost.

    Each level's noisy input is built once (seed ``noise_seed(seed, sigma)``) and
    every model (loaded, on its device) is run on it, so all models are compared on the same noise.
    """
    if not sigmas or min(sigmas) < 0 or len(set(sigmas)) != len(sigmas):
        raise ValueError(f"noise levels must be a non-empty list of distinct values >= 0, got {list(sigmas)}")
    for sigma in sigmas:
        x = noisy_inputs(data, sigma, noise_seed(seed, sigma))  # (N, 2, 1000)
        for i, model in enumerate(models):
            yield sigma, i, predict(model, x, batch_size, amp)


# --- noise of robust training: fresh per trajectory and batch, in torch ------------------------------------------


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


# --- the noise of a track ---------------------------------------------------------------------------------------


# Above this the steps are (almost) all noise: the estimate is capped so that tables stay finite.
NOISE_EST_CAP = 10.0


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
    noisy = add_noise(data, sigma, seed)  # (N, 2, Tmax)
    return np.array([estimate_noise(noisy[i, :, : data.lengths[i]].T) for i in range(len(data))])


def estimator_bias(data: Trajectories, sigmas: list[float], seed: int) -> pd.DataFrame:
    """The estimator on simulated tracks: per class and true sigma, its median, mean, quartiles and bias.

    Long format, one row per (class, sigma) plus an ``all`` row per sigma; ``bias`` = median - sigma
    (the median, because noise-dominated tracks hit the cap). Noise seeds derive from ``seed`` and sigma.
    """
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


# --- models under noise: the one evaluation path of the noise experiment and the robustness table -------------


def check_metrics(metrics: Sequence[str], class_names: Sequence[str] = CLASS_NAMES) -> None:
    """ValueError naming the first metric that ``scores`` does not know for these classes."""
    for metric in metrics:
        if metric not in ("accuracy", "macro_f1") and not (metric.startswith("recall_")
                                                           and metric[len("recall_"):] in class_names):
            raise ValueError(f"unknown metric {metric!r} (metrics: accuracy, macro_f1, recall_<class> of the "
                             f"classes {', '.join(class_names)})")


def scores(labels: np.ndarray, predicted: np.ndarray, metrics: Sequence[str],
           class_names: Sequence[str] = CLASS_NAMES) -> dict[str, float]:
    """The named metrics of predictions (N,) against labels (N,), in the order asked.

    ``accuracy``, ``macro_f1`` (``andicam.evaluate.macro_f1``) or ``recall_<class>`` of one of
    ``class_names`` (NaN for a class absent from ``labels``). One function for every table of models under
    noise, so that an accuracy in one is the same computation as in another.
    """
    check_metrics(metrics, class_names)
    row: dict[str, float] = {}
    for metric in metrics:
        if metric == "accuracy":
            row[metric] = float(np.mean(predicted == labels))
        elif metric == "macro_f1":
            row[metric] = macro_f1(confusion_matrix(labels, predicted, len(class_names)))
        else:
            label = list(class_names).index(metric[len("recall_"):])
            members = labels == label
            row[metric] = float(np.mean(predicted[members] == label)) if members.any() else float("nan")
    return row


def score_table(
    predictions: Iterable[tuple[float, int, np.ndarray]],
    labels: np.ndarray,
    ids: Sequence[Mapping[str, Any]],
    metrics: Sequence[str],
    groups: Sequence[tuple[str, np.ndarray]] | None = None,
    group_column: str = "length_bin",
    class_names: Sequence[str] = CLASS_NAMES,
) -> pd.DataFrame:
    """One row per (model, sigma), or per (model, sigma, group) with ``groups``, from ``noisy_predictions``.

    ``ids[i]`` holds the columns that name model i (file, arm or kind, training seed); ``groups`` are
    (name, mask (N,)) pairs, a group with no member gets no row; ``class_names``: the classes the labels
    index. Pure, so both noise experiments' tables are this one function over the same predictions.
    """
    rows = []
    for sigma, i, predicted in predictions:
        head = {**ids[i], "sigma": float(sigma)}
        if groups is None:
            rows.append({**head, "n": int(labels.size), **scores(labels, predicted, metrics, class_names)})
            continue
        rows += [{**head, group_column: name, "n": int(members.sum()),
                  **scores(labels[members], predicted[members], metrics, class_names)}
                 for name, members in groups if members.any()]
    return pd.DataFrame(rows)


def inference_model(path: str | Path, device: torch.device | str = "cpu", amp: bool = False) -> ResNet1d:
    """A model file loaded for prediction; with ``amp`` (bf16 autocast) its first convolution stays fp32, whatever
    the model was trained with, so the min-max scaled input keeps fp32's precision."""
    model = load_model(str(path), torch.device(device))
    if amp:
        model.cfg = dataclasses.replace(model.cfg, fp32_stem=True)
    return model


def evaluate_at_noise(
    models: Sequence[str | Path],
    ids: Sequence[Mapping[str, Any]],
    data: Trajectories,
    sigmas: Sequence[float],
    seed: int,
    metrics: Sequence[str],
    groups: Sequence[tuple[str, np.ndarray]] | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 512,
    amp: bool = False,
) -> pd.DataFrame:
    """``score_table`` of every model at every noise level of the noise experiment (``noisy_predictions``).

    Every model must classify the data's classes (``data.class_names``), which the metrics' recalls name;
    a mismatch is a DataFileError naming the model, raised before any prediction. ``amp``: bf16 autocast with
    the first convolution in fp32 (its input keeps fp32's 24 bits of mantissa), which changed 0.2-0.3 % of the
    predictions of fp32 and accuracy by at most 0.14 points at 2.6-3.6x the speed on a CPU with AMX
    (docs/benchmarks/bench_inference_noise_xeon_amx.txt); bf16 throughout changed 2-7 % of them.
    """
    loaded = [inference_model(path, device, amp) for path in models]
    for path, model in zip(models, loaded):
        check_model_classes(model, data.class_names, str(path))
    check_metrics(metrics, data.class_names)
    predictions = noisy_predictions(loaded, data, sigmas, seed, batch_size, amp)
    return score_table(predictions, data.labels.astype(np.int64), ids, metrics, groups,
                       class_names=data.class_names)

"""Noise-robust classification (beyond the paper): how the noiseless and the robust classifiers fare
against localisation noise, overall and by trajectory length.

The paper trains on noiseless trajectories; real tracks carry localisation noise. A robust model is
trained on inputs with fresh noise at every epoch (``andicam.noise.noisy_batch``, used by
``andicam.train``); this module scores both kinds of model on the noise experiment's inputs
(``andicam.noise``) and summarises the scores over training seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from andicam.dataio import LENGTH_EDGES, Trajectories, length_bin_labels, length_bins
from andicam.intervals import t_interval
from andicam.noise import evaluate_at_noise

# Trajectory-length bins of the robustness figure (left-closed; the last one includes its upper edge).
MODEL_KINDS = ("noiseless", "robust")
METHOD = "t interval over training seeds"
METRICS: tuple[str, ...] = ("accuracy", "macro_f1")


def noise_robustness(models: list[str], kinds: list[str], seeds: list[int], data: Trajectories, sigmas: list[float],
                     seed: int, edges: tuple[int, ...] | list[int] = LENGTH_EDGES,
                     device: torch.device | str = "cpu", batch_size: int = 512, amp: bool = False) -> pd.DataFrame:
    """Accuracy and macro-F1 of every model at every noise level, overall and per length bin.

    One row per (model, sigma, length bin); ``length_bin`` is ``all`` for the whole test set. The noise
    of a level is the noise experiment's (``andicam.noise.evaluate_at_noise``): the same draw for
    every model, so the kinds are compared on identical inputs.
    """
    if not models or not len(models) == len(kinds) == len(seeds):
        raise ValueError(f"need one kind and one seed per model, got {len(models)}, {len(kinds)}, {len(seeds)}")
    unknown = sorted(set(kinds) - set(MODEL_KINDS))
    if unknown:
        raise ValueError(f"model kinds must be {' or '.join(MODEL_KINDS)}, got {unknown}")
    bins = length_bins(data.lengths, edges)
    names = length_bin_labels(edges)
    groups = [("all", np.ones(len(data), bool))] + [(name, bins == b) for b, name in enumerate(names)]
    ids = [{"model": str(m), "kind": k, "seed": int(s)} for m, k, s in zip(models, kinds, seeds)]
    return evaluate_at_noise(models, ids, data, sigmas, seed, METRICS, groups, device, batch_size, amp)


def robustness_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean over training seeds with a t interval, per (regime, kind, sigma, length bin, metric), in %."""
    rows = []
    keys = ["regime", "kind", "sigma", "length_bin"]
    for key, group in table.groupby(keys, sort=False):
        for metric in METRICS:
            ci = t_interval(100 * group[metric].to_numpy(float), limits=(0.0, 100.0))
            rows.append({**dict(zip(keys, key)), "metric": metric, "mean": ci.mean, "low": ci.low, "high": ci.high,
                         "n_seeds": int(group["seed"].nunique()), "n_trajectories": int(group["n"].iloc[0]),
                         "method": METHOD})
    return pd.DataFrame(rows)

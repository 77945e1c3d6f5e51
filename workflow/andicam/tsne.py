"""t-SNE of the globally average-pooled features after each stage (METHODS §4).

The paper embedded all 400,000 training trajectories with scikit-learn;
here a seeded random subsample is embedded with openTSNE (FFT-accelerated,
PCA initialisation), one embedding per stage, each seeded from the master
seed and the stage name, so a rerun gives the identical embedding.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from andicam.dataio import CLASS_NAMES
from andicam.seeding import derive_seed


def subsample(n_total: int, n: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of size min(n, n_total), without replacement."""
    if n < 1:
        raise ValueError(f"subsample size must be positive, got {n}")
    if n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, n, replace=False))


def embed(features: np.ndarray, seed: int, perplexity: float = 30.0, n_jobs: int = 1) -> np.ndarray:
    """(N, D) -> (N, 2) float32 t-SNE embedding, deterministic for a given seed."""
    from openTSNE import TSNE

    n = features.shape[0]
    if n <= 3 * perplexity:
        raise ValueError(f"t-SNE with perplexity {perplexity} needs more than {3 * perplexity:g} points, got {n}; "
                         "lower the perplexity or embed more points")
    tsne = TSNE(perplexity=perplexity, random_state=seed % 2**32, n_jobs=n_jobs, initialization="pca")
    return np.asarray(tsne.fit(np.asarray(features, dtype=np.float64)), dtype=np.float32)


def tsne_table(
    features: dict[str, np.ndarray],
    labels: np.ndarray,
    index: np.ndarray,
    master_seed: int,
    perplexity: float = 30.0,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Tidy embedding: one row per (stage, trajectory) with columns stage, index, label, class, x, y."""
    labels = np.asarray(labels).astype(np.int64)
    parts = []
    for stage, f in features.items():
        xy = embed(f, derive_seed(master_seed, "tsne", stage), perplexity, n_jobs)
        parts.append(pd.DataFrame({"stage": stage, "index": index, "label": labels,
                                   "class": np.asarray(CLASS_NAMES)[labels], "x": xy[:, 0], "y": xy[:, 1]}))
    return pd.concat(parts, ignore_index=True)

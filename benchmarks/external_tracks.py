"""Models on tracks from a small generator written independently of andi-datasets (held-out style data).

    PYTHONPATH=workflow python benchmarks/external_tracks.py --models A.pt B.pt [--n 60] [--seed 1]

Simulates, with numpy only, Brownian motion, FBM (Davies-Harte), SBM, CTRW (Pareto waiting times)
and Lévy walks (Pareto flight times, constant speed) of lengths U{10..1000}; half of the tracks get
localisation noise with sigma ~ U(0.1, 1) step std, half none; all are scaled to physical-looking
units. It writes them as a CSV of localisations, classifies them with each model through
``andicam predict`` exactly as a user would, and prints the five-model accuracy (ATTM, CTRW, FBM,
LW, SBM, with BM on its own) overall and for the noiseless and noisy halves.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from andicam.predict import run_predict

MODELS = (("BM", 1.0, 1.0), ("FBM", 0.2, 0.9), ("FBM", 1.1, 1.8), ("SBM", 0.2, 0.9), ("SBM", 1.1, 1.8),
          ("CTRW", 0.2, 0.9), ("LW", 1.1, 1.9))
FIVE = np.array(["ATTM", "CTRW", "FBM", "LW", "SBM", "BM"])


def fgn(rng: np.random.Generator, n: int, hurst: float) -> np.ndarray:
    """Fractional Gaussian noise (n,) by circulant embedding."""
    k = np.arange(n + 1)
    g = 0.5 * (np.abs(k - 1) ** (2 * hurst) - 2 * k ** (2 * hurst) + (k + 1) ** (2 * hurst))
    lam = np.clip(np.fft.fft(np.r_[g, g[-2:0:-1]]).real, 0, None)
    w = rng.standard_normal(lam.size) + 1j * rng.standard_normal(lam.size)
    return np.fft.fft(np.sqrt(lam / lam.size) * w).real[:n]


def track(rng: np.random.Generator, model: str, n: int, alpha: float) -> np.ndarray:
    """(n, 2) positions of one track."""
    if model == "BM":
        return rng.standard_normal((n, 2)).cumsum(axis=0)
    if model == "FBM":
        return np.stack([fgn(rng, n, alpha / 2).cumsum(), fgn(rng, n, alpha / 2).cumsum()], axis=1)
    if model == "SBM":  # starts at the time origin, so that <x^2(t)> = 2 t^alpha
        t = np.arange(1, n)
        steps = rng.standard_normal((n - 1, 2)) * np.sqrt(t**alpha - (t - 1) ** alpha)[:, None]
        return np.vstack([[0.0, 0.0], steps.cumsum(axis=0)])
    if model == "CTRW":  # P(waiting time > t) ~ t^-alpha
        jumps = [0.0]
        while jumps[-1] < n:
            jumps.append(jumps[-1] + rng.pareto(alpha) + 1)
        pos = np.vstack([[0.0, 0.0], rng.standard_normal((len(jumps) - 1, 2)).cumsum(axis=0)])
        return pos[np.searchsorted(np.array(jumps[1:]), np.arange(n), side="right")]
    steps: list[np.ndarray] = []  # Lévy walk: flight time exponent 3 - alpha, unit speed
    while len(steps) < n:
        angle = rng.uniform(0, 2 * np.pi)
        steps += [np.array([np.cos(angle), np.sin(angle)])] * int(np.ceil(rng.pareto(3 - alpha) + 1))
    return np.cumsum(steps[:n], axis=0)


def make_tracks(n_per_model: int, seed: int) -> pd.DataFrame:
    """Localisations (track_id, frame, x, y) with each track's true model, alpha and noise sigma."""
    rng = np.random.default_rng(seed)
    frames = []
    for model, low, high in MODELS:
        for _ in range(n_per_model):
            n, alpha = int(rng.integers(10, 1001)), rng.uniform(low, high)
            xy = track(rng, model, n, alpha)
            d = np.diff(xy, axis=0)
            step = float(np.sqrt(np.mean((d - d.mean(axis=0)) ** 2))) or 1.0
            sigma = rng.uniform(0.1, 1.0) if rng.random() < 0.5 else 0.0
            xy = 0.13 * (xy + sigma * step * rng.standard_normal(xy.shape)) + [5.0, 3.0]
            frames.append(pd.DataFrame({"track_id": len(frames), "frame": np.arange(n), "x": xy[:, 0], "y": xy[:, 1],
                                        "true_model": model, "alpha": alpha, "sigma": sigma}))
    return pd.concat(frames, ignore_index=True)


def five_model_scores(predictions: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Five-model accuracy (%) of the ok tracks: all, noiseless half, noisy half."""
    p = predictions[predictions["status"] == "ok"].set_index("track_id").join(truth)
    cols = [f"p_model_{m}" for m in FIVE[:-1]] + ["p_BM"]
    hit = FIVE[p[cols].to_numpy().argmax(axis=1)] == p["true_model"].to_numpy()
    noisy = p["sigma"].to_numpy() > 0
    return {"n": int(len(p)), "all": 100 * hit.mean(), "noiseless": 100 * hit[~noisy].mean(),
            "noisy": 100 * hit[noisy].mean()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", required=True, help="model files to compare")
    p.add_argument("--n", type=int, default=60, help="tracks per generator (7 generators)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    tracks = make_tracks(args.n, args.seed)
    truth = tracks.groupby("track_id")[["true_model", "sigma"]].first()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tracks.csv"
        tracks.to_csv(path, index=False)
        for model in args.models:
            result = run_predict(model, path, Path(tmp) / "pred.csv")
            s = five_model_scores(result.table.assign(track_id=result.table["track_id"].astype(int)), truth)
            print(f"{model}: {result.metadata['model_kind']}, {s['n']} tracks: five-model accuracy {s['all']:.1f} % "
                  f"(noiseless half {s['noiseless']:.1f} %, noisy half {s['noisy']:.1f} %)")


if __name__ == "__main__":
    main()

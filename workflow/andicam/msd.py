"""Ensemble-averaged mean squared displacement and its power-law exponent.

CTRW, ATTM and SBM are not ergodic: their time-averaged MSD grows linearly
whatever alpha is. The ensemble average over trajectories of one class and a
narrow alpha bin, <|r(t) - r(0)|^2>, grows as t^alpha for every class, so that
is what checks the simulated exponents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from andicam.dataio import CLASS_NAMES, Trajectories


def ensemble_msd(traj: np.ndarray, lengths: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """<|r(t) - r(0)|^2> over the trajectories long enough for each lag t; NaN where none is."""
    disp2 = ((traj[:, :, lags] - traj[:, :, :1]) ** 2).sum(axis=1)  # (N, len(lags))
    valid = lengths[:, None] > lags[None, :]
    with np.errstate(invalid="ignore"):
        return np.where(valid, disp2, 0).sum(axis=0) / valid.sum(axis=0)


def fit_exponent(lags: np.ndarray, msd: np.ndarray) -> float:
    """Least-squares slope of log MSD against log lag."""
    ok = np.isfinite(msd) & (msd > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(lags[ok]), np.log(msd[ok]), 1)[0])


def fit_lags(max_length: int, n: int = 20) -> np.ndarray:
    """Log-spaced lags from 10 steps (past the short-time regime of CTRW/ATTM) to half the length."""
    hi = max(max_length // 2, 12)
    return np.unique(np.geomspace(min(10, hi - 2), hi, n).astype(int))


def exponents_by_alpha(data: Trajectories, bins: int = 4, min_count: int = 5) -> pd.DataFrame:
    """Per class and alpha bin: the drawn alpha (bin mean) and the fitted ensemble-MSD exponent."""
    lags = fit_lags(int(data.lengths.max()))
    rows = []
    for label, name in enumerate(CLASS_NAMES):
        idx = np.flatnonzero(data.labels == label)
        if idx.size == 0:
            continue
        alpha = data.alpha[idx]
        edges = np.linspace(alpha.min(), alpha.max(), bins + 1) if alpha.ptp() > 0 else np.array([alpha[0]] * 2)
        which = np.clip(np.searchsorted(edges, alpha, side="right") - 1, 0, len(edges) - 2)
        for b in np.unique(which):
            sel = idx[which == b]
            if sel.size < min_count:
                continue
            msd = ensemble_msd(data.trajectories[sel].astype(np.float64), data.lengths[sel], lags)
            rows.append({"label": label, "class": name, "bin": int(b), "n": int(sel.size),
                         "alpha_drawn": float(data.alpha[sel].mean()), "alpha_fitted": fit_exponent(lags, msd)})
    return pd.DataFrame(rows)

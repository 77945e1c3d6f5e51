"""The independent track generator of benchmarks/external_tracks.py: its processes have the exponents they claim."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from andicam.msd import ensemble_msd, fit_exponent

SPEC = importlib.util.spec_from_file_location(
    "external_tracks", Path(__file__).resolve().parents[1] / "benchmarks" / "external_tracks.py")
external = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(external)


@pytest.mark.parametrize("model,alpha", [("BM", 1.0), ("FBM", 0.4), ("FBM", 1.6), ("SBM", 0.5), ("SBM", 1.5),
                                         ("CTRW", 0.6), ("LW", 1.6)])
def test_ensemble_msd_exponent(model: str, alpha: float) -> None:
    rng = np.random.default_rng(0)
    n, length = 300, 400
    traj = np.stack([external.track(rng, model, length, alpha).T for _ in range(n)]).astype(np.float32)  # (n, 2, T)
    traj -= traj[:, :, :1]
    lags = np.unique(np.geomspace(1, 100, 12).astype(int))
    slope = fit_exponent(lags, ensemble_msd(traj, np.full(n, length), lags))
    # CTRW and Lévy walks approach their exponent slowly (ageing, finite flights): a looser bound
    assert abs(slope - alpha) < (0.2 if model in ("CTRW", "LW") else 0.1), slope


def test_tracks_file_and_scores() -> None:
    tracks = external.make_tracks(4, seed=2)
    truth = tracks.groupby("track_id")[["true_model", "sigma"]].first()
    assert len(truth) == 4 * len(external.MODELS)
    lengths = tracks.groupby("track_id").size()
    assert lengths.between(10, 1000).all()
    assert (truth["sigma"] == 0).any() and truth["sigma"].between(0, 1).all()
    # a perfect predictor scores 100 %, one that always says BM scores the BM share
    perfect = pd.DataFrame({"track_id": truth.index, "status": "ok"})
    for name in external.FIVE:
        col = "p_BM" if name == "BM" else f"p_model_{name}"
        perfect[col] = (truth["true_model"].to_numpy() == name).astype(float)
    assert external.five_model_scores(perfect, truth)["all"] == 100.0
    always_bm = perfect.assign(**{c: 1.0 if c == "p_BM" else 0.0 for c in perfect.columns if c.startswith("p_")})
    assert external.five_model_scores(always_bm, truth)["all"] == pytest.approx(100 / len(external.MODELS))

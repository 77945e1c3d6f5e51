"""t-SNE of pooled stage features: seeded, subsampled, and the figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from andicam.cli import main as cli_main
from andicam.dataio import Trajectories, write_trajectories
from andicam.model import STAGES, build_model, save_model
from andicam.plots.gradcam import plot_tsne
from andicam.model import pooled_features
from andicam.tsne import embed, subsample


def test_embedding_is_identical_for_a_seed() -> None:
    features = np.random.default_rng(0).normal(size=(40, 16)).astype(np.float32)
    a, b = embed(features, seed=5, perplexity=5), embed(features, seed=5, perplexity=5)
    assert a.shape == (40, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="perplexity"):
        embed(features[:10], seed=5, perplexity=5)


def test_subsample_is_seeded_sorted_and_without_replacement() -> None:
    idx = subsample(100, 30, seed=1)
    assert len(np.unique(idx)) == 30 and (np.diff(idx) > 0).all()
    np.testing.assert_array_equal(idx, subsample(100, 30, seed=1))
    assert not np.array_equal(idx, subsample(100, 30, seed=2))
    np.testing.assert_array_equal(subsample(10, 30, seed=1), np.arange(10))


def test_pooled_features_are_the_mean_over_positions() -> None:
    torch.manual_seed(0)
    model = build_model(depth=10, width=4).eval()
    x = np.random.default_rng(1).uniform(size=(5, 2, 1000)).astype(np.float32)
    feats = pooled_features(model, x, batch_size=2)
    with torch.no_grad():
        ref = model.forward_stages(torch.from_numpy(x))
    for s, width in zip(STAGES, (4, 8, 16, 32)):
        assert feats[s].shape == (5, width)
        np.testing.assert_allclose(feats[s], ref[s].mean(2).numpy(), rtol=1e-5, atol=1e-6)


def test_command_twice_gives_the_same_table_and_a_figure(tmp_path) -> None:
    rng = np.random.default_rng(2)
    n = 40
    traj = np.cumsum(rng.normal(size=(n, 2, 1000)), axis=2).astype(np.float32)
    data = Trajectories(traj, np.full(n, 1000, np.int32), (np.arange(n) % 8).astype(np.int8), np.ones(n, np.float32))
    write_trajectories(tmp_path / "d.h5", data)
    torch.manual_seed(0)
    save_model(str(tmp_path / "m.pt"), build_model(depth=10, width=4).eval())
    tables = []
    for name in ("a.csv", "b.csv"):
        assert cli_main(["tsne", "--model", str(tmp_path / "m.pt"), "--data", str(tmp_path / "d.h5"),
                         "--out", str(tmp_path / name), "--n-points", "24", "--perplexity", "5",
                         "--master-seed", "3", "--device", "cpu"]) == 0
        tables.append(pd.read_csv(tmp_path / name))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert len(tables[0]) == 4 * 24 and set(tables[0]["stage"]) == set(STAGES)
    pdf = tmp_path / "tsne.pdf"
    assert cli_main(["plot", "tsne", "--tsne", str(tmp_path / "a.csv"), "--out", str(pdf)]) == 0
    assert pdf.with_suffix(".png").is_file()
    assert len(plot_tsne(tables[0]).axes) == 4
    assert cli_main(["tsne", "--model", str(tmp_path / "m.pt"), "--data", str(tmp_path / "d.h5"),
                     "--out", str(tmp_path / "c.csv"), "--n-points", "12", "--master-seed", "3"]) == 2


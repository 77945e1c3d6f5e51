"""The workflow's own code on a CUDA card, against the CPU: training with its checkpoint and resume, robust
training's noise generator on the card, Grad-CAM, erasing and predict. All skip without CUDA
(benchmarks/gpu_check.sh runs them on a GPU machine).

Tolerances: on the card fp32 is IEEE (andicam.device), but cuDNN picks other convolution algorithms than
oneDNN, so sums run in another order: relative differences of order 1e-6 per layer, growing through the
network. Grad-CAM maps are compared at rtol 1e-4 with an absolute floor of 1e-5 of the map's largest value,
class decisions must agree on at least 99 % of inputs (a near-tie may flip), probabilities to 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from andicam.device import cuda_fp32_math, resolve_device
from andicam.erasing import erased_correct, gradcam_masks
from andicam.gradcam import compute_gradcam
from andicam.model import save_model
from andicam.predict import run_predict
from andicam.preprocess import left_pad, to_model_input
from andicam.train import TrainConfig, train
from helpers import Killed, kill_at, random_walks, trained_like_model

pytestmark = pytest.mark.gpu


def _data(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Padded trajectories (N, 2, 1000), their lengths, network inputs and labels."""
    walks = random_walks([n_per_class] * 8, tmax=120, seed=seed)
    return (left_pad(walks.trajectories, walks.lengths), walks.lengths.astype(np.int64),
            to_model_input(walks.trajectories, walks.lengths), walks.labels.astype(np.int64))


@pytest.mark.parametrize("robust", [False, True], ids=["noiseless", "robust"])
def test_training_on_cuda_checkpoints_and_resumes(tmp_path: Path, robust: bool) -> None:
    padded, lengths, x, y = _data(16, 0)
    vpadded, vlengths, vx, vy = _data(8, 1)
    noise = dict(noise_max=1.0, rotate=True, noise_clean=0.25) if robust else {}
    cfg = TrainConfig(depth=10, width=4, epochs=3, batch_size=32, lr=3e-3, schedule="onecycle", device="cuda",
                      seed=4, **noise)
    inputs = (padded, y, vpadded, vy) if robust else (x, y, vx, vy)
    extra = dict(train_lengths=lengths, val_lengths=vlengths) if robust else {}

    ck = tmp_path / "ck.pt"
    with pytest.raises(Killed):
        train(*inputs, cfg, ck, log=kill_at("epoch   3/"), **extra)
    state = torch.load(ck, weights_only=True)
    assert "cuda" not in state["rng"] and ("noise" in state["rng"]) == robust
    lines: list[str] = []
    result = train(*inputs, cfg, ck, log=lines.append, **extra)
    assert result.resumed_from_epoch == 2 and list(result.history["epoch"]) == [1, 2, 3]
    used = result.metrics["used"]
    assert used["device"].startswith("cuda:") and used["fp32_math"] == "ieee" and used["amp"] is True
    assert np.isfinite(result.history["train_loss"]).all()
    assert next(result.model.parameters()).device.type == "cpu"  # returned on the CPU, ready to save


def test_gradcam_on_cuda_matches_cpu() -> None:
    model = trained_like_model(width=8)
    _, _, x, y = _data(4, 2)
    cpu = compute_gradcam(model, x, y)
    device = resolve_device("cuda")
    assert cuda_fp32_math() == "ieee"
    gpu = compute_gradcam(trained_like_model(width=8).to(device), x, y)
    for stage, maps in cpu.maps.items():
        floor = 1e-5 * float(np.abs(maps).max())
        np.testing.assert_allclose(gpu.maps[stage], maps, rtol=1e-4, atol=floor, err_msg=stage)
    assert np.mean(gpu.predictions == cpu.predictions) >= 0.99


def test_erasing_on_cuda_matches_cpu() -> None:
    model = trained_like_model(width=8)
    _, _, x, y = _data(4, 3)
    maps = compute_gradcam(model, x, y).maps["layer4"]
    masks = gradcam_masks(maps, n_bins=10)  # (N, 10, 32)
    cpu = erased_correct(model, x, y, masks)
    gpu = erased_correct(trained_like_model(width=8).to(resolve_device("cuda")), x, y, masks)
    assert cpu.shape == gpu.shape == (len(y), 10)
    assert np.mean(cpu == gpu) >= 0.99


def test_predict_on_cuda_matches_cpu(tmp_path: Path) -> None:
    model_path = tmp_path / "model.pt"
    save_model(str(model_path), trained_like_model(width=8), {})
    rng = np.random.default_rng(5)
    rows = ["track_id,frame,x,y"]
    for track in range(20):
        xy = rng.normal(size=(30 + 40 * track, 2)).cumsum(axis=0)
        rows += [f"{track},{t},{a:.5f},{b:.5f}" for t, (a, b) in enumerate(xy)]
    tracks = tmp_path / "tracks.csv"
    tracks.write_text("\n".join(rows) + "\n")
    out = {d: tmp_path / f"{d}.csv" for d in ("cpu", "cuda")}
    for d, path in out.items():
        run_predict(model_path, tracks, path, device=d, gradcam_dir=tmp_path / f"cams-{d}")
    cpu, gpu = (pd.read_csv(out[d]) for d in ("cpu", "cuda"))
    assert len(cpu) == 20 and (cpu["status"] == "ok").all()
    assert np.mean(cpu["predicted"] == gpu["predicted"]) >= 0.99
    np.testing.assert_allclose(gpu["confidence"], cpu["confidence"], atol=1e-4)
    assert len(list((tmp_path / "cams-cuda").glob("*.png"))) == 20

"""Training: it learns, stops early at the best epoch, is deterministic and survives preemption bit for bit."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from andicam.cli import main as cli_main
from andicam.dataio import ANDI_MODELS, Trajectories, write_trajectories
from andicam.evaluate import predict_logits
from andicam.files import read_json
from andicam.model import load_model
from andicam.plots.classifier import training_curves
from andicam.seeding import derive_seed
import andicam.device as device_module
import andicam.train as train_module
from andicam.model import build_model
from andicam.train import (PREEMPT_ENV, PREEMPT_EXIT_CODE, EarlyStopping, TrainConfig, comparable_metrics,
                           load_model_inputs, make_scheduler, resolve_plan, train, train_epoch,
                           warmup_cosine)
from helpers import Killed, andi_walks, kill_at

WORKFLOW = Path(__file__).resolve().parents[1] / "workflow"
QUIET = dict(log=lambda line: None)


def waves(n: int, seed: int, signal: bool = True, length: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2, length) noisy sine/cosine pairs whose frequency is the class (or random, without signal)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 8, n)
    freq = (y + 1)[:, None] if signal else rng.integers(1, 9, (n, 1))
    t = np.linspace(0, 1, length, dtype=np.float32)
    x = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    x = x + 0.5 * rng.standard_normal(x.shape)
    return x.astype(np.float32), y


def small(**kw) -> TrainConfig:
    """fp32 unless asked: whether amp=True gives bf16 depends on the CPU (see native_bf16)."""
    return TrainConfig(**{"depth": 10, "width": 4, "threads": 1, "device": "cpu", "lr": 3e-3, "seed": 1,
                          "amp": False, **kw})


@pytest.fixture
def native_bf16(monkeypatch):
    """A CPU that reports native bf16, so the bf16 CPU path runs on any machine (emulated where it is not)."""
    monkeypatch.setattr(device_module, "native_bf16_feature", lambda: "avx512_bf16")


def state_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_loss_decreases_on_a_separable_problem(tmp_path: Path) -> None:
    tx, ty = waves(256, 0)
    vx, vy = waves(128, 1)
    result = train(tx, ty, vx, vy, small(epochs=4), tmp_path / "ck.pt", **QUIET)
    h = result.history
    assert list(h["epoch"]) == [1, 2, 3, 4]
    assert h["train_loss"].is_monotonic_decreasing
    assert h["train_loss"].iloc[-1] < 0.5 * h["train_loss"].iloc[0]
    assert h["val_acc"].iloc[-1] > 0.6  # chance is 0.125
    assert result.metrics["used"] == {"device": "cpu", "batch_size": 64, "lr": 3e-3, "amp": False,
                                      "deterministic": True, "threads": 1, "precision": "fp32: amp switched off",
                                      "fp32_math": "ieee"}


def test_early_stopping_rule() -> None:
    stopper = EarlyStopping(patience=2, min_delta=0.001)
    # 0.8995 is below the best (0.9) but not by min_delta, so it is no improvement.
    marks = [stopper.update(e, loss) for e, loss in enumerate([1.0, 0.9, 0.8995, 0.95], start=1)]
    assert marks == [True, True, False, False]
    assert (stopper.best_epoch, stopper.best_loss, stopper.stopped) == (2, 0.9, True)


def test_early_stopping_keeps_the_best_epoch(tmp_path: Path) -> None:
    # Random labels and a large lr: the network overfits, the validation loss rises, training stops.
    tx, ty = waves(256, 0, signal=False)
    vx, vy = waves(128, 1, signal=False)
    cfg = small(epochs=8, lr=1e-2, width=8, patience=2)
    result = train(tx, ty, vx, vy, cfg, tmp_path / "ck.pt", **QUIET)
    h = result.history
    stopper = EarlyStopping(cfg.patience, cfg.min_delta)
    for epoch, loss in zip(h["epoch"], h["val_loss"]):
        stopper.update(int(epoch), float(loss))
    assert result.metrics["stopped_early"] and stopper.stopped
    assert result.best_epoch == stopper.best_epoch < len(h)
    assert len(h) == result.best_epoch + cfg.patience
    # The returned weights are the best epoch's: they reproduce its validation loss exactly.
    logits = predict_logits(result.model, vx, batch_size=256)
    loss = nn.functional.cross_entropy(logits, torch.from_numpy(vy.astype(np.int64)))
    assert float(loss) == pytest.approx(float(h.loc[h["epoch"] == result.best_epoch, "val_loss"].iloc[0]), abs=1e-6)


def test_same_seed_same_weights_other_seed_other_weights(tmp_path: Path) -> None:
    tx, ty = waves(128, 0)
    vx, vy = waves(64, 1)
    runs = [train(tx, ty, vx, vy, small(epochs=2, seed=s), tmp_path / f"ck{i}.pt", **QUIET)
            for i, s in enumerate([5, 5, 6])]
    assert state_equal(runs[0].model.state_dict(), runs[1].model.state_dict())
    assert comparable_metrics(runs[0].metrics) == comparable_metrics(runs[1].metrics)
    assert not state_equal(runs[0].model.state_dict(), runs[2].model.state_dict())


def test_checkpoint_resumes_only_the_same_config(tmp_path: Path) -> None:
    tx, ty = waves(128, 0)
    vx, vy = waves(64, 1)
    ck = tmp_path / "ck.pt"
    first = train(tx, ty, vx, vy, small(epochs=2), ck, **QUIET)
    assert ck.is_file()  # train() leaves it; write_outputs deletes it once the outputs exist
    lines: list[str] = []
    again = train(tx, ty, vx, vy, small(epochs=2), ck, log=lines.append)
    assert again.resumed_from_epoch == 2 and any("resuming" in line for line in lines)
    assert state_equal(first.model.state_dict(), again.model.state_dict())
    lines.clear()
    other = train(tx, ty, vx, vy, small(epochs=1), ck, log=lines.append)
    assert other.resumed_from_epoch == 0 and any("another config" in line for line in lines)


def test_config_is_validated_and_cpu_ignores_gpu_settings() -> None:
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="linear")
    with pytest.raises(ValueError, match="batch_size=0"):
        TrainConfig(batch_size=0)
    plan = resolve_plan(TrainConfig(device="cpu", gpu_batch_size=512, lr=1e-4, amp=False))
    assert (plan.batch_size, plan.lr, plan.amp, plan.deterministic) == (64, 1e-4, False, True)


def test_cpu_plan_takes_bf16_only_where_it_is_native(monkeypatch, native_bf16) -> None:
    plan = resolve_plan(TrainConfig(device="cpu", gpu_batch_size=512, lr=1e-4, amp=True))
    assert (plan.batch_size, plan.lr, plan.amp, plan.deterministic) == (64, 1e-4, True, True)
    assert plan.precision == "bf16: the CPU has native bf16 (avx512_bf16)"
    assert not resolve_plan(TrainConfig(device="cpu", amp=False)).amp  # the config forces fp32
    monkeypatch.setattr(device_module, "native_bf16_feature", lambda: None)
    plan = resolve_plan(TrainConfig(device="cpu", amp=True))
    assert not plan.amp and plan.precision.startswith("fp32: the CPU has no native bf16")


def test_native_bf16_is_read_from_the_cpu_features(monkeypatch) -> None:
    for features, expected in (({"avx512_bf16": True, "amx_bf16": False}, "avx512_bf16"),
                               ({"avx512_bf16": True, "amx_bf16": True}, "amx_bf16"),
                               ({"avx2": True, "avx512_f": True}, None), ({"architecture": "arm64"}, None)):
        monkeypatch.setattr(torch.cpu, "get_capabilities", lambda f=features: f)
        assert device_module.native_bf16_feature() == expected


def test_bf16_cpu_training_is_bit_reproducible_and_not_fp32(tmp_path: Path, native_bf16) -> None:
    tx, ty = waves(128, 0)
    vx, vy = waves(64, 1)
    runs = [train(tx, ty, vx, vy, small(epochs=2, seed=5, amp=amp), tmp_path / f"ck{i}.pt", **QUIET)
            for i, amp in enumerate([True, True, False])]
    assert runs[0].metrics["used"]["amp"] and not runs[2].metrics["used"]["amp"]
    assert state_equal(runs[0].model.state_dict(), runs[1].model.state_dict())
    assert comparable_metrics(runs[0].metrics) == comparable_metrics(runs[1].metrics)
    # Same seed, same data: only the precision differs, and it changes the weights.
    assert not state_equal(runs[0].model.state_dict(), runs[2].model.state_dict())


def test_fp32_stem_training_is_bit_reproducible_changes_bf16_and_not_fp32(tmp_path: Path, native_bf16) -> None:
    """train.fp32_stem: under bf16 it trains other weights (the input is no longer rounded), the same ones
    again on a rerun, and the model file says so; in fp32 it changes nothing."""
    tx, ty = waves(128, 0)
    vx, vy = waves(64, 1)
    run = {(amp, stem): train(tx, ty, vx, vy, small(epochs=2, seed=5, amp=amp, fp32_stem=stem),
                              tmp_path / f"ck{amp}{stem}.pt", **QUIET)
           for amp in (True, False) for stem in (True, False)}
    again = train(tx, ty, vx, vy, small(epochs=2, seed=5, amp=True, fp32_stem=True), tmp_path / "again.pt", **QUIET)
    assert state_equal(run[True, True].model.state_dict(), again.model.state_dict())
    assert not state_equal(run[True, True].model.state_dict(), run[True, False].model.state_dict())
    assert state_equal(run[False, True].model.state_dict(), run[False, False].model.state_dict())
    assert run[True, True].model.cfg.fp32_stem and not run[True, False].model.cfg.fp32_stem
    assert run[True, True].metrics["config"]["fp32_stem"] is True


def test_interrupted_bf16_training_resumes_bit_identically(tmp_path: Path, native_bf16) -> None:
    """Two threads, as the workflow's training jobs: killed after the checkpoint of epoch 2, resumed, it ends
    where the uninterrupted run does."""
    tx, ty = waves(128, 0)
    vx, vy = waves(64, 1)
    cfg = small(epochs=4, seed=2, amp=True, threads=2, batch_size=16, schedule="onecycle")
    straight = train(tx, ty, vx, vy, cfg, tmp_path / "straight.pt", **QUIET)

    ck = tmp_path / "resumed.pt"
    with pytest.raises(Killed):
        train(tx, ty, vx, vy, cfg, ck, log=kill_at("epoch   3/"))
    lines: list[str] = []
    resumed = train(tx, ty, vx, vy, cfg, ck, log=lines.append)
    assert resumed.resumed_from_epoch == 2 and any("bf16: the CPU has native bf16" in line for line in lines)
    assert state_equal(resumed.model.state_dict(), straight.model.state_dict())
    assert comparable_metrics(resumed.metrics) == comparable_metrics(straight.metrics)
    pd.testing.assert_frame_equal(resumed.history.drop(columns="seconds"), straight.history.drop(columns="seconds"),
                                  check_exact=True)


def test_a_checkpoint_with_cuda_generator_states_resumes_where_fewer_cards_are_visible(tmp_path: Path,
                                                                                     monkeypatch) -> None:
    """Earlier checkpoints saved one CUDA generator state per card, and restoring them raised on a node with
    fewer cards. They are ignored now (training draws nothing from them): the run resumes and ends where
    the uninterrupted one does."""
    tx, ty = waves(128, 0)
    vx, vy = waves(64, 1)
    cfg = small(epochs=3, batch_size=32)
    straight = train(tx, ty, vx, vy, cfg, tmp_path / "straight.pt", **QUIET)

    ck = tmp_path / "resumed.pt"
    with pytest.raises(Killed):
        train(tx, ty, vx, vy, cfg, ck, log=kill_at("epoch   3/"))
    state = torch.load(ck, weights_only=True)
    assert "cuda" not in state["rng"]
    state["rng"]["cuda"] = [torch.zeros(16, dtype=torch.uint8) for _ in range(4)]  # saved on a 4-card node
    torch.save(state, ck)

    def restore_fails(states):  # what torch does with 4 states and 1 visible card
        raise RuntimeError("set_rng_state_all: more states than visible devices")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restore_fails)
    resumed = train(tx, ty, vx, vy, cfg, ck, **QUIET)
    assert resumed.resumed_from_epoch == 2
    assert state_equal(resumed.model.state_dict(), straight.model.state_dict())


def test_a_checkpoint_resumes_on_another_card(tmp_path: Path) -> None:
    """The checkpoint's identity names the device type, not the card: a job that gets cuda:1 after a restart
    resumes the checkpoint that cuda:0 wrote; a CPU run does not take a CUDA run's checkpoint."""
    cfg = small()
    plan = resolve_plan(cfg)
    on = lambda device: train_module._identity(cfg, dataclasses.replace(plan, device=device), "data")  # noqa: E731
    assert on("cuda:0") == on("cuda:1") == on("cuda")
    assert on("cpu") != on("cuda:0")


def test_cuda_plan_scales_the_lr_with_the_batch(monkeypatch) -> None:
    """The CUDA branch of the plan, checked without a GPU: linear lr scaling, bf16, non-deterministic."""
    asked: list[str] = []

    def fake_cuda(name: str, fp32_math: str = "ieee") -> torch.device:
        asked.append(device_module.set_cuda_fp32_math(fp32_math))
        return torch.device("cuda", 0)

    monkeypatch.setattr(train_module, "resolve_device", fake_cuda)
    before = device_module.cuda_fp32_math()
    try:
        plan = resolve_plan(TrainConfig(device="cuda", gpu_batch_size=512, lr=1e-4, amp=True))
        assert (plan.device, plan.batch_size, plan.amp, plan.deterministic) == ("cuda:0", 512, True, False)
        assert plan.lr == pytest.approx(8e-4)  # 1e-4 x 512 / 64
        assert plan.fp32_math == "ieee"  # not torch's TF32 default for cuDNN convolutions
        plan = resolve_plan(TrainConfig(device="cuda", gpu_batch_size=None, lr=1e-4, amp=False, tf32=True))
        assert (plan.batch_size, plan.lr, plan.amp, plan.fp32_math) == (64, 1e-4, False, "tf32")
        assert asked == ["ieee", "tf32"]
    finally:
        device_module.set_cuda_fp32_math(before)


def test_warmup_cosine_rises_linearly_then_follows_the_cosine() -> None:
    total, warm = 100, 10
    factors = [warmup_cosine(step, total, warm) for step in range(total)]
    assert factors[:warm] == pytest.approx([(step + 1) / warm for step in range(warm)])
    # After the warm-up: CosineAnnealingLR's curve over the remaining steps, from 1 towards 0.
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warm)
    reference = []
    for _ in range(total - warm):
        reference.append(opt.param_groups[0]["lr"])
        opt.step()
        cosine.step()
    assert factors[warm:] == pytest.approx(reference)
    # Through make_scheduler: 10 % of 4 epochs x 25 steps = 10 warm-up steps at lr 2e-3.
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=2e-3)
    sched = make_scheduler(small(epochs=4, schedule="cosine", warmup=0.1), opt, 2e-3, steps_per_epoch=25)
    seen = []
    for _ in range(total):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([2e-3 * f for f in factors])


@pytest.mark.parametrize("kw, message", [
    (dict(schedule="step", warmup=0.1), "cosine schedule only"),
    (dict(schedule="cosine", warmup=1.0), r"warmup must lie in \[0, 1\)"),
])
def test_bad_warmup_is_refused(kw, message) -> None:
    with pytest.raises(ValueError, match=message):
        small(**kw)


@pytest.mark.slow
def test_compiled_training_is_bit_reproducible_and_resumes(tmp_path: Path) -> None:
    """train.compile: the same config, data and threads give the same weights, also after a resume; the model
    file holds plain (uncompiled) parameter names."""
    tx, ty = waves(128, 0)
    vx, vy = waves(64, 1)
    cfg = small(epochs=3, batch_size=32, compile=True, schedule="cosine", warmup=0.2)
    lines: list[str] = []
    first = train(tx, ty, vx, vy, cfg, tmp_path / "a.pt", log=lines.append)
    assert any("compiled" in line for line in lines)
    again = train(tx, ty, vx, vy, cfg, tmp_path / "b.pt", **QUIET)
    assert state_equal(first.model.state_dict(), again.model.state_dict())
    assert not any(k.startswith("_orig_mod") for k in first.model.state_dict())

    with pytest.raises(Killed):
        train(tx, ty, vx, vy, cfg, tmp_path / "c.pt", log=kill_at("epoch   3/"))
    resumed = train(tx, ty, vx, vy, cfg, tmp_path / "c.pt", **QUIET)
    assert resumed.resumed_from_epoch == 2
    assert state_equal(resumed.model.state_dict(), first.model.state_dict())


def test_bf16_autocast_path_learns_and_predicts_like_fp32() -> None:
    """The autocast lines that run on CUDA, run here under CPU bf16 autocast (same code, other device type)."""
    torch.manual_seed(0)
    tx, ty = (torch.from_numpy(a) for a in waves(256, 0))
    model = build_model(depth=10, width=4)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = make_scheduler(small(epochs=4, schedule="cosine"), optimiser, 3e-3, steps_per_epoch=4)
    gen = torch.Generator().manual_seed(0)
    losses = [train_epoch(model, tx, ty, torch.randperm(256, generator=gen), 64, optimiser, scheduler,
                          True, amp=True)[0] for _ in range(4)]
    assert all(np.isfinite(losses)) and losses[-1] < 0.7 * losses[0]
    vx, _ = waves(128, 1)
    full = predict_logits(model, vx, batch_size=64, amp=False)
    half = predict_logits(model, vx, batch_size=64, amp=True)
    assert half.dtype == torch.float32 and half.shape == (128, 8)
    # bf16 keeps 8 bits of mantissa: logits agree to a few percent and the decisions almost always.
    assert (full.argmax(1) == half.argmax(1)).float().mean() > 0.9
    assert torch.allclose(full, half, atol=0.1 * float(full.abs().max()))


def _write_shards(folder: Path) -> tuple[Path, Path]:
    paths = []
    for split, n, seed in (("train", 256, 0), ("val", 64, 1)):
        traj, labels = waves(n, seed)  # the shape tells the class (min-max scaling removes amplitudes)
        data = Trajectories(traj, np.full(n, 200, np.int32), labels.astype(np.int8), np.ones(n, np.float32))
        paths.append(folder / f"{split}.h5")
        write_trajectories(paths[-1], data, {"regime": "fixed", "split": split})
    return paths[0], paths[1]


def _train_cli(folder: Path, out: str, ck: Path, preempt_after: int | None = None) -> subprocess.CompletedProcess:
    train_h5, val_h5 = folder / "train.h5", folder / "val.h5"
    env = {**os.environ, "PYTHONPATH": str(WORKFLOW)}
    env.pop(PREEMPT_ENV, None)
    if preempt_after is not None:
        env[PREEMPT_ENV] = str(preempt_after)
    cmd = [sys.executable, "-m", "andicam", "train", "--train", str(train_h5), "--val", str(val_h5),
           "--out-model", f"{folder}/{out}/model.pt", "--out-metrics", f"{folder}/{out}/metrics.json",
           "--out-history", f"{folder}/{out}/history.csv", "--checkpoint", str(ck), "--depth", "10", "--width", "4",
           "--epochs", "4", "--lr", "3e-3", "--schedule", "onecycle", "--batch-size", "16", "--threads", "1",
           "--device", "cpu", "--seed", "3", "--master-seed", "7", "--tag", "regime=fixed"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)  # a shared machine can be slow


@pytest.mark.slow
def test_preempted_training_resumes_bit_identically(tmp_path: Path) -> None:
    train_h5, val_h5 = _write_shards(tmp_path)
    ck = tmp_path / "checkpoints" / "run.pt"
    killed = _train_cli(tmp_path, "resumed", ck, preempt_after=2)
    assert killed.returncode == PREEMPT_EXIT_CODE, killed.stderr
    assert ck.is_file() and not (tmp_path / "resumed" / "model.pt").exists()
    resumed = _train_cli(tmp_path, "resumed", ck)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout and "after epoch 2" in resumed.stdout
    assert not ck.exists()  # deleted once the outputs were written

    # The same training uninterrupted, in this process: the settings _train_cli passes.
    cfg = TrainConfig(depth=10, width=4, epochs=4, lr=3e-3, schedule="onecycle", batch_size=16, threads=1,
                      device="cpu", seed=derive_seed(7, "train", 3))
    straight = train(*load_model_inputs([train_h5]), *load_model_inputs([val_h5]), cfg, tmp_path / "other.pt",
                     **QUIET)
    model = load_model(str(tmp_path / "resumed" / "model.pt"))
    assert state_equal(model.state_dict(), straight.model.state_dict())
    metrics = read_json(tmp_path / "resumed" / "metrics.json")
    assert {k: metrics[k] for k in comparable_metrics(straight.metrics)} == comparable_metrics(straight.metrics)
    assert metrics["tags"] == {"regime": "fixed"} and metrics["seed"] == 3 and model.meta["best_epoch"] == 4
    history = pd.read_csv(tmp_path / "resumed" / "history.csv", float_precision="round_trip")
    pd.testing.assert_frame_equal(history.drop(columns="seconds"), straight.history.drop(columns="seconds"),
                                  check_exact=True)
    assert list(history["epoch"]) == [1, 2, 3, 4]


@pytest.mark.parametrize("robust", [False, True], ids=["noiseless", "robust"])
def test_a_five_class_model_trains_from_five_class_files(tmp_path: Path, robust: bool) -> None:
    """The class set comes from the training files and is recorded in the model; robust training too."""
    write_trajectories(tmp_path / "train.h5", andi_walks(6, tmax=40, seed=0))
    write_trajectories(tmp_path / "val.h5", andi_walks(2, tmax=40, seed=1, split="val"))
    args = ["train", "--train", str(tmp_path / "train.h5"), "--val", str(tmp_path / "val.h5"), "--out-model",
            str(tmp_path / "m.pt"), "--out-metrics", str(tmp_path / "m.json"), "--out-history", str(tmp_path / "h.csv"),
            "--checkpoint", str(tmp_path / "ck.pt"), "--depth", "10", "--width", "4", "--epochs", "1",
            "--batch-size", "8", "--device", "cpu", "--threads", "1", "--no-amp", "--per-class", "4"]
    assert cli_main(args + (["--noise-max", "0.5", "--rotate"] if robust else [])) == 0
    model = load_model(str(tmp_path / "m.pt"))
    assert model.cfg.num_classes == 5 and model.meta["class_names"] == list(ANDI_MODELS)
    assert read_json(tmp_path / "m.json")["n_train"] == 20  # --per-class counts the file's five classes


def test_max_val_validates_on_a_seeded_subset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--max-val N: N of the validation trajectories, drawn by the master seed, so a rerun validates on the same
    ones and trains the same weights; N < 1 is refused before anything is written."""
    write_trajectories(tmp_path / "train.h5", andi_walks(4, tmax=40, seed=0))
    write_trajectories(tmp_path / "val.h5", andi_walks(4, tmax=40, seed=1, split="val"))

    def run(name: str, *extra: str) -> int:
        return cli_main(["train", "--train", str(tmp_path / "train.h5"), "--val", str(tmp_path / "val.h5"),
                         "--out-model", str(tmp_path / f"{name}.pt"), "--out-metrics", str(tmp_path / f"{name}.json"),
                         "--out-history", str(tmp_path / f"{name}.csv"), "--checkpoint", str(tmp_path / f"{name}.ck"),
                         "--depth", "10", "--width", "4", "--epochs", "2", "--batch-size", "8", "--device", "cpu",
                         "--threads", "1", "--no-amp", "--master-seed", "3", *extra])

    assert run("all") == 0 and read_json(tmp_path / "all.json")["n_val"] == 20
    assert run("a", "--max-val", "7") == 0 and run("b", "--max-val", "7") == 0
    assert "7 validation trajectories (a seeded subset of 20)" in capsys.readouterr().out
    assert read_json(tmp_path / "a.json")["n_val"] == 7
    history = {k: pd.read_csv(tmp_path / f"{k}.csv").drop(columns="seconds") for k in ("all", "a", "b")}
    pd.testing.assert_frame_equal(history["a"], history["b"], check_exact=True)
    assert not history["a"]["val_loss"].equals(history["all"]["val_loss"])
    # validation changes no weight: the training columns follow the same path
    pd.testing.assert_frame_equal(history["a"][["train_loss", "train_acc"]], history["all"][["train_loss", "train_acc"]],
                                  check_exact=True)
    assert run("bad", "--max-val", "0") == 2 and not (tmp_path / "bad.pt").exists()


def test_training_refuses_validation_files_of_another_class_set(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    write_trajectories(tmp_path / "train.h5", andi_walks(2, tmax=20))
    traj, labels = waves(8, 0, length=20)
    write_trajectories(tmp_path / "val.h5", Trajectories(traj, np.full(8, 20, np.int32), labels.astype(np.int8),
                                                         np.ones(8, np.float32)))
    rc = cli_main(["train", "--train", str(tmp_path / "train.h5"), "--val", str(tmp_path / "val.h5"), "--out-model",
                   str(tmp_path / "m.pt"), "--out-metrics", str(tmp_path / "m.json"), "--out-history",
                   str(tmp_path / "h.csv"), "--checkpoint", str(tmp_path / "ck.pt"), "--device", "cpu"])
    assert rc == 2 and "validation files' classes [SubATTM" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()


def test_training_curves_figure() -> None:
    h = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [2.0, 1.0, 0.5], "train_acc": [0.2, 0.5, 0.8],
                      "val_loss": [2.1, 1.2, 0.9], "val_acc": [0.2, 0.4, 0.7], "lr": 1e-3, "seconds": 1.0})
    fig = training_curves([("fixed depth 10 seed 0", h), ("variable depth 10 seed 0", h)])
    ax_loss, ax_acc = fig.axes
    assert len(ax_loss.lines) == 4  # train and val per run
    np.testing.assert_allclose(ax_acc.lines[1].get_ydata(), [20, 40, 70])
    assert ax_loss.get_yscale() == "log" and ax_acc.get_yscale() == "linear"
    with pytest.raises(ValueError):
        training_curves([])


def test_batchnorm_recalibration_is_the_plain_batch_statistics() -> None:
    """One batch holding every input: the first BatchNorm's running mean and variance become the mean and the
    unbiased variance of the first convolution's output over those inputs, per channel."""
    tx, _ = waves(96, 0)
    x = torch.from_numpy(tx)
    model = build_model(depth=10, width=4)
    model.bn1.running_mean.fill_(5.0)  # stale statistics, as after a high-lr epoch
    train_module.recalibrate_batchnorm(model, x, torch.arange(96), batch_size=96, amp=False)
    with torch.no_grad():
        h = model.conv1(x)  # (96, 4, 100)
    np.testing.assert_allclose(model.bn1.running_mean, h.mean(dim=(0, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.bn1.running_var, h.var(dim=(0, 2), unbiased=True), rtol=1e-4)
    assert model.bn1.momentum == 0.1  # restored for training


def test_batchnorm_recalibration_changes_validation_not_training(tmp_path: Path) -> None:
    """Only running statistics change: the training losses (hence the weights' path) are those of a run
    without it, bit for bit; the validation numbers differ."""
    tx, ty = waves(128, 0)
    vx, vy = waves(64, 1)
    plain = train(tx, ty, vx, vy, small(epochs=3, lr=1e-2), tmp_path / "a.pt", **QUIET)
    cfg = small(epochs=3, lr=1e-2, bn_recalibration=64)
    recal = train(tx, ty, vx, vy, cfg, tmp_path / "b.pt", **QUIET)
    again = train(tx, ty, vx, vy, cfg, tmp_path / "c.pt", **QUIET)
    pd.testing.assert_series_equal(plain.history["train_loss"], recal.history["train_loss"], check_exact=True)
    assert not plain.history["val_loss"].equals(recal.history["val_loss"])
    assert state_equal(recal.model.state_dict(), again.model.state_dict())

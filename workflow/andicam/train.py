"""Train the ResNet classifier the paper's way, fast and restartable.

The inputs are preprocessed once (``andicam.preprocess.to_model_input``) and
kept as one tensor; each epoch draws a permutation from a seeded
``torch.Generator`` and slices batches out of it, so no per-sample Python code
runs during training. Paper defaults: Adam lr 1e-4, StepLR (10 epochs, x0.5),
cross-entropy, batch 64, at most 100 epochs, early stopping on the validation
loss (patience 10, minimum improvement 0.001), best epoch's weights kept.

On CPU training is deterministic: the same config, data and thread count give
bit-identical weights, in fp32 and in bf16. It runs under bf16 autocast where
bf16 is native (CUDA; a CPU with AVX512-BF16 or AMX, 1.4-2.2x faster than fp32)
unless ``amp`` is off; on CUDA with an optional larger batch (and a linearly
scaled lr). What was actually used, and why, is recorded in the metrics.

After every epoch the whole state (model, optimiser, scheduler, early
stopping, RNG states, history) is written atomically to a checkpoint; a run
started with the same config, data and device settings resumes from it and
ends exactly where an uninterrupted run would have. For tests of that, the
environment variable ``ANDICAM_PREEMPT_AFTER_EPOCH=k`` makes the process exit
hard right after the checkpoint of epoch k is written.
"""

from __future__ import annotations

import hashlib
import math
import os
import platform
import random
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

import andicam
from andicam.dataio import CLASS_NAMES, read_trajectories
from andicam.device import cuda_fp32_math, resolve_amp, resolve_device
from andicam.evaluate import predict_logits
from andicam.files import atomic_output, write_csv, write_json
from andicam.model import BLOCKS_PER_STAGE, ResNet1d, build_model, count_parameters, save_model
from andicam.noise import NoiseRange, noisy_batch, valid_mask
from andicam.preprocess import left_pad, to_model_input
from andicam.seeding import derive_seed

SCHEDULES = ("step", "cosine", "onecycle")
PREEMPT_ENV = "ANDICAM_PREEMPT_AFTER_EPOCH"
PREEMPT_EXIT_CODE = 75
CHECKPOINT_FORMAT = "andicam-train-checkpoint/1"
# lr: the learning rate at the start of the epoch (per-batch schedules move it within the epoch).
HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")
# Metrics that measure the machine rather than the training; they differ between otherwise identical runs.
TIMING_KEYS = ("train_seconds", "samples_per_second")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-4
    schedule: str = "step"  # "step": StepLR per epoch; "cosine"/"onecycle": per batch over `epochs`
    warmup: float = 0.0  # cosine only: share of its steps spent raising the lr linearly from 0 first
    step_size: int = 10
    gamma: float = 0.5
    patience: int = 10
    min_delta: float = 1e-3
    weight_decay: float = 0.0
    device: str = "auto"
    amp: bool = True  # bf16 autocast where bf16 is native (CUDA, CPU with AVX512-BF16/AMX); False: fp32
    fp32_stem: bool = False  # the first convolution in fp32 under autocast too (andicam.model.ModelConfig)
    tf32: bool = False  # CUDA only: fp32 convolutions and matrix products as TF32 (10 mantissa bits), not IEEE
    compile: bool = False  # torch.compile the network (its compile time counts in the first epoch)
    # Training inputs over which every BatchNorm's running statistics are recomputed after each epoch, before
    # validation (0: off, the paper's running averages). At a high lr the running averages lag the weights,
    # and validation in eval mode then swings (recalibrate_batchnorm).
    bn_recalibration: int = 0
    gpu_batch_size: int | None = None  # batch size on CUDA (lr scaled linearly); None: batch_size
    threads: int = 1  # torch CPU threads
    seed: int = 0  # seeds weight init and batch order
    depth: int = 18
    width: int = 64
    # Robust training (andicam.noise): fresh noise sigma ~ U(noise_min, noise_max) per trajectory and
    # epoch (0 for a share noise_clean of them), optionally a random rotation. All zero/False: the
    # paper's noiseless training.
    noise_min: float = 0.0
    noise_max: float = 0.0
    rotate: bool = False
    noise_clean: float = 0.0

    @property
    def noise(self) -> NoiseRange:
        return NoiseRange(self.noise_min, self.noise_max, self.rotate, self.noise_clean)

    def __post_init__(self) -> None:
        positive = ("epochs", "batch_size", "step_size", "patience", "threads", "width")
        bad = [f"{k}={getattr(self, k)}" for k in positive if getattr(self, k) < 1]
        if self.gpu_batch_size is not None and self.gpu_batch_size < 1:
            bad.append(f"gpu_batch_size={self.gpu_batch_size}")
        if bad:
            raise ValueError(f"training settings must be positive: {', '.join(bad)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 0 < self.gamma <= 1:
            raise ValueError(f"gamma must lie in (0, 1], got {self.gamma}")
        if self.bn_recalibration < 0:
            raise ValueError(f"bn_recalibration must be >= 0, got {self.bn_recalibration}")
        if self.min_delta < 0 or self.weight_decay < 0:
            raise ValueError(f"min_delta and weight_decay must be >= 0, got {self.min_delta}, {self.weight_decay}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup must lie in [0, 1), got {self.warmup}")
        if self.warmup and self.schedule != "cosine":
            raise ValueError(f"warmup applies to the cosine schedule only, got schedule {self.schedule!r}")
        if self.depth not in BLOCKS_PER_STAGE:
            raise ValueError(f"depth must be one of {sorted(BLOCKS_PER_STAGE)}, got {self.depth}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        self.noise  # validates the noise range


@dataclass(frozen=True)
class Plan:
    """The settings a config resolves to on a device; recorded in the metrics as what was used."""

    device: str
    batch_size: int
    lr: float
    amp: bool
    deterministic: bool
    threads: int
    precision: str  # bf16 or fp32, and why (andicam.device.resolve_amp)
    fp32_math: str = "ieee"  # how fp32 convolutions and matrix products run: ieee, or tf32 (CUDA, cfg.tf32)


def resolve_plan(cfg: TrainConfig) -> Plan:
    device = resolve_device(cfg.device, "tf32" if cfg.tf32 else "ieee")
    amp, precision = resolve_amp(device, cfg.amp)
    if device.type == "cuda":
        batch = cfg.gpu_batch_size or cfg.batch_size
        return Plan(str(device), batch, cfg.lr * batch / cfg.batch_size, amp, False, cfg.threads, precision,
                    cuda_fp32_math())
    # CPU: exactly the configured batch and lr, and deterministic kernels, in bf16 as in fp32; oneDNN's fp32
    # is IEEE (tf32 is a CUDA setting).
    return Plan(str(device), cfg.batch_size, cfg.lr, amp, True, cfg.threads, precision)


@dataclass
class EarlyStopping:
    """Stop after `patience` epochs whose validation loss is not `min_delta` below the best so far."""

    patience: int
    min_delta: float
    best_loss: float = float("inf")
    best_epoch: int = 0
    bad_epochs: int = 0
    stopped: bool = False

    def update(self, epoch: int, val_loss: float) -> bool:
        """Record an epoch; True when it is the new best (its weights are to be kept)."""
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, epoch, 0
            return True
        self.bad_epochs += 1
        self.stopped = self.bad_epochs >= self.patience
        return False


@dataclass
class TrainResult:
    model: ResNet1d  # best epoch's weights, on the CPU, eval mode
    history: pd.DataFrame  # one row per epoch, HISTORY_COLUMNS
    metrics: dict[str, Any]
    best_epoch: int
    resumed_from_epoch: int = 0  # epochs taken from a checkpoint; not a metric, since it must not change results


def versions() -> dict[str, str]:
    return {"andicam": andicam.__version__, "torch": str(torch.__version__), "numpy": np.__version__,
            "python": platform.python_version()}


def data_fingerprint(*arrays: np.ndarray) -> str:
    """A hash of the training data, so a checkpoint is only resumed on the data it was made from."""
    h = hashlib.blake2b(digest_size=16)
    for arr in arrays:
        arr = np.ascontiguousarray(arr)
        h.update(f"{arr.dtype}{arr.shape}".encode())
        h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


@contextmanager
def torch_settings(plan: Plan) -> Iterator[None]:
    """Threads and determinism for the run, restored afterwards (they are process-global)."""
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    bench = torch.backends.cudnn.benchmark
    torch.set_num_threads(plan.threads)
    torch.use_deterministic_algorithms(plan.deterministic)
    # cuDNN autotuning picks the fastest kernels; only on CUDA, where runs are not bit-reproducible anyway.
    torch.backends.cudnn.benchmark = plan.device.startswith("cuda")
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)
        torch.backends.cudnn.benchmark = bench


def make_scheduler(cfg: TrainConfig, optimiser: torch.optim.Optimizer, lr: float,
                   steps_per_epoch: int) -> torch.optim.lr_scheduler.LRScheduler:
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimiser, step_size=cfg.step_size, gamma=cfg.gamma)
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "cosine" and cfg.warmup:
        return torch.optim.lr_scheduler.LambdaLR(optimiser, partial(warmup_cosine, total=total,
                                                                    warm=max(1, round(cfg.warmup * total))))
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=total)
    return torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=total)


def warmup_cosine(step: int, total: int, warm: int) -> float:
    """The lr factor at ``step``: linear from 1/warm to 1 over the first ``warm`` steps, then a cosine from 1
    to 0 over the rest (CosineAnnealingLR's curve, shifted)."""
    if step < warm:
        return (step + 1) / warm
    return 0.5 * (1 + math.cos(math.pi * min(step - warm, total - warm) / max(1, total - warm)))


def _rng_states(gen: torch.Generator, noise_gen: torch.Generator | None = None) -> dict[str, Any]:
    """RNG states as plain tensors/lists, so the checkpoint loads with weights_only=True.

    No CUDA generator states: training draws nothing from them (batch order and noise have generators of
    their own), and restoring one per card fails on a node with fewer cards than the one that saved it."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    states: dict[str, Any] = {
        "batches": gen.get_state(), "torch": torch.get_rng_state(),
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
        "python": [py_version, list(py_state), py_gauss],
    }
    if noise_gen is not None:
        states["noise"] = noise_gen.get_state()
    return states


def _set_rng_states(gen: torch.Generator, states: dict[str, Any], noise_gen: torch.Generator | None = None) -> None:
    gen.set_state(states["batches"])
    if noise_gen is not None:
        noise_gen.set_state(states["noise"])
    torch.set_rng_state(states["torch"])
    kind, keys, pos, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    py_version, py_state, py_gauss = states["python"]
    random.setstate((py_version, tuple(py_state), py_gauss))
    # states["cuda"], written by earlier versions, is ignored (see _rng_states).


def _identity(cfg: TrainConfig, plan: Plan, fingerprint: str) -> dict[str, Any]:
    """What a checkpoint must match to be resumed. The device by its type: a job resumed on another node,
    or given another card of the same workstation, resumes on whichever card it got."""
    used = {**asdict(plan), "device": torch.device(plan.device).type}
    return {"format": CHECKPOINT_FORMAT, "config": asdict(cfg), "plan": used, "data": fingerprint}


def _load_checkpoint(path: Path, identity: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a checkpoint is disposable: any unreadable one just means starting over
        log(f"checkpoint {path} is unreadable ({exc}); starting from scratch")
        return None
    if state.get("identity") != identity:
        log(f"checkpoint {path} belongs to another config, data or device; starting from scratch")
        return None
    return state


def train_epoch(model: nn.Module, x: Tensor, y: Tensor, order: Tensor, batch_size: int,
                optimiser: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler,
                per_batch_schedule: bool, amp: bool,
                batch_input: Callable[[Tensor], Tensor] | None = None) -> tuple[float, float]:
    """One pass over the samples ``order`` of the training data, in that order; mean loss and accuracy.

    ``batch_input(idx)``, when given, builds the batch's network input from ``x`` (robust training
    adds fresh noise there); otherwise ``x`` is the network input.
    """
    model.train()
    loss_sum = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    for start in range(0, order.numel(), batch_size):
        idx = order[start:start + batch_size]
        xb = x[idx] if batch_input is None else batch_input(idx)  # (B, 2, L)
        yb = y[idx]  # (B,)
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(xb)  # (B, C)
        loss = nn.functional.cross_entropy(logits.float(), yb)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if per_batch_schedule:
            scheduler.step()
        # Accumulated on the device and read once per epoch: no GPU sync per batch.
        loss_sum += loss.detach().double() * idx.numel()
        correct += (logits.detach().argmax(dim=1) == yb).sum()
    n = order.numel()
    return float(loss_sum) / n, float(correct) / n


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, x: Tensor, idx: Tensor, batch_size: int, amp: bool,
                          batch_input: Callable[[Tensor], Tensor] | None = None) -> None:
    """Replace every BatchNorm's running mean and variance by their average over the batches of ``x[idx]``
    (train-mode forward passes, no gradient; "precise BN"). Only buffers change: the weights, and so the
    training itself, are untouched. ``batch_input`` as in ``train_epoch``."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: every batch weighs the same
    model.train()
    try:
        for start in range(0, idx.numel(), batch_size):
            batch = idx[start:start + batch_size]
            xb = x[batch] if batch_input is None else batch_input(batch)  # (B, 2, L)
            with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=amp):
                model(xb)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum


def _noisy_validation(padded: Tensor, lengths: np.ndarray, noise: NoiseRange, seed: int,
                      chunk: int = 4096) -> Tensor:
    """One seeded noisy draw of the validation inputs, chunk by chunk (robust training)."""
    gen = torch.Generator(padded.device).manual_seed(seed)
    valid = valid_mask(torch.from_numpy(np.asarray(lengths, dtype=np.int64)).to(padded.device), padded.shape[-1])
    return torch.cat([noisy_batch(gen, padded[s:s + chunk], valid[s:s + chunk], noise)
                      for s in range(0, padded.shape[0], chunk)])


def _validate(model: nn.Module, x: Tensor, y: Tensor, batch_size: int, amp: bool) -> tuple[float, float]:
    logits = predict_logits(model, x, batch_size=batch_size, amp=amp)  # (N, C)
    loss = nn.functional.cross_entropy(logits, y, reduction="mean")
    return float(loss), float((logits.argmax(dim=1) == y).float().mean())


def load_model_inputs(paths: list[str] | tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Trajectory files -> network inputs (N, 2, 1000) float32 and labels (N,) int64, file by file in order."""
    if not paths:
        raise ValueError("no trajectory files given")
    xs, ys = [], []
    for path in paths:
        data = read_trajectories(path)
        xs.append(to_model_input(data.trajectories, data.lengths))  # (n, 2, 1000)
        ys.append(data.labels.astype(np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def load_padded_inputs(paths: list[str] | tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trajectory files -> left-padded, not yet scaled trajectories (N, 2, 1000) float32, their lengths (N,)
    and labels (N,) int64: robust training's input, noised and min-max scaled per batch."""
    if not paths:
        raise ValueError("no trajectory files given")
    xs, lengths, ys = [], [], []
    for path in paths:
        data = read_trajectories(path)
        xs.append(left_pad(data.trajectories, data.lengths))  # (n, 2, 1000)
        lengths.append(data.lengths.astype(np.int64))
        ys.append(data.labels.astype(np.int64))
    return np.concatenate(xs), np.concatenate(lengths), np.concatenate(ys)


def _check_arrays(name: str, x: np.ndarray, y: np.ndarray, num_classes: int) -> None:
    if x.ndim != 3 or x.dtype != np.float32:
        raise ValueError(f"{name} inputs must be a float32 array (N, channels, length), got {x.dtype} {x.shape}")
    if y.shape != (x.shape[0],) or x.shape[0] == 0:
        raise ValueError(f"{name} labels have shape {y.shape}, expected ({x.shape[0]},) with N > 0")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"{name} labels must lie in [0, {num_classes - 1}], found {y.min()}..{y.max()}")


def train(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray, cfg: TrainConfig,
          checkpoint_path: str | Path, log: Callable[[str], None] = print, num_classes: int = 8,
          train_lengths: np.ndarray | None = None, val_lengths: np.ndarray | None = None) -> TrainResult:
    """Train a fresh ResNet on preprocessed inputs (N, 2, 1000) float32; resume from the checkpoint if it fits.

    Robust training (``cfg.noise.active``) takes the left-padded stored trajectories instead
    (``load_padded_inputs``) and their lengths: every batch gets fresh noise, and validation one fixed
    noisy draw from the same range, so that its loss compares epochs on the same inputs.
    """
    noise = cfg.noise
    if noise.active and (train_lengths is None or val_lengths is None):
        raise ValueError("robust training needs the lengths of the training and validation trajectories")
    _check_arrays("training", train_x, train_y, num_classes)
    _check_arrays("validation", val_x, val_y, num_classes)
    if train_x.shape[1:] != val_x.shape[1:]:
        raise ValueError(f"training inputs {train_x.shape[1:]} and validation inputs {val_x.shape[1:]} differ in shape")
    plan = resolve_plan(cfg)
    checkpoint_path = Path(checkpoint_path)
    identity = _identity(cfg, plan, data_fingerprint(train_x, train_y, val_x, val_y))
    device = torch.device(plan.device)
    with torch_settings(plan):
        torch.manual_seed(cfg.seed)
        model = build_model(cfg.depth, cfg.width, num_classes, cfg.fp32_stem).to(device)
        # Compiled code shares the model's parameters; state dicts are taken from `model` (no prefix).
        net = torch.compile(model) if cfg.compile else model
        optimiser = torch.optim.Adam(model.parameters(), lr=plan.lr, weight_decay=cfg.weight_decay)
        n_train = train_x.shape[0]
        steps_per_epoch = -(-n_train // plan.batch_size)
        scheduler = make_scheduler(cfg, optimiser, plan.lr, steps_per_epoch)
        per_batch_schedule = cfg.schedule != "step"
        gen = torch.Generator().manual_seed(cfg.seed)
        noise_gen = torch.Generator(device).manual_seed(derive_seed(cfg.seed, "noise")) if noise.active else None
        stopper = EarlyStopping(cfg.patience, cfg.min_delta)
        best_state: dict[str, Tensor] = {}
        history: list[dict[str, float]] = []
        resumed_from = 0

        state = _load_checkpoint(checkpoint_path, identity, log)
        if state is not None:
            model.load_state_dict(state["model"])
            optimiser.load_state_dict(state["optimiser"])
            scheduler.load_state_dict(state["scheduler"])
            stopper = EarlyStopping(**state["early_stopping"])
            best_state = state["best_state"]
            history = state["history"]
            _set_rng_states(gen, state["rng"], noise_gen)
            resumed_from = len(history)
            log(f"resuming from {checkpoint_path} after epoch {resumed_from}")

        # One copy of the data on the training device; batches are index slices of it.
        x = torch.from_numpy(train_x).to(device)  # (N, 2, L)
        y = torch.from_numpy(train_y.astype(np.int64)).to(device)  # (N,)
        vx = torch.from_numpy(val_x).to(device)
        vy = torch.from_numpy(val_y.astype(np.int64)).to(device)
        batch_input = None
        if noise_gen is not None:
            tvalid = valid_mask(torch.from_numpy(np.asarray(train_lengths, dtype=np.int64)).to(device), x.shape[-1])
            batch_input = lambda idx: noisy_batch(noise_gen, x[idx], tvalid[idx], noise)  # noqa: E731
            vx = _noisy_validation(vx, val_lengths, noise, derive_seed(cfg.seed, "validation-noise"))
        log(f"training depth {cfg.depth} width {cfg.width} ({count_parameters(model):,} parameters) on "
            f"{plan.device}: {n_train} train / {len(val_y)} val, batch {plan.batch_size}, lr {plan.lr:g} "
            f"{cfg.schedule}{f' (warm-up {cfg.warmup:.0%})' if cfg.warmup else ''}, {plan.precision}, "
            f"threads {plan.threads}{', compiled' if cfg.compile else ''}"
            + (f", BatchNorm statistics recomputed on {cfg.bn_recalibration} inputs per epoch"
               if cfg.bn_recalibration else "")
            + (f", noise sigma U({noise.low:g}, {noise.high:g})"
               f"{f' ({noise.clean:.0%} clean)' if noise.clean else ''}{' + rotation' if noise.rotate else ''}"
               if noise.active else ""))

        preempt_after = int(os.environ.get(PREEMPT_ENV, "0") or 0)
        eval_batch = max(4 * plan.batch_size, 256)
        while len(history) < cfg.epochs and not stopper.stopped:
            epoch = len(history) + 1
            lr = optimiser.param_groups[0]["lr"]
            t0 = time.perf_counter()
            order = torch.randperm(n_train, generator=gen).to(device)  # (N,)
            train_loss, train_acc = train_epoch(net, x, y, order, plan.batch_size, optimiser, scheduler,
                                               per_batch_schedule, plan.amp, batch_input)
            if not per_batch_schedule:
                scheduler.step()
            if cfg.bn_recalibration:
                recalibrate_batchnorm(model, x, order[:cfg.bn_recalibration], plan.batch_size, plan.amp, batch_input)
            val_loss, val_acc = _validate(net, vx, vy, eval_batch, plan.amp)
            seconds = time.perf_counter() - t0
            if stopper.update(epoch, val_loss):
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            history.append({"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss,
                            "val_acc": val_acc, "lr": lr, "seconds": seconds})
            log(f"epoch {epoch:3d}/{cfg.epochs}  train loss {train_loss:.4f} acc {train_acc:.4f}  "
                f"val loss {val_loss:.4f} acc {val_acc:.4f}  lr {lr:.3g}  {seconds:.1f} s  "
                f"{n_train / seconds:.0f} samples/s" + ("  *" if stopper.best_epoch == epoch else ""))
            with atomic_output(checkpoint_path) as tmp:
                torch.save({"identity": identity, "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                            "scheduler": scheduler.state_dict(), "early_stopping": asdict(stopper),
                            "best_state": best_state, "history": history, "rng": _rng_states(gen, noise_gen)}, tmp)
            if epoch == preempt_after:
                log(f"{PREEMPT_ENV}={preempt_after}: exiting hard to simulate preemption")
                os._exit(PREEMPT_EXIT_CODE)
        if stopper.stopped:
            log(f"early stopping after epoch {len(history)}: no improvement for {cfg.patience} epochs")

    model.load_state_dict(best_state)
    model = model.cpu().eval()
    frame = pd.DataFrame(history, columns=list(HISTORY_COLUMNS))
    best = frame.loc[frame["epoch"] == stopper.best_epoch].iloc[0]
    train_seconds = float(frame["seconds"].sum())
    metrics: dict[str, Any] = {
        "best_epoch": int(stopper.best_epoch),
        "epochs_run": int(len(frame)),
        "stopped_early": bool(stopper.stopped),
        "best_val_loss": float(best["val_loss"]),
        "best_val_acc": float(best["val_acc"]),
        "best_train_loss": float(best["train_loss"]),
        "best_train_acc": float(best["train_acc"]),
        "n_train": int(n_train),
        "n_val": int(len(val_y)),
        "parameters": count_parameters(model),
        "config": asdict(cfg),
        "used": asdict(plan),
        "train_seconds": train_seconds,
        "samples_per_second": float(n_train * len(frame) / train_seconds) if train_seconds > 0 else 0.0,
        "versions": versions(),
    }
    log(f"best epoch {stopper.best_epoch}: val loss {metrics['best_val_loss']:.4f} acc {metrics['best_val_acc']:.4f}")
    return TrainResult(model, frame, metrics, int(stopper.best_epoch), resumed_from)


def write_outputs(result: TrainResult, out_model: str | Path, out_metrics: str | Path, out_history: str | Path,
                  checkpoint_path: str | Path, meta: dict[str, Any] | None = None,
                  class_names: Sequence[str] = CLASS_NAMES) -> None:
    """Write model, metrics and history (each atomically), then delete the checkpoint they make redundant.

    ``class_names``: the classes of the model's outputs (the training files'), recorded in the model's
    metadata, where ``andicam.model.model_class_names`` reads them.
    """
    if len(class_names) != result.model.cfg.num_classes:
        raise ValueError(f"{len(class_names)} class names for a model of {result.model.cfg.num_classes} classes")
    extra = dict(meta or {})
    model_meta = {**extra, "train_config": result.metrics["config"], "used": result.metrics["used"],
                  "best_epoch": result.best_epoch, "versions": result.metrics["versions"],
                  "class_names": list(class_names)}
    save_model(str(out_model), result.model, model_meta)
    write_json(out_metrics, {**extra, **result.metrics})
    write_csv(out_history, result.history)
    Path(checkpoint_path).unlink(missing_ok=True)


def comparable_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics without the wall-clock entries, for comparing two runs of the same training."""
    return {k: v for k, v in metrics.items() if k not in TIMING_KEYS}

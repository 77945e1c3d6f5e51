"""Grad-CAM of every stage at once, and the HDF5 file that stores it.

For a stage with activations A_c[t] and the logit y of the target class,
w_c = mean over t of dy/dA_c[t] and map[t] = sum_c w_c A_c[t] (METHODS §3).
The sign is kept unless ``relu`` is asked for; the target is the true label
unless "predicted" is asked for. All stages come from one forward and one
backward pass per batch: forward hooks retain each stage's output, and one
``torch.autograd.grad`` call returns the gradients of all of them.

Raw maps stay at each stage's own resolution (250/125/63/32 positions for
1000 input steps); ``upsample_nearest`` is the view used when a map is put
next to the input.

Layout of a Grad-CAM file (datasets chunked, gzip-compressed):

    /layer1 .. /layer4  float32 (N, positions)  raw maps
    /labels             int8    (N,)            true class
    /targets            int8    (N,)            class whose logit was differentiated
    /predictions        int8    (N,)            argmax of the logits
    /log_probabilities  float32 (N, classes)    log-softmax of the logits (files written before it lack it)
    attrs: format="andicam-gradcam/1", model (path), data (JSON list of paths),
           target ("true" | "predicted"), relu (bool), plus any extra attrs
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import h5py
import numpy as np
import torch
from torch import Tensor, nn

from andicam.dataio import NUM_CLASSES, DataFileError, Trajectories, open_hdf5
from andicam.files import atomic_output
from andicam.model import STAGES
from andicam.preprocess import INPUT_LENGTH, to_model_input

FORMAT = "andicam-gradcam/1"
TARGET_MODES: tuple[str, ...] = ("true", "predicted")


@dataclass
class GradCamResult:
    maps: dict[str, np.ndarray]  # stage -> (N, positions) float32
    targets: np.ndarray  # (N,) int64, class whose logit was differentiated
    predictions: np.ndarray  # (N,) int64, argmax of the logits
    log_probabilities: np.ndarray  # (N, classes) float32, log-softmax of the logits (``log_probabilities``)


def _model_param(model: nn.Module) -> Tensor:
    try:
        return next(model.parameters())
    except StopIteration:
        raise ValueError("the model has no parameters; cannot tell its device and dtype") from None


def _as_tensor(x: Tensor | np.ndarray) -> Tensor:
    x = torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x
    if x.ndim != 3:
        raise ValueError(f"input must have shape (N, channels, steps), got {tuple(x.shape)}")
    return x


def _gradcam_batch(
    model: nn.Module, xb: Tensor, tb: Tensor | None, stages: Sequence[str], relu: bool
) -> tuple[dict[str, Tensor], Tensor, Tensor, Tensor]:
    """Maps of every stage, targets, predictions and log-probabilities (B, classes) for one batch;
    ``tb=None`` targets each sample's own prediction."""
    acts: dict[str, Tensor] = {}

    def keep(name: str):
        def hook(_module: nn.Module, _inputs: Any, output: Tensor) -> Tensor:
            if not isinstance(output, Tensor):
                raise TypeError(f"stage {name!r} returned {type(output).__name__}, expected a tensor")
            acts[name] = output
            # Hand a copy downstream: an in-place op after the stage (e.g. ReLU(inplace=True))
            # would otherwise overwrite the retained activation and re-base its autograd node.
            return output.clone()

        return hook

    modules = []
    for s in stages:
        try:
            modules.append(model.get_submodule(s))
        except AttributeError:
            raise ValueError(f"the model has no stage {s!r}") from None
    handles = [m.register_forward_hook(keep(s)) for s, m in zip(stages, modules)]
    try:
        with torch.enable_grad():
            # Makes the graph exist even when every parameter is frozen (e.g. a trained backbone).
            xb = xb.detach().requires_grad_(True)
            logits = model(xb)  # (B, classes)
            missing = [s for s in stages if s not in acts]
            if missing:
                raise ValueError(f"stage(s) {', '.join(missing)} did not run in the model's forward pass")
            preds = logits.argmax(dim=1)  # (B,)
            targets = preds if tb is None else tb
            score = logits.gather(1, targets[:, None]).sum()  # samples are independent in eval mode
            grads = torch.autograd.grad(score, [acts[s] for s in stages])
    finally:
        for h in handles:
            h.remove()
    maps: dict[str, Tensor] = {}
    for s, g in zip(stages, grads):
        a = acts[s].detach()
        if a.ndim != 3:
            raise ValueError(f"stage {s!r} output has shape {tuple(a.shape)}, expected (B, channels, positions)")
        w = g.mean(dim=2, keepdim=True)  # (B, C, 1)
        cam = (w * a).sum(dim=1)  # (B, C, P) -> (B, P)
        maps[s] = torch.relu(cam) if relu else cam
    return maps, targets.detach(), preds.detach(), log_probabilities(logits.detach())


def log_probabilities(logits: Tensor) -> Tensor:
    """log-softmax (B, classes) float32 that keeps the confidence of a dominant class.

    A confident trajectory's probability rounds to 1, and z - logsumexp(z) to 0, even in float64 once the
    margin exceeds about 37 logits. For the largest class this returns -log1p(sum over the others of
    exp(z_j - z_max)) in float64 instead, which stays ordered (and nonzero in float32) to margins of about 100.
    """
    z = logits.double()
    log_p = z - torch.logsumexp(z, dim=1, keepdim=True)
    top = z.argmax(dim=1, keepdim=True)  # (B, 1)
    rest = torch.exp(z - z.gather(1, top)).scatter(1, top, 0.0)  # exp(z_j - z_max), 0 at the max
    return log_p.scatter(1, top, -torch.log1p(rest.sum(dim=1, keepdim=True))).float()


def _run(
    model: nn.Module,
    x: Tensor | np.ndarray,
    targets: Tensor | np.ndarray | None,
    stages: Sequence[str],
    relu: bool,
    batch_size: int,
) -> GradCamResult:
    if model.training:
        raise ValueError("Grad-CAM needs the model in eval mode (BatchNorm must use its running statistics)")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if not stages:
        raise ValueError("no stages given")
    x = _as_tensor(x)
    n = x.shape[0]
    if n == 0:
        raise ValueError("no inputs given")
    if targets is not None:
        targets = torch.as_tensor(np.asarray(targets) if not isinstance(targets, Tensor) else targets).long()
        if targets.shape != (n,):
            raise ValueError(f"targets has shape {tuple(targets.shape)}, expected ({n},)")
    p = _model_param(model)
    chunks: dict[str, list[np.ndarray]] = {s: [] for s in stages}
    all_t: list[np.ndarray] = []
    all_p: list[np.ndarray] = []
    all_lp: list[np.ndarray] = []
    for start in range(0, n, batch_size):
        xb = x[start : start + batch_size].to(device=p.device, dtype=p.dtype)
        tb = None if targets is None else targets[start : start + batch_size].to(p.device)
        maps, t, pr, lp = _gradcam_batch(model, xb, tb, stages, relu)
        for s in stages:
            chunks[s].append(maps[s].to("cpu", torch.float32).numpy())
        all_t.append(t.cpu().numpy())
        all_p.append(pr.cpu().numpy())
        all_lp.append(lp.cpu().numpy())
    return GradCamResult(
        {s: np.concatenate(c) for s, c in chunks.items()}, np.concatenate(all_t), np.concatenate(all_p),
        np.concatenate(all_lp),
    )


def gradcam_all_stages(
    model: nn.Module,
    x: Tensor | np.ndarray,
    targets: Tensor | np.ndarray,
    stages: Sequence[str] = STAGES,
    relu: bool = False,
    batch_size: int = 256,
) -> dict[str, np.ndarray]:
    """Grad-CAM maps {stage: (N, positions) float32} of ``x`` (N, 2, L) for the given target classes.

    Runs on the model's device and in its dtype; ``x`` may stay on the CPU.
    """
    return _run(model, x, targets, stages, relu, batch_size).maps


def compute_gradcam(
    model: nn.Module,
    x: Tensor | np.ndarray,
    labels: Tensor | np.ndarray,
    target: str = "true",
    stages: Sequence[str] = STAGES,
    relu: bool = False,
    batch_size: int = 256,
) -> GradCamResult:
    """Maps, targets and predictions in one pass; "predicted" targets each batch's own argmax."""
    if target not in TARGET_MODES:
        raise ValueError(f"target must be one of {TARGET_MODES}, got {target!r}")
    return _run(model, x, labels if target == "true" else None, stages, relu, batch_size)


@torch.no_grad()
def predict(model: nn.Module, x: Tensor | np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Argmax class (N,) int64 of ``x`` (N, 2, L)."""
    x = _as_tensor(x)
    p = _model_param(model)
    out = [
        model(x[s : s + batch_size].to(device=p.device, dtype=p.dtype)).argmax(1).cpu().numpy()
        for s in range(0, x.shape[0], batch_size)
    ]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def target_labels(
    model: nn.Module, x: Tensor | np.ndarray, labels: Tensor | np.ndarray, mode: str = "true", batch_size: int = 256
) -> Tensor:
    """Target class per sample (N,) long: the true ``labels`` or the model's predictions."""
    if mode == "true":
        return torch.as_tensor(np.asarray(labels)).long()
    if mode == "predicted":
        return torch.from_numpy(predict(model, x, batch_size)).long()
    raise ValueError(f"target mode must be one of {TARGET_MODES}, got {mode!r}")


def upsample_nearest(maps: np.ndarray, length: int = INPUT_LENGTH) -> np.ndarray:
    """(N, P) -> (N, length): step i takes position floor(i P / length), as torch's 'nearest' interpolation."""
    maps = np.asarray(maps)
    return maps[..., segment_index(maps.shape[-1], length)]


def segment_index(positions: int, length: int = INPUT_LENGTH) -> np.ndarray:
    """(length,) position of a stage that each input step belongs to under nearest upsampling."""
    return (np.arange(length) * positions) // length


def model_input(data: Trajectories, chunk: int = 4096) -> np.ndarray:
    """Network input (N, 2, 1000) float32, preprocessed in chunks to bound the temporary memory."""
    out = np.empty((len(data), 2, INPUT_LENGTH), dtype=np.float32)
    for s in range(0, len(data), chunk):
        out[s : s + chunk] = to_model_input(data.trajectories[s : s + chunk], data.lengths[s : s + chunk])
    return out


def write_gradcam(
    path: str | Path,
    maps: dict[str, np.ndarray],
    labels: np.ndarray,
    targets: np.ndarray,
    predictions: np.ndarray,
    attrs: dict[str, Any],
    log_probabilities: np.ndarray | None = None,
) -> None:
    """Write the maps and their labels atomically (layout in the module docstring)."""
    n = int(np.asarray(labels).shape[0])
    extra = {} if log_probabilities is None else {"log_probabilities": log_probabilities}
    for name, arr in {**maps, "targets": targets, "predictions": predictions, **extra}.items():
        if np.asarray(arr).shape[0] != n:
            raise ValueError(f"{name} has {np.asarray(arr).shape[0]} rows, labels has {n}")
    for name in ("target", "relu"):
        if name not in attrs:
            raise ValueError(f"attrs must contain {name!r}")
    if attrs["target"] not in TARGET_MODES:
        raise ValueError(f"attrs['target'] must be one of {TARGET_MODES}, got {attrs['target']!r}")
    if log_probabilities is not None and np.asarray(log_probabilities).shape != (n, NUM_CLASSES):
        raise ValueError(f"log_probabilities must have shape ({n}, {NUM_CLASSES}), "
                         f"got {np.asarray(log_probabilities).shape}")
    chunk = max(1, min(n, 1024))
    opts: dict[str, Any] = dict(compression="gzip", compression_opts=4, shuffle=True)
    with atomic_output(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for stage, m in maps.items():
                m = np.asarray(m, dtype=np.float32)
                if m.ndim != 2:
                    raise ValueError(f"map {stage!r} must be 2-D (N, positions), got shape {m.shape}")
                f.create_dataset(stage, data=m, chunks=(chunk, m.shape[1]), **opts)
            for name, arr in (("labels", labels), ("targets", targets), ("predictions", predictions)):
                f.create_dataset(name, data=np.asarray(arr).astype(np.int8), chunks=(chunk,), **opts)
            if log_probabilities is not None:
                f.create_dataset("log_probabilities", data=np.asarray(log_probabilities, dtype=np.float32),
                                 chunks=(chunk, NUM_CLASSES), **opts)
            f.attrs["format"] = FORMAT
            f.attrs["stages"] = json.dumps(list(maps))
            for key, value in attrs.items():
                f.attrs[key] = json.dumps(value) if isinstance(value, (dict, list, tuple)) else value


def read_gradcam(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, attrs): arrays holds the stage maps (float32), labels/targets/predictions (int8) and, where
    the file has them, the log-probabilities (float32, N x classes)."""
    path = Path(path)
    f, attrs = open_hdf5(path, FORMAT)
    with f:
        stages = attrs.get("stages", [])
        missing = [k for k in (*stages, "labels", "targets", "predictions") if k not in f]
        if missing:
            raise DataFileError(f"{path}: missing dataset(s) {', '.join(missing)}")
        try:
            arrays = {s: f[s][...].astype(np.float32, copy=False) for s in stages}
            for name in ("labels", "targets", "predictions"):
                arrays[name] = f[name][...].astype(np.int8, copy=False)
            if "log_probabilities" in f:
                arrays["log_probabilities"] = f["log_probabilities"][...].astype(np.float32, copy=False)
        except (OSError, RuntimeError, ValueError) as exc:
            raise DataFileError(f"{path}: data cannot be read (truncated or corrupt): {exc}") from None
    n = arrays["labels"].shape[0]
    for name, arr in arrays.items():
        if arr.shape[0] != n:
            raise DataFileError(f"{path}: {name!r} has {arr.shape[0]} rows, 'labels' has {n}")
    log_probs = arrays.get("log_probabilities")
    if log_probs is not None and (log_probs.ndim != 2 or log_probs.shape[1] != NUM_CLASSES
                                  or not (log_probs <= 0).all()):
        raise DataFileError(f"{path}: 'log_probabilities' must be (N, {NUM_CLASSES}) log-probabilities (<= 0), "
                            f"got shape {log_probs.shape}")
    for name in ("labels", "targets", "predictions"):
        arr = arrays[name]
        if n and (arr.min() < 0 or arr.max() >= NUM_CLASSES):
            raise DataFileError(f"{path}: {name!r} out of range [0, {NUM_CLASSES - 1}]")
    return arrays, attrs


def pick_examples(labels: np.ndarray, predictions: np.ndarray, seed: int, per_class: int = 1) -> np.ndarray:
    """Indices of ``per_class`` trajectories per class, in class order: a seeded random draw among the
    correctly classified ones (among all of the class when too few are correct); classes absent are skipped."""
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for k in range(NUM_CLASSES):
        of_class = np.flatnonzero(labels == k)
        correct = of_class[predictions[of_class] == k]
        pool = correct if correct.size >= per_class else of_class
        if pool.size:
            chosen += sorted(rng.choice(pool, min(per_class, pool.size), replace=False).tolist())
    return np.asarray(chosen, dtype=np.int64)


def trajectory_maps(maps: dict[str, np.ndarray], lengths: np.ndarray, length: int = INPUT_LENGTH) -> list[dict]:
    """Per trajectory {stage: (L_i,)}: each map upsampled to the input steps, cut to the steps the
    trajectory occupies (the last L_i, as it is left-padded)."""
    up = {s: upsample_nearest(m, length) for s, m in maps.items()}
    return [{s: u[i, length - int(n):] for s, u in up.items()} for i, n in enumerate(lengths)]


def read_gradcams(paths: Sequence[str | Path]) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Several Grad-CAM files concatenated in the given order (the datasets all of them hold); their attrs."""
    parts = [read_gradcam(p) for p in paths]
    if not parts:
        raise ValueError("no Grad-CAM files given")
    common = [k for k in parts[0][0] if all(k in a for a, _ in parts)]
    for k in common:
        widths = {a[k].shape[1:] for a, _ in parts}
        if len(widths) > 1:
            raise DataFileError(f"{k!r} has different shapes {sorted(widths)} in {', '.join(map(str, paths))}")
    return {k: np.concatenate([a[k] for a, _ in parts]) for k in common}, [attrs for _, attrs in parts]

"""Predictions of a trained model and the classification metrics computed from them.

The metric functions are plain numpy on integer label arrays, so they can be
checked by hand and against scikit-learn. Prediction runs in eval mode
without gradients, in batches, preprocessing a chunk of stored trajectories at
a time so that a large test set never exists twice in memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from andicam.dataio import CLASS_NAMES, NUM_CLASSES, DataFileError, Trajectories
from andicam.preprocess import to_model_input

# Stored trajectories preprocessed at once while predicting: bounds memory, not speed.
PREPROCESS_CHUNK = 8192


@torch.no_grad()
def predict_logits(model: nn.Module, x: np.ndarray | torch.Tensor, batch_size: int = 512,
                   amp: bool = False) -> torch.Tensor:
    """Model inputs (N, 2, L) -> logits (N, C) float32 on the model's device; the model is put in eval mode."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if len(x) == 0:
        raise ValueError("no inputs to predict")
    device = next(model.parameters()).device
    x = torch.as_tensor(x)
    model.eval()
    out = []
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size].to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            out.append(model(xb).float())  # (B, C)
    return torch.cat(out)  # (N, C)


def predict_proba(model: nn.Module, data: Trajectories, batch_size: int = 512, amp: bool = False) -> np.ndarray:
    """Stored trajectories -> class probabilities (N, C) float32, preprocessed chunk by chunk."""
    probs = []
    for start in range(0, len(data), PREPROCESS_CHUNK):
        stop = min(start + PREPROCESS_CHUNK, len(data))
        x = to_model_input(data.trajectories[start:stop], data.lengths[start:stop])  # (n, 2, 1000)
        logits = predict_logits(model, x, batch_size=batch_size, amp=amp)
        probs.append(torch.softmax(logits, dim=1).cpu().numpy())
    return np.concatenate(probs).astype(np.float32, copy=False)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """counts[i, j] = number of trajectories of true class i predicted as j, (C, C) int64."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    if labels.shape != predicted.shape or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and predictions {predicted.shape} must be equal-length 1-D arrays")
    for name, arr in (("labels", labels), ("predictions", predicted)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(f"{name} must lie in [0, {num_classes - 1}], found {arr.min()}..{arr.max()}")
    return np.bincount(labels * num_classes + predicted, minlength=num_classes**2).reshape(num_classes, num_classes)


def row_normalise(counts: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (fraction of a true class per predicted class); rows without samples are NaN."""
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / np.where(totals > 0, totals, 1), np.nan)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den is 0 (scikit-learn's zero_division=0)."""
    return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def per_class_scores(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Recall, precision, F1 and support per class from a confusion matrix; undefined ratios are 0."""
    counts = np.asarray(counts, dtype=np.float64)
    tp = np.diag(counts)
    support = counts.sum(axis=1)  # true members of each class
    predicted = counts.sum(axis=0)  # trajectories assigned to each class
    recall = _safe_ratio(tp, support)
    precision = _safe_ratio(tp, predicted)
    f1 = _safe_ratio(2 * tp, support + predicted)
    return {"recall": recall, "precision": precision, "f1": f1, "support": support.astype(np.int64)}


def accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if labels.shape != predicted.shape or labels.size == 0:
        raise ValueError(f"accuracy needs equal, non-empty label arrays, got {labels.shape} and {predicted.shape}")
    return float(np.mean(labels == predicted))


def macro_f1(counts: np.ndarray) -> float:
    """Mean F1 over the classes that occur in the labels or the predictions (scikit-learn's 'macro')."""
    counts = np.asarray(counts)
    present = (counts.sum(axis=0) + counts.sum(axis=1)) > 0
    if not present.any():
        raise ValueError("macro-F1 of an empty confusion matrix")
    return float(per_class_scores(counts)["f1"][present].mean())


def _nan_to_none(values: np.ndarray) -> list:
    """Nested lists for JSON, with NaN written as null (JSON has no NaN)."""
    return [[None if np.isnan(v) else float(v) for v in row] for row in values]


def classification_metrics(labels: np.ndarray, predicted: np.ndarray,
                           class_names: tuple[str, ...] = CLASS_NAMES) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class recall/precision/F1 and both confusion matrices, JSON-ready."""
    counts = confusion_matrix(labels, predicted, len(class_names))
    scores = per_class_scores(counts)
    return {
        "n": int(len(labels)),
        "accuracy": accuracy(labels, predicted),
        "macro_f1": macro_f1(counts),
        "class_names": list(class_names),
        "per_class": {
            name: {key: (int(scores[key][i]) if key == "support" else float(scores[key][i]))
                   for key in ("recall", "precision", "f1", "support")}
            for i, name in enumerate(class_names)
        },
        "confusion_counts": counts.tolist(),
        "confusion_normalised": _nan_to_none(row_normalise(counts)),
    }


def predictions_frame(data: Trajectories, probs: np.ndarray,
                      class_names: tuple[str, ...] = CLASS_NAMES) -> pd.DataFrame:
    """The predictions table: index, label, alpha, length, predicted, p_<class> per class; one row per trajectory."""
    if probs.shape != (len(data), len(class_names)):
        raise ValueError(f"probabilities have shape {probs.shape}, expected ({len(data)}, {len(class_names)})")
    frame = pd.DataFrame({
        "index": np.arange(len(data)),
        "label": data.labels.astype(np.int64),
        "alpha": data.alpha.astype(np.float64),
        "length": data.lengths.astype(np.int64),
        "predicted": probs.argmax(axis=1).astype(np.int64),
    })
    for i, name in enumerate(class_names):
        frame[f"p_{name}"] = probs[:, i]
    return frame


def read_predictions(path: str, class_names: tuple[str, ...] = CLASS_NAMES) -> pd.DataFrame:
    """A predictions CSV, checked for the columns the figures need (``p_<class>`` of ``class_names``)."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFileError(f"{path}: cannot read the predictions file: {exc}") from None
    needed = ["index", "label", "alpha", "length", "predicted", *[f"p_{c}" for c in class_names]]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataFileError(f"{path}: not a predictions file, missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise DataFileError(f"{path}: the predictions file has no rows")
    return frame

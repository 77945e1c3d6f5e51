"""Apply a trained classifier (and optionally its Grad-CAM) to a user's own 2-D tracks.

Tracks are read by ``andicam.tracks`` (CSV with any column names, TrackMate spots exports, the AnDi
2020 text format); the figures of ``--gradcam-dir`` are drawn by ``andicam.plots.predict``.

Per-track status (the ``status`` column; stable strings, first that applies)
---------------------------------------------------------------------------
See ``REASONS``. Every track of the input gets one output row in input order;
a rejected track keeps its row with the reason and empty predictions.

Tracks longer than the network's input (1000 points) are cut to their first
1000 points by default (``long="first"``; ``"last"`` keeps the last 1000,
``"reject"`` rejects them as ``too long``). A cut track is still ``ok``; its
``n_used`` column says how many points the network saw, and the summary line
counts the cut tracks. The first points are the default because every training
trajectory starts at its process's time origin, and ageing models (CTRW, ATTM,
SBM) change their statistics with time: the observed start of a track is the
closest match. Cutting happens before normalisation, as a simulated trajectory
of that length is normalised.

Preprocessing is exactly the training data's: the points used are normalised
per coordinate as ``andi_datasets`` does (``andicam.simulate.normalise``),
stored as float32, then left-padded and min-max scaled by
``andicam.preprocess.to_model_input``.

Output CSV
----------
``track_id, n_points`` (points read), ``n_used`` (points given to the network,
0 when rejected), ``status`` (``ok`` or the reason), ``predicted`` (class name),
``confidence`` (its probability), ``second`` and ``p_second`` (the runner-up
class and its probability), ``noise_est`` (the track's localisation noise
relative to its step size, ``andicam.noise.estimate_noise``), ``p_<class>`` for
the model's classes in label order, ``p_model_ATTM, p_model_CTRW, p_model_FBM,
p_model_LW, p_model_SBM``, ``alpha_regime``. Written atomically, with a JSON
beside it (same stem) that names the model (its file, shipped name or null, and
sha256), its kind (``noiseless``: the paper's; ``robust``: trained with
localisation noise) and its training noise.

Five-model probabilities
------------------------
The eight classes are the five AnDi models split by regime, plus Brownian
motion: ``p_model_ATTM = p_SubATTM``, ``p_model_CTRW = p_SubCTRW``,
``p_model_FBM = p_SubFBM + p_SupFBM``, ``p_model_LW = p_SupLW``,
``p_model_SBM = p_SubSBM + p_SupSBM``. BM is FBM and SBM at alpha = 1 at the
same time, so it is not folded into either: ``p_BM`` stays its own column and
the five model columns plus ``p_BM`` sum to 1. ``alpha_regime`` is ``sub``,
``super`` or ``normal`` from the predicted class.

A model of the five AnDi 2020 models (``andicam.dataio.ANDI_MODELS``, Task 2)
is also accepted: its classes are the five models, so ``predicted``,
``second`` and ``confidence`` are over them, the ``p_<class>`` columns are
``p_ATTM ... p_SBM``, the ``p_model_*`` columns equal them, there is no
``p_BM``, and ``alpha_regime`` is empty (such a model says nothing about alpha).
To compare an 8-class model with it, ``fold_to_andi_models`` gives the five
models' probabilities with BM split equally between FBM and SBM.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal

import numpy as np
import pandas as pd
import torch

from andicam.errors import UserInputError
from andicam.dataio import ANDI_MODELS, CLASS_NAMES, CLASS_SETS, DataFileError
from andicam.device import resolve_device
from andicam.files import write_csv, write_json
from andicam.gradcam import gradcam_all_stages, segment_index
from andicam.model import ResNet1d, load_model, model_class_names
from andicam.noise import NoiseRange, estimate_noise
from andicam.plots.predict import write_gradcam_figures
from andicam.preprocess import INPUT_LENGTH, to_model_input
from andicam.shipped import resolve_model, sha256_file
from andicam.simulate import normalise, steps_without_spread
from andicam.tracks import Format, Track, TrackSet, read_tracks

LongPolicy = Literal["first", "last", "reject"]

# Status of a rejected track, in the order they are checked; a track gets the first that applies.
REASONS: dict[str, str] = {
    "not 2-D": "AnDi line whose dimension is not 2 (only 2-D tracks can be classified)",
    "odd number of values": "AnDi 2-D line whose number of values after the dimension is odd (x and y differ in length)",
    "non-numeric value": "a coordinate (or an AnDi field) that is text, not a number",
    "invalid frame": "a frame that is empty, not a number, or not an integer",
    "duplicated frame": "two points of the track share a frame",
    "missing frames": "the frames of the track have a gap (the network assumes one point per frame)",
    "non-finite coordinate": "an x or y that is empty, NaN or infinite",
    "too short": "fewer points than the minimum length (default 10, the shortest training trajectory)",
    "too long": f"more than {INPUT_LENGTH} points while long tracks are rejected",
    "constant coordinate": "the steps of x or y have zero spread up to rounding (no motion, or the same step every frame): "
                           "normalising divides by that spread",
}
OK = "ok"

MODEL_GROUPS: dict[str, tuple[str, ...]] = {
    "ATTM": ("SubATTM",),
    "CTRW": ("SubCTRW",),
    "FBM": ("SubFBM", "SupFBM"),
    "LW": ("SupLW",),
    "SBM": ("SubSBM", "SupSBM"),
}


def fold_to_andi_models(probs8: np.ndarray) -> np.ndarray:
    """Probabilities of the paper's 8 classes (N, 8) -> probabilities of the five AnDi models (N, 5), in
    ``ANDI_MODELS`` order.

    Each class goes to its model, and BM is split equally between FBM and SBM, because Brownian motion
    is both FBM and SBM at alpha = 1:
    ATTM = SubATTM, CTRW = SubCTRW, FBM = SubFBM + SupFBM + BM/2, LW = SupLW,
    SBM = SubSBM + SupSBM + BM/2. Rows keep their sums (1 for probabilities).
    """
    probs8 = np.asarray(probs8)
    if probs8.ndim != 2 or probs8.shape[1] != len(CLASS_NAMES):
        raise ValueError(f"expected probabilities of the {len(CLASS_NAMES)} classes (N, {len(CLASS_NAMES)}), "
                         f"got shape {probs8.shape}")
    p = {name: probs8[:, k] for k, name in enumerate(CLASS_NAMES)}
    half_bm = p["BM"] / 2
    return np.stack([sum(p[c] for c in MODEL_GROUPS[m]) + (half_bm if m in ("FBM", "SBM") else 0)
                     for m in ANDI_MODELS], axis=1)  # (N, 8) -> (N, 5)


def alpha_regime(class_name: str) -> str:
    """'sub', 'super' or 'normal' (BM) for a class name."""
    if class_name.startswith("Sub"):
        return "sub"
    if class_name.startswith("Sup"):
        return "super"
    return "normal"


@dataclass
class Prepared:
    """Checked tracks: one status per track; the normalised points of the ok ones."""

    status: list[str]
    n_points: np.ndarray  # (N,) points read
    n_used: np.ndarray  # (N,) points given to the network (0 when rejected)
    ok_index: np.ndarray  # (K,) positions of the ok tracks in the input
    normalised: list[np.ndarray] = field(default_factory=list)  # K arrays (2, n_used) float32
    used_xy: list[np.ndarray] = field(default_factory=list)  # K arrays (n_used, 2), input units


# ----------------------------------------------------------------------------- reading


# ----------------------------------------------------------------------------- checking and preprocessing


def normalise_track(xy: np.ndarray) -> np.ndarray:
    """(T, 2) points -> (2, T) float32, normalised per coordinate as the training data."""
    return np.asarray(normalise(np.asarray(xy, dtype=np.float64).T), dtype=np.float32)  # (T, 2) -> (2, T)


def check_track(track: Track, min_length: int, long: LongPolicy) -> tuple[str, np.ndarray | None]:
    """(status, the points to use (n_used, 2) or None when rejected)."""
    if track.problem is not None:
        return track.problem, None
    xy = track.xy
    if not np.isfinite(xy).all():
        return "non-finite coordinate", None
    n = len(xy)
    if n < min_length:
        return "too short", None
    if n > INPUT_LENGTH:
        if long == "reject":
            return "too long", None
        xy = xy[:INPUT_LENGTH] if long == "first" else xy[-INPUT_LENGTH:]
    if steps_without_spread(np.diff(xy, axis=0).T).any():
        return "constant coordinate", None
    return OK, xy


def prepare(tracks: list[Track], min_length: int = 10, long: LongPolicy = "first") -> Prepared:
    if min_length < 2:
        raise ValueError(f"the minimum length must be at least 2 points, got {min_length}")
    if long not in ("first", "last", "reject"):
        raise ValueError(f"long must be first, last or reject, got {long!r}")
    status: list[str] = []
    n_used = np.zeros(len(tracks), dtype=np.int64)
    ok: list[int] = []
    normalised: list[np.ndarray] = []
    used_xy: list[np.ndarray] = []
    for i, track in enumerate(tracks):
        st, xy = check_track(track, min_length, long)
        status.append(st)
        if xy is not None:
            ok.append(i)
            n_used[i] = len(xy)
            used_xy.append(xy)
            normalised.append(normalise_track(xy))
    return Prepared(status, np.array([len(t.xy) for t in tracks], dtype=np.int64), n_used,
                    np.array(ok, dtype=np.int64), normalised, used_xy)


def model_input(normalised: list[np.ndarray]) -> np.ndarray:
    """K normalised tracks (2, T_k) -> network input (K, 2, 1000), as for the training data."""
    lengths = np.array([a.shape[1] for a in normalised], dtype=np.int32)
    traj = np.zeros((len(normalised), 2, int(lengths.max())), dtype=np.float32)  # left-aligned, as stored
    for i, a in enumerate(normalised):
        traj[i, :, : a.shape[1]] = a
    return to_model_input(traj, lengths)  # (K, 2, Tmax) -> (K, 2, 1000)


def _batches(normalised: list[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(normalised), batch_size):
        yield model_input(normalised[start : start + batch_size])


# ----------------------------------------------------------------------------- the network


def check_model(model: ResNet1d, where: str) -> None:
    try:
        names = model_class_names(model)
    except ValueError as exc:
        raise UserInputError(f"{where}: {exc}") from None
    if names not in CLASS_SETS or model.cfg.in_channels != 2:
        raise UserInputError(f"{where}: the model has {model.cfg.num_classes} classes and {model.cfg.in_channels} "
                             f"input channels; expected a 2-D classifier of the paper's {len(CLASS_NAMES)} classes "
                             f"or of the {len(ANDI_MODELS)} AnDi models")


def load_classifier(path: str | Path, device: str | torch.device = "cpu") -> ResNet1d:
    """``andicam.model.load_model`` with failures turned into one-line user errors."""
    try:
        model = load_model(str(path), device)
    except DataFileError as exc:
        raise UserInputError(str(exc)) from None
    check_model(model, str(path))
    return model


def predict_probabilities(model: ResNet1d, normalised: list[np.ndarray], batch_size: int = 256) -> np.ndarray:
    """Class probabilities (K, C) float32 of normalised tracks, in batches on the model's device."""
    device = next(model.parameters()).device
    out = [np.zeros((0, model.cfg.num_classes), dtype=np.float32)]
    model.eval()
    with torch.inference_mode():
        for x in _batches(normalised, batch_size):
            logits = model(torch.from_numpy(x).to(device))  # (B, 2, 1000) -> (B, C)
            out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    return np.concatenate(out)


def gradcam_layer4(model: ResNet1d, normalised: list[np.ndarray], targets: np.ndarray,
                   batch_size: int = 256) -> np.ndarray:
    """Raw layer4 Grad-CAM (K, 32), sign kept (the paper's choice), for the class ``targets`` (K,) of each track."""
    maps = [
        gradcam_all_stages(model, x, targets[start : start + len(x)], ("layer4",), False, batch_size)["layer4"]
        for start, x in zip(range(0, len(normalised), batch_size), _batches(normalised, batch_size))
    ]
    return np.concatenate(maps)


def upsample_to_track(cam: np.ndarray, n_used: int, length: int = INPUT_LENGTH) -> np.ndarray:
    """One raw map (P,) -> values at the track's n_used points.

    Nearest-neighbour upsampling to the ``length`` input steps (``andicam.gradcam``'s
    rule); the track is left-padded, so its points are the last ``n_used`` steps.
    """
    return cam[segment_index(cam.shape[0], length)][length - n_used :]  # (P,) -> (n_used,)


# ----------------------------------------------------------------------------- outputs


def predictions_table(tracks: list[Track], prep: Prepared, probs: np.ndarray,
                      class_names: tuple[str, ...] = CLASS_NAMES) -> pd.DataFrame:
    """One row per track in input order; rejected tracks have empty predictions. ``class_names``: the
    model's classes (one of ``andicam.dataio.CLASS_SETS``), the columns of ``probs``."""
    paper = class_names == CLASS_NAMES
    n = len(tracks)
    full = np.full((n, len(class_names)), np.nan)
    full[prep.ok_index] = probs
    predicted = np.full(n, "", dtype=object)
    second = np.full(n, "", dtype=object)
    regime = np.full(n, "", dtype=object)
    confidence = np.full(n, np.nan)
    p_second = np.full(n, np.nan)
    noise = np.full(n, np.nan)
    ranked = np.argsort(-probs, axis=1, kind="stable") if len(probs) else np.zeros((0, 2), dtype=np.int64)
    for j, i in enumerate(prep.ok_index):
        k, k2 = ranked[j, 0], ranked[j, 1]
        predicted[i], second[i] = class_names[k], class_names[k2]
        confidence[i], p_second[i] = probs[j, k], probs[j, k2]
        regime[i] = alpha_regime(class_names[k]) if paper else ""  # the five models say nothing about alpha
        noise[i] = estimate_noise(prep.used_xy[j])
    table = pd.DataFrame({
        "track_id": [t.track_id for t in tracks],
        "n_points": prep.n_points,
        "n_used": prep.n_used,
        "status": prep.status,
        "predicted": predicted,
        "confidence": confidence,
        "second": second,
        "p_second": p_second,
        "noise_est": noise,
    })
    for k, name in enumerate(class_names):
        table[f"p_{name}"] = full[:, k]
    for model_name, classes in MODEL_GROUPS.items():
        table[f"p_model_{model_name}"] = (sum(full[:, CLASS_NAMES.index(c)] for c in classes) if paper
                                          else full[:, class_names.index(model_name)])
    table["alpha_regime"] = regime
    return table


def summary_line(data: TrackSet, prep: Prepared) -> str:
    """One line: tracks read, ok (and cut), rejected by reason, what the reader skipped."""
    n = len(prep.status)
    ok = len(prep.ok_index)
    line = f"{n} tracks read from {data.source}, {ok} ok"
    cut = int((prep.n_used[prep.ok_index] < prep.n_points[prep.ok_index]).sum())
    if cut:
        line += f" ({cut} cut to {INPUT_LENGTH} points)"
    rejected = Counter(s for s in prep.status if s != OK)
    line += f", {n - ok} rejected"
    if rejected:
        line += " (" + ", ".join(f"{reason}: {count}" for reason, count in sorted(rejected.items())) + ")"
    if data.untracked_spots:
        line += f"; {data.untracked_spots} spots without a track ignored"
    if data.skipped_header_rows:
        line += f"; {data.skipped_header_rows} extra header rows skipped"
    return line


# Localisation noise (std, in step std units) that every AnDi 2020 Task 2 track carries: 0.1, 0.5 or 1.
ANDI_DATA_NOISE = (0.1, 1.0)


def model_noise(model: ResNet1d) -> NoiseRange:
    """The noise range a model was trained with (from its metadata); none for the paper's noiseless models.

    A five-model AnDi classifier learnt from the challenge's tracks, which carry noise of std 0.1 to 1 step
    before any added in training, so its range starts there (the added noise can only widen it)."""
    meta = getattr(model, "meta", {})
    cfg = meta.get("train_config", {})
    low, high = float(cfg.get("noise_min", 0.0)), float(cfg.get("noise_max", 0.0))
    if tuple(meta.get("class_names") or ()) == ANDI_MODELS:
        low, high = ANDI_DATA_NOISE[0], max(high, ANDI_DATA_NOISE[1])
    return NoiseRange(low, high, bool(cfg.get("rotate", False)), float(cfg.get("noise_clean", 0.0)))


def model_kind(noise: NoiseRange) -> str:
    return "robust" if noise.high > 0 else "noiseless"


# A single track's estimate scatters widely (clean Brownian tracks: 90th percentile 0.41 at 100 points,
# 0.21 at 1000), so the warning looks at the median over the file's tracks, which is 0 on clean data;
# a noiseless model is warned about above this median.
NOISE_TOLERANCE = 0.2


def noise_warning(table: pd.DataFrame, noise: NoiseRange) -> str | None:
    """One line when the tracks' median estimated noise exceeds what the model was trained on, else None."""
    limit = max(noise.high, NOISE_TOLERANCE)
    est = table.loc[table["status"] == OK, "noise_est"].dropna()
    if est.empty or not est.median() > limit:
        return None
    return (f"warning: the tracks' median estimated noise {est.median():.2g} (noise_est column; {int((est > limit).sum())} "
            f"of {len(est)} tracks above {limit:g}) exceeds the {model_kind(noise)} model's training noise (sigma up "
            f"to {noise.high:g}): predictions are less reliable"
            + ("; the noise-robust model suits these tracks better" if noise.high == 0 else "")
            + " (strongly sub-diffusive motion also reads partly as noise: see docs/predict.md)")


@dataclass
class PredictResult:
    table: pd.DataFrame
    summary: str
    figures: list[Path]
    metadata: dict = field(default_factory=dict)
    warning: str | None = None


def run_predict(
    model: str | Path | None,
    input_path: str | Path,
    out_csv: str | Path,
    fmt: Format = "auto",
    columns: dict[str, str | None] | None = None,
    skip_rows: int | None = None,
    min_length: int = 10,
    long: LongPolicy = "first",
    gradcam_dir: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 256,
    task: str | None = None,
) -> PredictResult:
    """Read, check, classify and write; the whole ``andicam predict`` command.

    ``model``: a model file, a shipped model's name, or None for the default shipped model of ``task``
    (``andicam.shipped.resolve_model``); the output JSON records its name (shipped) and sha256.
    """
    if batch_size < 1:
        raise UserInputError(f"the batch size must be positive, got {batch_size}")
    if min_length < 2:
        raise UserInputError(f"the minimum length must be at least 2 points, got {min_length}")
    resolved = resolve_model(model, task)
    sha256 = sha256_file(resolved.path)
    if resolved.shipped is not None and sha256 != resolved.shipped.manifest["sha256"]:
        raise UserInputError(f"shipped model {resolved.name}: {resolved.path} does not match the sha256 of its "
                             "manifest (damaged or replaced); reinstall the package or re-ship the model")
    torch_device = resolve_device(device)
    data = read_tracks(input_path, fmt, columns, skip_rows)
    network = load_classifier(resolved.path, torch_device)
    prep = prepare(data.tracks, min_length, long)
    class_names = model_class_names(network)
    probs = predict_probabilities(network, prep.normalised, batch_size)
    table = predictions_table(data.tracks, prep, probs, class_names)
    figures: list[Path] = []
    if gradcam_dir is not None:
        Path(gradcam_dir).mkdir(parents=True, exist_ok=True)  # exists even when no track is ok
    if gradcam_dir is not None and len(prep.ok_index):
        cams = gradcam_layer4(network, prep.normalised, probs.argmax(axis=1), batch_size)
        point_cams = [upsample_to_track(cams[j], int(prep.n_used[i])) for j, i in enumerate(prep.ok_index)]
        figures = write_gradcam_figures(gradcam_dir, data.tracks, prep, probs, point_cams, class_names)
    noise = model_noise(network)
    metadata = {"model": str(resolved.path), "model_name": resolved.name, "model_sha256": sha256,
                "model_kind": model_kind(noise), "class_names": list(class_names),
                "training_noise": {"low": noise.low, "high": noise.high, "rotate": noise.rotate,
                                   "clean_share": noise.clean},
                "input": str(input_path), "summary": summary_line(data, prep),
                "noise_est": "localisation-noise std relative to the step std, from the negative lag-1 "
                             "covariance of the track's increments (andicam.noise.estimate_noise)"}
    write_csv(out_csv, table)
    write_json(Path(out_csv).with_suffix(".json"), metadata)
    return PredictResult(table, metadata["summary"], figures, metadata, noise_warning(table, noise))

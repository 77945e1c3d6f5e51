"""Erasing test: accuracy after erasing input segments chosen by Grad-CAM, against random controls.

Each position of a stage (layer4 by default: 32 positions) covers one
segment of the 1000 input steps under nearest upsampling (31 or 32 steps).
For every trajectory its own map values are cut into percentile bins
(0-10 %, ..., 90-100 %); the segments of bin b are erased (set to 0 in min-max
space, both axes) and the model classifies the result. METHODS §4, with the
fixes of §5.5:

- bins are inclusive (edge e_b <= value < e_{b+1}, the last bin closed), so
  the smallest and largest segments are erased too and every segment falls in
  exactly one bin;
- segments come from each trajectory's own map, never from trajectory 0;
- both random controls are named and erase exactly as many segments as the
  Grad-CAM selection of the same trajectory and bin:
  ``uniform`` draws them uniformly without replacement; ``run_length`` shifts
  the Grad-CAM selection circularly by a random offset in 1..V-1, keeping its
  run-length structure (runs are contiguous modulo V);
- an erased segment is filled (``fill``) in min-max space, where the model reads its input: ``zero``
  sets it to 0, as the paper did; ``hold`` repeats the last position before it and ``bridge`` draws a
  Brownian bridge between its neighbours (METHODS §5). Zero puts the erased steps on a corner of the
  min-max box that no training trajectory visits, so the accuracy drop then measures the jump as much
  as the information erased; the other two fills keep the trajectory looking like one. They fill only
  steps of the trajectory itself: the padding stays as the model always sees it;
- on variable-length data only the V positions whose segments hold real steps
  of the trajectory take part (``valid``): the left zero-padding carries no
  information about the trajectory, and erasing it would spread the bins of a
  short trajectory over padding and flatten the curve. ``valid=None`` (or the
  CLI's --include-padding) ranks all P positions, as the paper's code did.

Result: a tidy table with one row per (method, seed, bin, class), where
class is a class name or "all"; method "none" (bin -1) is the accuracy with
nothing erased. Controls have several seeds, each derived from the master
seed, the method and the seed index.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from andicam.dataio import CLASS_NAMES, LENGTH_EDGES, length_bin_labels, length_bins
from andicam.erasing_tables import CONTROLS, FILLS
from andicam.gradcam import segment_index
from andicam.preprocess import INPUT_LENGTH
from andicam.seeding import derive_seed


def valid_positions(lengths: np.ndarray, positions: int, steps: int = INPUT_LENGTH) -> np.ndarray:
    """(N, P) bool: the stage positions whose input segment holds at least one real step.

    Trajectories are left-padded to ``steps`` (METHODS §2), so the real steps of a
    trajectory of length T are steps-T..steps-1 and its valid positions are a suffix.
    """
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or lengths.size and (lengths.min() < 1 or lengths.max() > steps):
        raise ValueError(f"lengths must be a 1-D array of values in [1, {steps}]")
    first = segment_index(positions, steps)[steps - lengths]  # position of the first real step
    return np.arange(positions)[None, :] >= first[:, None]


def _check_valid(valid: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """``valid`` (N, P) as a bool array (all True for None); each row must be a non-empty suffix."""
    if valid is None:
        return np.ones(shape, dtype=bool)
    valid = np.asarray(valid, dtype=bool)
    if valid.shape != shape:
        raise ValueError(f"valid mask has shape {valid.shape}, expected {shape}")
    count = valid.sum(axis=1)
    if (count < 1).any() or not (valid == (np.arange(shape[1])[None] >= shape[1] - count[:, None])).all():
        raise ValueError("every row of the valid mask must be a non-empty suffix (left-padded trajectories)")
    return valid


def percentile_bins(maps: np.ndarray, n_bins: int = 10, valid: np.ndarray | None = None) -> np.ndarray:
    """(N, P) maps -> (N, P) bin index 0..n_bins-1 of every position among its own trajectory's values.

    Edges are the linear-interpolation percentiles (numpy's default) of the valid values of
    each row; invalid positions get bin -1 and are never erased.
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 2:
        raise ValueError(f"maps must be 2-D (N, positions), got shape {maps.shape}")
    valid = _check_valid(valid, maps.shape)
    count = valid.sum(axis=1)  # (N,)
    ordered = np.sort(np.where(valid, maps, np.inf), axis=1)  # valid values first, ascending
    rank = np.linspace(0, 100, n_bins + 1)[:, None] / 100 * (count - 1)[None, :]  # (n_bins + 1, N)
    lo = np.floor(rank).astype(np.int64)
    hi = np.minimum(lo + 1, (count - 1)[None, :])
    rows = np.arange(maps.shape[0])[None, :]
    below, above = ordered[rows, lo], ordered[rows, hi]
    edges = below + (rank - lo) * (above - below)  # (n_bins + 1, N)
    # Count the interior edges at or below the value: the lowest value lands in bin 0, the highest in the last.
    bins = (maps[None] >= edges[1:-1, :, None]).sum(axis=0)  # (N, P)
    return np.where(valid, bins, -1)


def gradcam_masks(maps: np.ndarray, n_bins: int = 10, valid: np.ndarray | None = None) -> np.ndarray:
    """(N, n_bins, P) bool: the positions of each percentile bin (never an invalid position)."""
    bins = percentile_bins(maps, n_bins, valid)
    return bins[:, None, :] == np.arange(n_bins)[None, :, None]


def uniform_masks(reference: np.ndarray, rng: np.random.Generator, valid: np.ndarray | None = None) -> np.ndarray:
    """As many valid positions per (trajectory, bin) as ``reference`` (N, B, P), drawn uniformly without replacement."""
    valid = _check_valid(valid, (reference.shape[0], reference.shape[-1]))
    count = reference.sum(axis=-1, keepdims=True)  # (N, B, 1)
    keys = rng.random(reference.shape, dtype=np.float32)
    keys = np.where(valid[:, None, :], keys, 2.0)  # invalid positions rank after every valid one
    rank = keys.argsort(axis=-1).argsort(axis=-1)  # a uniformly random permutation of the valid positions per row
    return rank < count


def run_length_masks(reference: np.ndarray, rng: np.random.Generator, valid: np.ndarray | None = None) -> np.ndarray:
    """``reference`` (N, B, P) shifted circularly within each row's V valid positions by a random offset 1..V-1.

    A row with a single valid position cannot move and keeps its selection.
    """
    p = reference.shape[-1]
    if p < 2:
        raise ValueError("a run-length control needs at least 2 positions")
    valid = _check_valid(valid, (reference.shape[0], p))
    count = valid.sum(axis=1)[:, None, None]  # (N, 1, 1)
    first = p - count
    draw = rng.random(reference.shape[:-1])[..., None]  # (N, B, 1)
    offset = 1 + np.floor(draw * (count - 1)).astype(np.int64)  # uniform on 1..V-1 (0 shift when V = 1)
    pos = np.arange(p)[None, None, :]
    src = np.where(pos >= first, first + (pos - first - offset) % count, pos)  # (N, B, P)
    return np.take_along_axis(reference, src, axis=-1)


def control_masks(
    method: str, reference: np.ndarray, master_seed: int, seed: int, valid: np.ndarray | None = None
) -> np.ndarray:
    rng = np.random.default_rng(derive_seed(master_seed, "erasing", method, seed))
    if method == "uniform":
        return uniform_masks(reference, rng, valid)
    if method == "run_length":
        return run_length_masks(reference, rng, valid)
    raise ValueError(f"unknown control {method!r}; expected one of {CONTROLS}")


def _gap_neighbours(known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left, right), each (M, L): the last known step at or before each step (-1 if none) and the first
    known step at or after it (L if none)."""
    steps = known.shape[-1]
    index = np.arange(steps)
    left = np.maximum.accumulate(np.where(known, index, -1), axis=-1)
    right = np.minimum.accumulate(np.where(known, index, steps)[..., ::-1], axis=-1)[..., ::-1]
    return left, right


def step_std(x: np.ndarray, known: np.ndarray) -> np.ndarray:
    """(M, C): the std of each channel's increments between consecutive known steps (0 with fewer than two).

    Only increments whose both ends are known count: the erased steps must not inform their own fill.
    """
    pair = known[:, 1:] & known[:, :-1]  # (M, L-1)
    d = np.diff(x, axis=-1)  # (M, C, L-1)
    count = pair.sum(axis=-1)[:, None]  # (M, 1)
    safe = np.maximum(count, 1)
    mean = np.where(pair[:, None], d, 0.0).sum(axis=-1) / safe
    var = np.where(pair[:, None], (d - mean[..., None]) ** 2, 0.0).sum(axis=-1) / safe
    return np.where(count >= 2, np.sqrt(var), 0.0)


def fill_erased(
    x: np.ndarray, erased: np.ndarray, starts: np.ndarray, fill: str, noise: np.ndarray | None = None
) -> np.ndarray:
    """``x`` (M, C, L) with the erased steps (``erased`` (M, L)) of each trajectory filled.

    The trajectory occupies steps ``starts[m]``..L-1 (left padding before it). ``zero`` sets every erased
    step to 0, padding included (the paper's erasing); ``hold`` and ``bridge`` fill only steps of the
    trajectory and leave the padding as it was. ``hold`` repeats the last kept position before a gap (the
    first after it when the gap starts the trajectory); ``bridge`` joins the kept positions on both sides
    with a Brownian bridge whose steps have the std of the trajectory's kept increments, per channel
    (``step_std``), drawn from ``noise`` (M, C, L) standard normals: a straight line when that std is 0.
    A gap at an end of the trajectory has one neighbour: ``bridge`` walks from it with the same steps (a
    free Brownian path, forward after the last kept position, backward before the first), so that no
    fill of ``bridge`` holds still, which ``hold`` shows to cost much of the accuracy by itself.
    A trajectory erased whole has no kept position: it takes the value of the padding just before it
    (the normalised start the model sees), or 0 when it has no padding.
    """
    x = np.asarray(x)
    erased = np.asarray(erased, dtype=bool)
    if x.ndim != 3 or erased.shape != (x.shape[0], x.shape[2]):
        raise ValueError(f"inputs {x.shape} and erased steps {erased.shape} must be (M, C, L) and (M, L)")
    if fill == "zero":
        return x * ~erased[:, None, :]
    if fill not in FILLS:
        raise ValueError(f"unknown fill {fill!r}; expected one of {FILLS}")
    steps = x.shape[-1]
    starts = np.asarray(starts, dtype=np.int64)
    if starts.shape != (x.shape[0],) or (starts < 0).any() or (starts >= steps).any():
        raise ValueError(f"starts must be {x.shape[0]} first steps in [0, {steps})")
    real = np.arange(steps)[None, :] >= starts[:, None]
    gap = erased & real
    known = real & ~gap
    left, right = _gap_neighbours(known)
    has_left, has_right = left >= 0, right < steps
    # One side only (or hold): the neighbour there; none at all: the step before the trajectory, or nothing.
    before = np.broadcast_to((starts - 1)[:, None], left.shape)
    source = np.where(has_left, left, np.where(has_right, right, before))
    anchor = np.maximum(source, 0)[:, None, :]
    filled = np.take_along_axis(x, anchor, axis=-1)
    filled = np.where((source >= 0)[:, None, :], filled, 0.0)
    if fill == "bridge":
        if noise is None or noise.shape != x.shape:
            raise ValueError(f"a bridge fill needs standard normal noise of shape {x.shape}")
        both = has_left & has_right
        lo, hi = np.where(both, left, 0)[:, None, :], np.where(both, right, 0)[:, None, :]
        walk = np.cumsum(noise * step_std(x, known)[..., None], axis=-1)  # steps into each position
        frac = np.where(both, np.arange(steps)[None, :] - left, 0) / np.maximum(right - left, 1)
        frac = frac[:, None, :]
        x_lo, x_hi = np.take_along_axis(x, lo, axis=-1), np.take_along_axis(x, hi, axis=-1)
        w_lo, w_hi = np.take_along_axis(walk, lo, axis=-1), np.take_along_axis(walk, hi, axis=-1)
        bridge = x_lo + frac * (x_hi - x_lo) + (walk - w_lo) - frac * (w_hi - w_lo)
        # One side only: the walk's own path, pinned to that neighbour (forward or backward from it).
        one = (has_left ^ has_right)[:, None, :]
        free = filled + walk - np.take_along_axis(walk, anchor, axis=-1)
        filled = np.where(both[:, None, :], bridge, np.where(one, free, filled))
    return np.where(gap[:, None, :], filled, x).astype(x.dtype, copy=False)


def bridge_noise(ids: np.ndarray, master_seed: int, shape: tuple[int, int]) -> np.ndarray:
    """(N, C, L) standard normals, one draw per trajectory from the master seed and its index ``ids[n]``.

    Every bin, control and seed of a trajectory shares its draw: they then differ only in where the
    segments are erased (common random numbers), and the draw does not depend on the batch.
    """
    out = np.empty((len(ids), *shape))
    for n, i in enumerate(np.asarray(ids)):
        out[n] = np.random.default_rng(derive_seed(master_seed, "erasing", "bridge", int(i))).standard_normal(shape)
    return out


@torch.no_grad()
def erased_correct(
    model: nn.Module, x: np.ndarray, labels: np.ndarray, masks: np.ndarray, batch_size: int = 256,
    fill: str = "zero", starts: np.ndarray | None = None,
    noise: Callable[[np.ndarray], np.ndarray] | None = None,
    amp: bool = False,
) -> np.ndarray:
    """(N, B) bool: is trajectory n still classified correctly with the positions masks[n, b] erased?

    ``x`` (N, 2, L) is the min-max-scaled input; ``masks`` (N, B, P) selects stage positions; ``fill`` and
    ``starts`` (N,) (first real step; all 0 when None) as in ``fill_erased``, whose bridge noise
    ``noise(rows)`` gives for the trajectories ``rows`` (drawn batch by batch: all at once would be twice
    the inputs' memory). ``amp``: the forward passes under bf16 autocast (load the model with
    ``andicam.noise.inference_model(..., amp=True)`` so that its first convolution stays fp32).
    """
    n, n_sets, p = masks.shape
    steps = x.shape[-1]
    seg = torch.from_numpy(segment_index(p, steps))  # (L,)
    param = next(model.parameters())
    per_batch = max(1, batch_size // n_sets)  # trajectories per forward pass
    starts = np.zeros(n, dtype=np.int64) if starts is None else np.asarray(starts)
    out = np.empty((n, n_sets), dtype=bool)
    for s in range(0, n, per_batch):
        if fill == "zero":  # on the device, as before fills existed
            xb = torch.from_numpy(np.ascontiguousarray(x[s : s + per_batch])).to(param.device, param.dtype)
            keep = ~torch.from_numpy(masks[s : s + per_batch])[..., seg].to(param.device)  # (b, B, L)
            erased = (xb[:, None] * keep[:, :, None, :]).flatten(0, 1)  # (b * B, 2, L)
        else:
            batch = np.arange(s, min(s + per_batch, n))
            rows = np.repeat(batch, n_sets)  # (b * B,) trajectory of each input
            steps_erased = masks[s : s + per_batch][..., seg.numpy()].reshape(len(rows), steps)
            drawn = None if noise is None else np.repeat(noise(batch), n_sets, axis=0)
            filled = fill_erased(x[rows], steps_erased, starts[rows], fill, drawn)
            erased = torch.from_numpy(filled).to(param.device, param.dtype)
        with torch.autocast(device_type=param.device.type, dtype=torch.bfloat16, enabled=amp):
            pred = model(erased).argmax(1).view(-1, n_sets)  # (b, B)
        out[s : s + per_batch] = (pred.cpu().numpy() == labels[s : s + per_batch, None])
    return out


def end_positions(valid: np.ndarray) -> np.ndarray:
    """(N, P) bool: each trajectory's two end positions, its first valid one and the last (one if it has one)."""
    p = valid.shape[1]
    first = p - valid.sum(axis=1)
    return (np.arange(p)[None, :] == first[:, None]) | (np.arange(p)[None, :] == p - 1)


def _rows(correct: np.ndarray, labels: np.ndarray, masks: np.ndarray | None, method: str, seed: int,
          ends: np.ndarray) -> list[dict]:
    """Accuracy per bin and class (and "all") from ``correct`` (N, B); ``ends`` (N, P) as ``end_positions``."""
    rows = []
    groups = [("all", np.ones(len(labels), bool))] + [(name, labels == k) for k, name in enumerate(CLASS_NAMES)]
    for cls, sel in groups:
        if not sel.any():
            continue
        for b in range(correct.shape[1]):
            rows.append({
                "bin": b if masks is not None else -1,
                "method": method,
                "seed": seed,
                "class": cls,
                "accuracy": float(correct[sel, b].mean()),
                "n": int(sel.sum()),
                "segments": float(masks[sel, b].sum(-1).mean()) if masks is not None else 0.0,
                "ends": float((masks[sel, b] & ends[sel]).sum(-1).mean()) if masks is not None else 0.0,
            })
    return rows


def erasing_table(
    model: nn.Module,
    x: np.ndarray,
    labels: np.ndarray,
    maps: np.ndarray,
    master_seed: int,
    n_seeds: int = 5,
    n_bins: int = 10,
    controls: Sequence[str] = CONTROLS,
    batch_size: int = 256,
    valid: np.ndarray | None = None,
    correctness: dict[str, np.ndarray] | None = None,
    fill: str = "zero",
    lengths: np.ndarray | None = None,
    ids: np.ndarray | None = None,
    amp: bool = False,
) -> pd.DataFrame:
    """The erasing experiment on inputs ``x`` (N, 2, L) with their maps (N, P) of one stage.

    ``valid`` (N, P) restricts bins and controls to the positions that cover real steps
    (see ``valid_positions``); None ranks every position.
    ``fill`` says what an erased segment becomes (``fill_erased``); ``lengths`` (N,) are the trajectories'
    lengths (the rest of L is left padding; None: L each), ``ids`` (N,) their indices in the data, which
    seed each trajectory's bridge noise (None: 0..N-1). ``amp``: bf16 autocast (``erased_correct``).
    A ``correctness`` dict receives the per-trajectory results behind the table, int8 0/1, for
    intervals over trajectories: "gradcam" (N, bins) and each control (seeds, N, bins), and "none" (N,)
    with nothing erased (for ``by_length_table``).
    Columns: bin, method, seed, class, accuracy, n, segments (mean number erased), ends (mean number of
    those at an end of the trajectory, its first or last position: a one-sided gap there, which a fill
    cannot join to both neighbours).
    """
    if model.training:
        raise ValueError("the erasing test needs the model in eval mode")
    labels = np.asarray(labels).astype(np.int64)
    if not (x.ndim == 3 and maps.ndim == 2 and x.shape[0] == maps.shape[0] == labels.shape[0]):
        raise ValueError(f"inputs {x.shape}, maps {maps.shape} and labels {labels.shape} must have N rows each")
    if n_seeds < 1 or n_bins < 1:
        raise ValueError(f"n_seeds and n_bins must be positive, got {n_seeds}, {n_bins}")
    unknown = set(controls) - set(CONTROLS)
    if unknown:
        raise ValueError(f"unknown control(s) {sorted(unknown)}; expected some of {CONTROLS}")
    if fill not in FILLS:
        raise ValueError(f"unknown fill {fill!r}; expected one of {FILLS}")
    steps = x.shape[-1]
    lengths = np.full(len(labels), steps) if lengths is None else np.asarray(lengths)
    if lengths.shape != labels.shape or (lengths < 1).any() or (lengths > steps).any():
        raise ValueError(f"lengths must be {len(labels)} values in [1, {steps}]")
    ids = np.arange(len(labels)) if ids is None else np.asarray(ids)
    if ids.shape != labels.shape:
        raise ValueError(f"ids must be {len(labels)} trajectory indices, got shape {ids.shape}")

    def noise(rows: np.ndarray) -> np.ndarray:
        return bridge_noise(ids[rows], master_seed, x.shape[1:])

    def correct_after(masks: np.ndarray) -> np.ndarray:
        return erased_correct(model, x, labels, masks, batch_size, fill, steps - lengths,
                              noise if fill == "bridge" else None, amp)

    ends = end_positions(_check_valid(valid, maps.shape))
    nothing = np.zeros((len(labels), 1, maps.shape[1]), dtype=bool)
    unerased = correct_after(nothing)
    rows = _rows(unerased, labels, None, "none", 0, ends)
    reference = gradcam_masks(maps, n_bins, valid)
    correct = correct_after(reference)
    rows += _rows(correct, labels, reference, "gradcam", 0, ends)
    kept: dict[str, np.ndarray] = {"none": unerased[:, 0].astype(np.int8), "gradcam": correct.astype(np.int8)}
    for method in controls:
        kept[method] = np.zeros((n_seeds, *correct.shape), dtype=np.int8)
        for seed in range(n_seeds):
            masks = control_masks(method, reference, master_seed, seed, valid)
            correct = correct_after(masks)
            kept[method][seed] = correct
            rows += _rows(correct, labels, masks, method, seed, ends)
    if correctness is not None:
        correctness.update(kept)
    return pd.DataFrame(rows, columns=["bin", "method", "seed", "class", "accuracy", "n", "segments", "ends"])


def by_length_table(
    correctness: dict[str, np.ndarray], lengths: np.ndarray, edges: Sequence[int] = LENGTH_EDGES
) -> pd.DataFrame:
    """The erasing curves of class "all" per trajectory-length bin, from ``erasing_table``'s correctness.

    A bin of a short trajectory is one or two segments that may hold all of it, a bin of a long one three
    segments of 32: the pooled curve mixes the two, this table keeps them apart. Trajectories outside
    the edges are left out. Columns: length_bin, bin, method, seed, accuracy, n.
    """
    lengths = np.asarray(lengths)
    which = length_bins(lengths, list(edges))
    rows = []
    for k, label in enumerate(length_bin_labels(list(edges))):
        sel = which == k
        n = int(sel.sum())
        if not n:
            continue
        rows.append({"length_bin": label, "bin": -1, "method": "none", "seed": 0,
                     "accuracy": float(correctness["none"][sel].mean()), "n": n})
        for b, acc in enumerate(correctness["gradcam"][sel].mean(axis=0)):
            rows.append({"length_bin": label, "bin": b, "method": "gradcam", "seed": 0, "accuracy": float(acc), "n": n})
        for method in CONTROLS:
            for seed, correct in enumerate(correctness.get(method, [])):
                for b, acc in enumerate(correct[sel].mean(axis=0)):
                    rows.append({"length_bin": label, "bin": b, "method": method, "seed": seed,
                                 "accuracy": float(acc), "n": n})
    return pd.DataFrame(rows, columns=["length_bin", "bin", "method", "seed", "accuracy", "n"])

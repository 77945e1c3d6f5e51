"""The one HDF5 reader and writer of trajectory shards.

Layout of a shard file (all datasets chunked, gzip-compressed):

    /trajectories  float32 (N, 2, Tmax)  x then y, left-aligned, zero after lengths[i]
    /lengths       int32   (N,)          number of valid steps, 1..Tmax
    /labels        int8    (N,)          class index into class_names (0..7 for CLASS_NAMES)
    /alpha         float32 (N,)          anomalous exponent drawn for the trajectory
    attrs: format, class_names, regime, split, shard, seed, master_seed,
           normalisation, versions (JSON), config (JSON), n_per_class

``class_names`` is one of ``CLASS_SETS``: the paper's 8 classes (``CLASS_NAMES``, the default, also for
files written before other sets existed) or the five AnDi 2020 models (``ANDI_MODELS``, Task 2).

Files are written under a temporary name and renamed when complete, so a
crash never leaves a file that looks finished.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import h5py
import numpy as np

FORMAT = "andicam-trajectories/1"

CLASS_NAMES: tuple[str, ...] = ("SubATTM", "SubCTRW", "SubFBM", "SubSBM", "SupFBM", "SupLW", "SupSBM", "BM")
NUM_CLASSES = len(CLASS_NAMES)
# The AnDi 2020 challenge's Task 2 classes, in the order of andi_datasets' models.
ANDI_MODELS: tuple[str, ...] = ("ATTM", "CTRW", "FBM", "LW", "SBM")
# The class sets a trajectory file or a model may carry; labels index into one of them.
CLASS_SETS: tuple[tuple[str, ...], ...] = (CLASS_NAMES, ANDI_MODELS)


class DataFileError(ValueError):
    """A trajectory file that cannot be used; the message names the file and the problem."""


@dataclass
class Trajectories:
    trajectories: np.ndarray  # (N, 2, Tmax) float32
    lengths: np.ndarray  # (N,) int32
    labels: np.ndarray  # (N,) int8
    alpha: np.ndarray  # (N,) float32
    attrs: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes the labels index: ``attrs["class_names"]``, else the paper's 8."""
        return class_names_in(self.attrs, self.attrs.get("source", "trajectories"))

    def subset(self, index: np.ndarray) -> "Trajectories":
        return Trajectories(
            self.trajectories[index], self.lengths[index], self.labels[index], self.alpha[index], dict(self.attrs)
        )


def atomic_path(path: Path) -> Path:
    """Temporary sibling of ``path`` for write-then-rename; keeps the suffix (writers pick formats by it)."""
    return path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")


def class_names_in(attrs: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """The class set named by decoded attributes (``class_names``); absent: the paper's 8 (``CLASS_NAMES``).

    Raises DataFileError naming ``where`` when the names are not one of ``CLASS_SETS``.
    """
    names = attrs.get("class_names")
    if names is None:
        return CLASS_NAMES
    names = tuple(names) if isinstance(names, (list, tuple)) else (names,)
    if names not in CLASS_SETS:
        known = " or ".join(f"[{', '.join(c)}]" for c in CLASS_SETS)
        raise DataFileError(f"{where}: class_names [{', '.join(map(str, names))}] are not a known class set ({known})")
    return names


def write_trajectories(path: str | Path, data: Trajectories, attrs: dict[str, Any] | None = None) -> None:
    """Write one shard atomically; its ``class_names`` come from the attributes (``data.attrs``, then
    ``attrs``), the paper's 8 classes when neither names them, and the labels must index them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = {**data.attrs, **(attrs or {})}
    class_names = class_names_in(merged, str(path))
    check_arrays(data, str(path), class_names)
    tmp = atomic_path(path)
    n, _, tmax = data.trajectories.shape
    chunk_rows = max(1, min(n, 256))
    try:
        with h5py.File(tmp, "w") as f:
            opts: dict[str, Any] = dict(compression="gzip", compression_opts=4, shuffle=True)
            f.create_dataset("trajectories", data=data.trajectories.astype(np.float32),
                             chunks=(chunk_rows, 2, tmax), **opts)
            f.create_dataset("lengths", data=data.lengths.astype(np.int32), chunks=(chunk_rows,), **opts)
            f.create_dataset("labels", data=data.labels.astype(np.int8), chunks=(chunk_rows,), **opts)
            f.create_dataset("alpha", data=data.alpha.astype(np.float32), chunks=(chunk_rows,), **opts)
            f.attrs["format"] = FORMAT
            f.attrs["class_names"] = list(class_names)
            for key, value in {k: v for k, v in merged.items() if k != "class_names"}.items():
                f.attrs[key] = json.dumps(value) if isinstance(value, (dict, list)) else value
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def check_arrays(data: Trajectories, where: str, class_names: Sequence[str] = CLASS_NAMES) -> None:
    """Raise DataFileError naming ``where`` when the arrays are inconsistent or a label is no index of
    ``class_names``."""
    traj, lengths, labels, alpha = data.trajectories, data.lengths, data.labels, data.alpha
    if traj.ndim != 3 or traj.shape[1] != 2:
        raise DataFileError(f"{where}: 'trajectories' must have shape (N, 2, T), got {traj.shape}")
    n, _, tmax = traj.shape
    for name, arr in (("lengths", lengths), ("labels", labels), ("alpha", alpha)):
        if arr.shape != (n,):
            raise DataFileError(f"{where}: '{name}' has shape {arr.shape}, expected ({n},) like 'trajectories'")
    if n == 0:
        raise DataFileError(f"{where}: the file holds no trajectories")
    if lengths.min() < 1 or lengths.max() > tmax:
        raise DataFileError(f"{where}: lengths out of range [1, {tmax}] (found {lengths.min()}..{lengths.max()})")
    if labels.min() < 0 or labels.max() >= len(class_names):
        raise DataFileError(f"{where}: labels out of range [0, {len(class_names) - 1}] for the {len(class_names)} "
                            f"classes {', '.join(class_names)} (found {labels.min()}..{labels.max()})")
    if not np.isfinite(traj).all():
        bad = int((~np.isfinite(traj)).any(axis=(1, 2)).sum())
        raise DataFileError(f"{where}: {bad} trajectories contain NaN or Inf")
    if not np.isfinite(alpha).all():
        raise DataFileError(f"{where}: 'alpha' contains NaN or Inf")


def decode_attr(value: Any) -> Any:
    """An HDF5 attribute as plain Python: JSON strings parsed, bytes decoded, numpy scalars unwrapped."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.ndarray):
        return [decode_attr(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def open_hdf5(path: str | Path, fmt: str) -> tuple[h5py.File, dict[str, Any]]:
    """Open an andicam HDF5 file of format ``fmt`` for reading: (open file, decoded attributes).

    Raises DataFileError naming the file when it is missing, not HDF5 (or truncated) or of another format.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DataFileError(f"{path}: not a readable HDF5 file (truncated or another format): {exc}") from None
    attrs = {k: decode_attr(v) for k, v in f.attrs.items()}
    if attrs.get("format") != fmt:
        f.close()
        raise DataFileError(f"{path}: format attribute is {attrs.get('format')!r}, expected {fmt!r}")
    return f, attrs


def read_trajectories(path: str | Path) -> Trajectories:
    """Open and validate one shard; every failure names the file and the problem."""
    path = Path(path)
    f, attrs = open_hdf5(path, FORMAT)
    with f:
        missing = [k for k in ("trajectories", "lengths", "labels", "alpha") if k not in f]
        if missing:
            raise DataFileError(f"{path}: missing dataset(s) {', '.join(missing)}; not an andicam trajectory file")
        try:
            data = Trajectories(
                trajectories=f["trajectories"][...].astype(np.float32, copy=False),
                lengths=f["lengths"][...].astype(np.int32, copy=False),
                labels=f["labels"][...].astype(np.int8, copy=False),
                alpha=f["alpha"][...].astype(np.float32, copy=False),
                attrs=attrs,
            )
        except (OSError, RuntimeError, ValueError) as exc:
            raise DataFileError(f"{path}: data cannot be read (truncated or corrupt): {exc}") from None
    check_arrays(data, str(path), class_names_in(attrs, str(path)))
    return data


def class_names_of(path: str | Path) -> tuple[str, ...]:
    """The class set of one trajectory file (its attributes only); a file without one has the paper's 8."""
    f, attrs = open_hdf5(path, FORMAT)
    f.close()
    return class_names_in(attrs, str(path))


def common_class_names(paths: Iterable[str | Path]) -> tuple[str, ...]:
    """The class set shared by trajectory files; DataFileError naming the first file whose set differs."""
    paths = list(paths)
    if not paths:
        raise ValueError("no trajectory files given")
    return _agreed_class_names([(str(p), class_names_of(p)) for p in paths])


def _agreed_class_names(named: Sequence[tuple[str, tuple[str, ...]]]) -> tuple[str, ...]:
    """The one class set of (where, class names) pairs; DataFileError naming the first that differs."""
    first_where, first = named[0]
    for where, names in named[1:]:
        if names != first:
            raise DataFileError(f"{where}: class names [{', '.join(names)}] differ from those of {first_where} "
                                f"[{', '.join(first)}]; files used together must share one class set")
    return first


def concat(parts: Iterable[Trajectories]) -> Trajectories:
    """Parts one after another; they must share one class set (DataFileError naming the first part that
    does not, by its ``source``)."""
    parts = list(parts)
    if not parts:
        raise ValueError("no trajectory files given")
    class_names = _agreed_class_names([(str(p.attrs.get("source", f"part {i}")), p.class_names)
                                       for i, p in enumerate(parts)])
    tmax = max(p.trajectories.shape[2] for p in parts)
    padded = [np.pad(p.trajectories, ((0, 0), (0, 0), (0, tmax - p.trajectories.shape[2]))) for p in parts]
    return Trajectories(
        np.concatenate(padded),
        np.concatenate([p.lengths for p in parts]),
        np.concatenate([p.labels for p in parts]),
        np.concatenate([p.alpha for p in parts]),
        {"sources": [p.attrs.get("source", "") for p in parts], "class_names": list(class_names)},
    )


def read_many(paths: Iterable[str | Path]) -> Trajectories:
    """Read and concatenate shards in the given order."""
    parts = []
    for p in paths:
        data = read_trajectories(p)
        data.attrs["source"] = str(p)
        parts.append(data)
    return concat(parts)


# Trajectory-length bins that results are split by (robustness, erasing): short tracks are the hard ones.
LENGTH_EDGES = (10, 50, 200, 500, 1000)


def subset_index(n: int, size: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random subset of ``size`` of ``n`` items, drawn without replacement; all
    ``n`` (in order) when ``size`` is None or not below ``n``. The same (n, size, seed) give the same subset, so
    every model scored on it sees the same trajectories."""
    if size is not None and size < 1:
        raise ValueError(f"a subset needs a positive size, got {size}")
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def length_bin_labels(edges: tuple[int, ...] | list[int]) -> list[str]:
    return [f"{a}-{b - 1}" if i < len(edges) - 2 else f"{a}-{b}" for i, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]


def length_bins(lengths: np.ndarray, edges: tuple[int, ...] | list[int]) -> np.ndarray:
    """Bin index of each length (N,); -1 outside [edges[0], edges[-1]]."""
    edges = np.asarray(edges)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"length bin edges must be at least two increasing numbers, got {edges.tolist()}")
    idx = np.searchsorted(edges, lengths, side="right") - 1
    idx[lengths == edges[-1]] = len(edges) - 2
    idx[(lengths < edges[0]) | (lengths > edges[-1])] = -1
    return idx

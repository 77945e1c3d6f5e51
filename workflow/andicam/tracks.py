"""Reading a user's 2-D tracks from a file: the formats ``andicam predict`` accepts, as ``Track`` lists.

Input formats
-------------
- ``csv``: one localisation per row with a track id, a frame number and x, y
  (columns ``track_id,frame,x,y`` by default, or any names given). A TrackMate
  spots export (``TRACK_ID, FRAME, POSITION_X, POSITION_Y``) is recognised by
  its header; its extra header rows (name / short name / units) are skipped
  because their frame is not a number. Spots without a track (track id
  empty or ``None``) are not a track: they are counted and reported, not
  predicted. Points are put in frame order within each track.
- ``andi``: the AnDi 2020 challenge text format, one trajectory per line:
  ``dimension;x_1;...;x_T;y_1;...;y_T``. The track id is the line number
  (1-based); blank lines are skipped.

A track that cannot be used as read keeps its place with the reason in ``Track.problem`` (one of
``andicam.predict.REASONS``), so that every track of the input gets its output row in input order.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from andicam.errors import UserInputError

Format = Literal["auto", "csv", "andi"]

DEFAULT_COLUMNS: tuple[str, str, str, str] = ("track_id", "frame", "x", "y")
TRACKMATE_COLUMNS: tuple[str, str, str, str] = ("TRACK_ID", "FRAME", "POSITION_X", "POSITION_Y")
# Track ids that mean "this spot belongs to no track" (TrackMate writes None).
NO_TRACK_IDS = frozenset({"", "none", "nan", "null"})
# Coordinate texts that are missing values rather than garbage.
MISSING_TEXTS = frozenset({"", "nan", "na", "n/a", "null", "none"})


@dataclass
class Track:
    """One track as read: its points, or the reason it cannot be used (its row is kept either way)."""

    track_id: str
    xy: np.ndarray  # (T, 2) float64, in time order
    problem: str | None = None  # a reason found while reading, before any other check


@dataclass
class TrackSet:
    """The tracks of one file, with what the reader dropped on the way (for the summary line)."""

    tracks: list[Track]
    source: str
    skipped_header_rows: int = 0
    untracked_spots: int = 0


def _read_text(path: Path) -> str:
    if not path.exists():
        raise UserInputError(f"{path}: no such file")
    if not path.is_file():
        raise UserInputError(f"{path}: not a file")
    raw = path.read_bytes()
    if not raw.strip():
        raise UserInputError(f"{path}: the file is empty")
    if b"\x00" in raw:
        raise UserInputError(f"{path}: not a text file (binary content)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Some exporters write Latin-1 (e.g. a unit 'µm'); random bytes give control characters instead.
    text = raw.decode("latin-1")
    if re.search(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text):
        raise UserInputError(f"{path}: not a text file (neither UTF-8 nor Latin-1 text)")
    return text


def detect_format(path: str | Path, fmt: Format = "auto") -> Literal["csv", "andi"]:
    if fmt in ("csv", "andi"):
        return fmt
    if fmt != "auto":
        raise UserInputError(f"unknown input format {fmt!r}; use csv, andi or auto")
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".txt":
        return "andi"
    raise UserInputError(f"{path}: cannot tell the format from the extension {suffix!r}; use --format csv or andi")


def resolve_columns(header: list[str], requested: dict[str, str | None], where: str) -> tuple[str, str, str, str]:
    """Column names (track, frame, x, y): those requested; the others by default name.

    The default names are ``track_id, frame, x, y``, or TrackMate's when the header has
    all of TrackMate's and not all of the plain ones.
    """
    keys = ("track", "frame", "x", "y")
    given = {k: v for k, v in requested.items() if v}
    unknown = set(given) - set(keys)
    if unknown:
        raise ValueError(f"unknown column role(s) {sorted(unknown)}; expected {keys}")
    trackmate = not set(DEFAULT_COLUMNS) <= set(header) and set(TRACKMATE_COLUMNS) <= set(header)
    cols = tuple(given.get(k, d) for k, d in zip(keys, TRACKMATE_COLUMNS if trackmate else DEFAULT_COLUMNS))
    missing = [c for c in cols if c not in header]
    if missing:
        shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
        raise UserInputError(
            f"{where}: missing column(s) {', '.join(repr(c) for c in missing)} (found: {shown}); "
            "name them with --track-col/--frame-col/--x-col/--y-col"
        )
    return cols  # type: ignore[return-value]


def _number(text: str) -> tuple[float, bool]:
    """(value, is garbage): exact decimal parsing (as Python's float); missing texts give NaN."""
    try:
        return float(text), False
    except ValueError:
        return np.nan, text.strip().lower() not in MISSING_TEXTS


def _numbers(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse a text column: (values float64 with NaN for missing, mask of entries that are not numbers)."""
    parsed = [_number(v) for v in text]
    values = np.array([v for v, _ in parsed], dtype=np.float64)
    garbage = np.array([g for _, g in parsed], dtype=bool)
    return values, garbage


def read_csv_tracks(
    path: str | Path,
    columns: dict[str, str | None] | None = None,
    skip_rows: int | None = None,
) -> TrackSet:
    """Tracks of a localisation CSV, in order of their first row.

    ``skip_rows``: rows to drop right below the header; ``None`` drops the leading
    rows whose frame is not a number (TrackMate's three extra header rows).
    """
    path = Path(path)
    text = _read_text(path)
    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True,
                            skiprows=range(1, 1 + skip_rows) if skip_rows else None)
    except pd.errors.EmptyDataError:
        raise UserInputError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise UserInputError(f"{path}: not a readable CSV file: {str(exc).strip().splitlines()[-1]}") from None
    header = [str(c).strip() for c in table.columns]
    table.columns = header
    track_col, frame_col, x_col, y_col = resolve_columns(header, columns or {}, str(path))
    frames, frame_garbage = _numbers(table[frame_col])
    skipped = 0
    if skip_rows is None:
        numeric = np.flatnonzero(~np.isnan(frames))
        skipped = int(numeric[0]) if numeric.size else len(table)
        table, frames, frame_garbage = table.iloc[skipped:], frames[skipped:], frame_garbage[skipped:]
    if table.empty:
        raise UserInputError(f"{path}: no data rows" + (f" (after {skipped} header rows)" if skipped else ""))
    ids = table[track_col].str.strip()
    tracked = ~ids.str.lower().isin(NO_TRACK_IDS).to_numpy()
    untracked = int((~tracked).sum())
    if not tracked.any():
        raise UserInputError(f"{path}: none of the {len(table)} rows belongs to a track (column {track_col!r})")
    x, x_garbage = _numbers(table[x_col])
    y, y_garbage = _numbers(table[y_col])
    codes, names = pd.factorize(ids[tracked])  # codes follow the order of first appearance
    order = np.argsort(codes, kind="stable")  # rows grouped by track, file order within a track
    rows_by_track = np.split(np.flatnonzero(tracked)[order], np.cumsum(np.bincount(codes))[:-1])
    tracks: list[Track] = []
    for name, r in zip(names, rows_by_track):  # r: (T,) rows of this track
        f = frames[r]
        problem = None
        if (x_garbage[r] | y_garbage[r]).any():
            problem = "non-numeric value"
        elif frame_garbage[r].any() or not np.isfinite(f).all() or (f != np.round(f)).any():
            problem = "invalid frame"
        else:
            r = r[np.argsort(f, kind="stable")]  # time order; TrackMate does not sort spots by frame
            steps = np.diff(frames[r])
            if (steps == 0).any():
                problem = "duplicated frame"
            elif (steps > 1).any():
                problem = "missing frames"
        tracks.append(Track(str(name), np.stack([x[r], y[r]], axis=1), problem))  # (T, 2)
    return TrackSet(tracks, str(path), skipped_header_rows=skipped, untracked_spots=untracked)


def read_andi_tracks(path: str | Path) -> TrackSet:
    """Tracks of an AnDi 2020 challenge text file (``dimension;x...;y...`` per line)."""
    path = Path(path)
    text = _read_text(path)
    tracks: list[Track] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip().rstrip(";")
        if not line:
            continue
        fields = line.split(";")
        try:
            values = np.array([float(v) for v in fields], dtype=np.float64)
        except ValueError:
            tracks.append(Track(str(number), np.empty((0, 2)), "non-numeric value"))
            continue
        coords = values[1:]
        if values[0] != 2:
            tracks.append(Track(str(number), np.empty((0, 2)), "not 2-D"))
        elif coords.size % 2:
            tracks.append(Track(str(number), np.empty((0, 2)), "odd number of values"))
        else:
            tracks.append(Track(str(number), coords.reshape(2, -1).T.copy()))  # (2T,) -> (T, 2)
    if not tracks:
        raise UserInputError(f"{path}: no trajectories (every line is blank)")
    return TrackSet(tracks, str(path))


def read_tracks(
    path: str | Path,
    fmt: Format = "auto",
    columns: dict[str, str | None] | None = None,
    skip_rows: int | None = None,
) -> TrackSet:
    if detect_format(path, fmt) == "csv":
        return read_csv_tracks(path, columns, skip_rows)
    return read_andi_tracks(path)


"""Figures of ``andicam predict``: each classified track coloured by its layer4 Grad-CAM, one file per track."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from andicam.dataio import CLASS_NAMES
from andicam.plots.common import save_figure
from andicam.tracks import Track

if TYPE_CHECKING:
    from andicam.predict import Prepared

# Characters of a track id kept in a file name: file systems allow 255 bytes, and the name also carries the
# row number and the suffix.
NAME_CHARS = 80


def _safe_name(text: str) -> str:
    """A track id as a file-name part: ASCII letters, digits, '.', '_' and '-' only (no separator, no leading
    dot), at most NAME_CHARS characters; an id cut short ends in 8 hex digits of its hash, so that long ids
    differing only at the end stay apart. The row number before it keeps names unique in any case."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-") or "track"
    if len(name) > NAME_CHARS:
        name = f"{name[:NAME_CHARS - 9]}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"
    return name


def _title_text(text: str, limit: int = 60) -> str:
    """A track id as figure-title text: at most ``limit`` characters, one line, '$' escaped (matplotlib
    reads $...$ as mathtext, which an id like 'a$b$' would break)."""
    text = " ".join(text.split())
    text = text if len(text) <= limit else text[:limit - 1] + "…"
    return text.replace("$", r"\$")


def track_gradcam_figure(xy: np.ndarray, cam: np.ndarray, title: str) -> Figure:
    """A track (n, 2) drawn as a line coloured by a per-point Grad-CAM (n,), and the map along the track.

    Segment i -> i+1 takes the value of point i+1 (the step that ends there). The
    colour scale is symmetric around 0 because the raw map keeps its sign.
    """
    limit = float(np.abs(cam).max()) or 1.0
    norm = Normalize(-limit, limit)
    fig = Figure(figsize=(7.5, 3.2), layout="constrained")  # not pyplot: no global state per figure
    ax_track, ax_cam = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    segments = np.stack([xy[:-1], xy[1:]], axis=1)  # (n - 1, 2 points, 2 coordinates)
    lines = LineCollection(segments, cmap="RdBu_r", norm=norm, linewidths=1.2)
    lines.set_array(cam[1:])
    ax_track.add_collection(lines)
    ax_track.plot(*xy[0], "ko", ms=3, label="start")
    ax_track.autoscale()
    ax_track.set_aspect("equal", adjustable="datalim")
    ax_track.set_xlabel("x (input units)")
    ax_track.set_ylabel("y (input units)")
    ax_track.legend(loc="best", frameon=False, numpoints=1)
    ax_cam.step(np.arange(len(cam)), cam, where="mid", color="k", lw=0.8)
    ax_cam.axhline(0, color="0.6", lw=0.5)
    ax_cam.set_xlabel("point")
    ax_cam.set_ylabel("layer4 Grad-CAM (raw)")
    fig.colorbar(lines, ax=ax_cam, label="Grad-CAM")
    fig.suptitle(title)
    return fig


def write_gradcam_figures(directory: str | Path, tracks: list[Track], prep: Prepared, probs: np.ndarray,
                          point_cams: Sequence[np.ndarray], class_names: Sequence[str] = CLASS_NAMES) -> list[Path]:
    """One figure per ok track, ``<row>_<track id>.pdf`` (+ .png), row = its row in the predictions.

    ``point_cams[j]``: the map of the j-th ok track at its points (``andicam.predict.upsample_to_track``),
    so that drawing needs nothing from the network; ``class_names``: the model's classes (the columns of
    ``probs``), named in the titles.
    """
    directory = Path(directory)
    written = []
    for j, i in enumerate(prep.ok_index):
        k = int(probs[j].argmax())
        track = tracks[i]
        title = f"track {_title_text(track.track_id)}: {class_names[k]} (p = {probs[j, k]:.2f}), {prep.n_used[i]} points"
        out = directory / f"{i:05d}_{_safe_name(track.track_id)}.pdf"
        save_figure(track_gradcam_figure(prep.used_xy[j], point_cams[j], title), out)
        written.append(out)
    return written


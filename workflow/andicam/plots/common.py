"""Shared figure plumbing: one style, PDF + PNG written together and atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from andicam.dataio import CLASS_NAMES  # noqa: E402
from andicam.errors import UserInputError  # noqa: E402
from andicam.files import atomic_output  # noqa: E402

# One colour per class, fixed across every figure.
CLASS_COLORS: dict[str, str] = dict(
    zip(CLASS_NAMES, ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"))
)

plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "font.size": 9, "axes.titlesize": 9,
                     "pdf.fonttype": 42, "svg.fonttype": "none"})


def save_figure(fig: plt.Figure, out_pdf: str | Path) -> None:
    """Write ``out_pdf`` and the PNG beside it (same stem); close the figure."""
    out_pdf = Path(out_pdf)
    if out_pdf.suffix != ".pdf":
        raise ValueError(f"figure output must end in .pdf, got {out_pdf}")
    for target in (out_pdf.with_suffix(".png"), out_pdf):
        with atomic_output(target) as tmp:
            fig.savefig(tmp, bbox_inches="tight", metadata={"CreationDate": None} if target.suffix == ".pdf" else None)
    plt.close(fig)


def figure_from_csv(csv_path: str, out_pdf: str, draw: Callable[[pd.DataFrame], plt.Figure]) -> int:
    """The whole of a plot command that draws one table: read it, draw it, write PDF + PNG.

    A missing, unreadable or malformed table is one user error naming the file.
    """
    if not str(out_pdf).endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {out_pdf}")
    if not Path(csv_path).is_file():
        raise UserInputError(f"{csv_path}: no such file")
    try:
        fig = draw(pd.read_csv(csv_path))
    except (ValueError, KeyError) as exc:  # pandas parse errors are ValueErrors too
        raise UserInputError(f"{csv_path}: {exc}") from None
    save_figure(fig, out_pdf)
    return 0

"""Shared figure plumbing: one style, PDF + PNG written together and atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

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


def read_tables(csv_paths: Sequence[str]) -> list[pd.DataFrame]:
    """Read CSV tables in order; a missing or unparsable one is a user error naming that file."""
    tables = []
    for path in csv_paths:
        if not Path(path).is_file():
            raise UserInputError(f"{path}: no such file")
        try:
            tables.append(pd.read_csv(path))
        except ValueError as exc:  # pandas parse errors (and an empty file) are ValueErrors
            raise UserInputError(f"{path}: {exc}") from None
    return tables


def figure_from_csv(csv_path: str, out_pdf: str, draw: Callable[[pd.DataFrame], plt.Figure]) -> int:
    """The whole of a plot command that draws one table: read it, draw it, write PDF + PNG.

    A missing, unreadable or malformed table is one user error naming the file.
    """
    return figure_from_csvs([csv_path], out_pdf, lambda tables: draw(tables[0]))


def figure_from_csvs(csv_paths: Sequence[str], out_pdf: str,
                     draw: Callable[[list[pd.DataFrame]], plt.Figure]) -> int:
    """As `figure_from_csv` for a figure drawn from several tables (in the order given).

    A missing or unreadable table is a user error naming that file; a table the drawing rejects is one
    naming all of them (the fault may lie in how they combine).
    """
    if not str(out_pdf).endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {out_pdf}")
    tables = read_tables(csv_paths)
    try:
        fig = draw(tables)
    except (ValueError, KeyError) as exc:
        raise UserInputError(f"{', '.join(map(str, csv_paths))}: {exc}") from None
    save_figure(fig, out_pdf)
    return 0

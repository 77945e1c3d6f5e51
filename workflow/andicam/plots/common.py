"""Shared figure plumbing: one style, PDF + PNG written together and atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from andicam.dataio import CLASS_NAMES  # noqa: E402
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

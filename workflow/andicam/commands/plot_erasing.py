"""``andicam plot-erasing``: figure erasing."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from andicam.cli import UserInputError
from andicam.plots.common import save_figure
from andicam.plots.gradcam import plot_erasing

HELP = "Accuracy after erasing each Grad-CAM percentile bin, against the random controls (all classes)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--erasing", required=True, help="erasing CSV written by the erasing command")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    if not Path(args.erasing).is_file():
        raise UserInputError(f"{args.erasing}: no such file")
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    try:
        fig = plot_erasing(pd.read_csv(args.erasing))
    except (ValueError, KeyError) as exc:
        raise UserInputError(f"{args.erasing}: {exc}") from None
    save_figure(fig, args.out)
    return 0

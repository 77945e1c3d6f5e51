"""``andicam plot-gradcam-scale``: figure gradcam_scale."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from andicam.cli import UserInputError
from andicam.plots.common import save_figure
from andicam.plots.gradcam import plot_gradcam_scale

HELP = "Autocorrelation length of the Grad-CAM maps per stage and class."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", required=True, help="CSV written by gradcam-scale")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    if not Path(args.scale).is_file():
        raise UserInputError(f"{args.scale}: no such file")
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    try:
        fig = plot_gradcam_scale(pd.read_csv(args.scale))
    except (ValueError, KeyError) as exc:
        raise UserInputError(f"{args.scale}: {exc}") from None
    save_figure(fig, args.out)
    return 0

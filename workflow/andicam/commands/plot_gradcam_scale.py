"""``andicam plot-gradcam-scale``: figure gradcam_scale."""

from __future__ import annotations

import argparse

from andicam.plots.common import figure_from_csv
from andicam.plots.gradcam import plot_gradcam_scale

HELP = "Autocorrelation length of the Grad-CAM maps per stage and class."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", required=True, help="CSV written by gradcam-scale")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    return figure_from_csv(args.scale, args.out, plot_gradcam_scale)

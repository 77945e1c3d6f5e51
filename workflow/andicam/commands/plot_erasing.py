"""``andicam plot-erasing``: figure erasing."""

from __future__ import annotations

import argparse

from andicam.plots.common import figure_from_csv
from andicam.plots.gradcam import plot_erasing

HELP = "Accuracy after erasing each Grad-CAM percentile bin, against the random controls (all classes)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--erasing", required=True, help="erasing CSV written by the erasing command")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    return figure_from_csv(args.erasing, args.out, plot_erasing)

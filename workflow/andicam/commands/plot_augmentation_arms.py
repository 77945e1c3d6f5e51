"""``andicam plot-augmentation-arms``: figure augmentation_arms from augment-aggregate's summary."""

from __future__ import annotations

import argparse

from andicam.plots.augment import plot_arms
from andicam.plots.common import figure_from_csv

HELP = "Accuracy against localisation noise for every augmentation arm, and each arm minus random paired by seed."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--summary", required=True, help="summary CSV written by augment-aggregate")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    return figure_from_csv(args.summary, args.out, plot_arms)

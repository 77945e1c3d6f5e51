"""``andicam plot-augmentation-noise``: figure augmentation_noise from augment-aggregate's summary."""

from __future__ import annotations

import argparse

from andicam.plots.augment import plot_noise
from andicam.plots.common import figure_from_csv

HELP = "Accuracy against localisation noise for the augmentation arms, with the targeted-random difference."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--summary", required=True, help="summary CSV written by augment-aggregate")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    return figure_from_csv(args.summary, args.out, plot_noise)

"""``andicam plot-tsne``: figure tsne."""

from __future__ import annotations

import argparse

from andicam.plots.common import figure_from_csv
from andicam.plots.gradcam import plot_tsne

HELP = "t-SNE of the pooled features after each stage, coloured by true class."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tsne", required=True, help="CSV written by the tsne command")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    return figure_from_csv(args.tsne, args.out, plot_tsne)

"""``andicam plot-ablation-heatmap``: figure ablation_heatmap from ``andicam ablation``'s tables."""

from __future__ import annotations

import argparse

from andicam.plots.common import figure_from_csv
from andicam.plots.relevance import plot_ablation_heatmap

HELP = "Accuracy drop per ablated statistic and class (for, inverse, random control)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", required=True, help="results CSV written by `andicam ablation --out`")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    return figure_from_csv(args.results, args.out, plot_ablation_heatmap)

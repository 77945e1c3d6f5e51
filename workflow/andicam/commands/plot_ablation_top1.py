"""``andicam plot-ablation-top1``: figure ablation_top1 from ``andicam ablation``'s tables."""

from __future__ import annotations

import argparse

from andicam.plots.common import figure_from_csv
from andicam.plots.relevance import plot_ablation_top1

HELP = "The class receiving most new errors after each ablation, and its share"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", required=True, help="results CSV written by `andicam ablation --out`")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    return figure_from_csv(args.results, args.out, plot_ablation_top1)

"""``andicam plot-ablation-independence``: figure ablation_independence from ``andicam ablation``'s tables."""

from __future__ import annotations

import argparse

from andicam.plots.common import figure_from_csv
from andicam.plots.relevance import plot_ablation_independence

HELP = "How much every statistic moved at the target window, per ablated statistic"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--independence", required=True,
                        help="independence CSV written by `andicam ablation --out-independence`")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    return figure_from_csv(args.independence, args.out, plot_ablation_independence)

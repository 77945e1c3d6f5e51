"""``andicam plot-relevance-layers``: figure relevance_layers, one heatmap per stage of the main model."""

from __future__ import annotations

import argparse

from andicam.model import STAGES
from andicam.plots.common import figure_from_csv
from andicam.plots.relevance import plot_relevance_stages

HELP = "Grad-CAM vs window-statistic correlations per class for every stage, windows matched to each stage"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--relevance", required=True, help="CSV written by `andicam relevance --stages layer1 ...`")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--method", choices=["pearson", "spearman"], default="pearson")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    return figure_from_csv(args.relevance, args.out,
                           lambda table: plot_relevance_stages(table, args.stages, args.method))

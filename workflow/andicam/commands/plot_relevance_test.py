"""``andicam plot-relevance-test``: figure relevance_test from the test set's relevance table."""

from __future__ import annotations

import argparse

from andicam.plots.common import figure_from_csv
from andicam.plots.relevance import plot_relevance

HELP = "Heatmap of the layer4 Grad-CAM vs window-statistic correlations per class, test set"


def add_arguments(parser: argparse.ArgumentParser, split: str = "test set") -> None:
    """Shared by plot-relevance-train and plot-relevance-test."""
    parser.add_argument("--relevance", required=True, help=f"CSV written by `andicam relevance` on the {split}")
    parser.add_argument("--stage", default="layer4", help="which stage's maps (default layer4, as the paper)")
    parser.add_argument("--method", choices=["pearson", "spearman"], default="pearson")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def draw(args: argparse.Namespace, split: str) -> int:
    """Shared by plot-relevance-train and plot-relevance-test."""
    title = f"{args.stage} Grad-CAM vs window statistics, {split} ({args.method} r)"
    return figure_from_csv(args.relevance, args.out,
                           lambda table: plot_relevance(table, args.stage, args.method, title))


def run(args: argparse.Namespace) -> int:
    return draw(args, "test set")

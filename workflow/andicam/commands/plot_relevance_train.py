"""``andicam plot-relevance-train``: figure relevance_train from the training set's relevance table."""

from __future__ import annotations

import argparse

from andicam.commands.plot_relevance_test import draw

HELP = "Heatmap of the layer4 Grad-CAM vs window-statistic correlations per class, training set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--relevance", required=True, help="CSV written by `andicam relevance` on the training set")
    parser.add_argument("--stage", default="layer4", help="which stage's maps (default layer4, as the paper)")
    parser.add_argument("--method", choices=["pearson", "spearman"], default="pearson")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    return draw(args, "training set")

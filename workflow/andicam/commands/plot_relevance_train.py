"""``andicam plot-relevance-train``: figure relevance_train from the training set's relevance table."""

from __future__ import annotations

import argparse

from andicam.commands.plot_relevance_test import add_arguments as add_relevance_arguments
from andicam.commands.plot_relevance_test import draw

HELP = "Heatmap of the layer4 Grad-CAM vs window-statistic correlations per class, training set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_relevance_arguments(parser, "training set")


def run(args: argparse.Namespace) -> int:
    return draw(args, "training set")

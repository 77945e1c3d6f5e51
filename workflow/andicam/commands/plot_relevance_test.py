"""``andicam plot-relevance-test``: figure relevance_test from the test set's relevance table."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from andicam.cli import UserInputError
from andicam.plots.common import save_figure
from andicam.plots.relevance import plot_relevance

HELP = "Heatmap of the layer4 Grad-CAM vs window-statistic correlations per class, test set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--relevance", required=True, help="CSV written by `andicam relevance` on the test set")
    parser.add_argument("--stage", default="layer4", help="which stage's maps (default layer4, as the paper)")
    parser.add_argument("--method", choices=["pearson", "spearman"], default="pearson")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def draw(args: argparse.Namespace, split: str) -> int:
    """Shared by plot-relevance-train and plot-relevance-test."""
    if not Path(args.relevance).is_file():
        raise UserInputError(f"{args.relevance}: no such file")
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    try:
        fig = plot_relevance(pd.read_csv(args.relevance), args.stage, args.method,
                             f"{args.stage} Grad-CAM vs window statistics, {split} ({args.method} r)")
    except ValueError as exc:
        raise UserInputError(f"{args.relevance}: {exc}") from None
    save_figure(fig, args.out)
    return 0


def run(args: argparse.Namespace) -> int:
    return draw(args, "test set")

"""``andicam plot-relevance-layers``: figure relevance_layers, one heatmap per stage of the main model."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from andicam.cli import UserInputError
from andicam.model import STAGES
from andicam.plots.common import save_figure
from andicam.plots.relevance import plot_relevance_stages

HELP = "Grad-CAM vs window-statistic correlations per class for every stage, windows matched to each stage"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--relevance", required=True, help="CSV written by `andicam relevance --stages layer1 ...`")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--method", choices=["pearson", "spearman"], default="pearson")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    if not Path(args.relevance).is_file():
        raise UserInputError(f"{args.relevance}: no such file")
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    try:
        fig = plot_relevance_stages(pd.read_csv(args.relevance), args.stages, args.method)
    except ValueError as exc:
        raise UserInputError(f"{args.relevance}: {exc}") from None
    save_figure(fig, args.out)
    return 0

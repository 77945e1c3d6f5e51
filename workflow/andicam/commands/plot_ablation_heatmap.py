"""``andicam plot-ablation-heatmap``: figure ablation_heatmap from ``andicam ablation``'s tables."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from andicam.cli import UserInputError
from andicam.plots.common import save_figure
from andicam.plots.relevance import plot_ablation_heatmap

HELP = "Accuracy drop per ablated statistic and class (for, inverse, random control)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", required=True, help="results CSV written by `andicam ablation --out`")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    if not Path(args.results).is_file():
        raise UserInputError(f"{args.results}: no such file")
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    try:
        fig = plot_ablation_heatmap(pd.read_csv(args.results))
    except ValueError as exc:
        raise UserInputError(f"{args.results}: {exc}") from None
    save_figure(fig, args.out)
    return 0

"""``andicam plot-ablation-independence``: figure ablation_independence from ``andicam ablation``'s tables."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from andicam.cli import UserInputError
from andicam.plots.common import save_figure
from andicam.plots.relevance import plot_ablation_independence

HELP = "How much every statistic moved at the target window, per ablated statistic"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--independence", required=True,
                        help="independence CSV written by `andicam ablation --out-independence`")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    if not Path(args.independence).is_file():
        raise UserInputError(f"{args.independence}: no such file")
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    try:
        fig = plot_ablation_independence(pd.read_csv(args.independence))
    except ValueError as exc:
        raise UserInputError(f"{args.independence}: {exc}") from None
    save_figure(fig, args.out)
    return 0

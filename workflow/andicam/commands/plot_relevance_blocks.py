"""``andicam plot-relevance-blocks``: figure relevance_blocks, one heatmap per block-wise head."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from andicam.cli import UserInputError
from andicam.plots.common import save_figure
from andicam.plots.relevance import block_titles, plot_relevance_stages

HELP = "Grad-CAM of the block-wise heads (cut after layer1/2/3) vs window statistics, per class"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--relevance", required=True, nargs="+",
                        help="CSV(s) written by `andicam relevance` on the heads' Grad-CAM files")
    parser.add_argument("--accuracy", required=True, help="accuracy CSV written by `andicam block-heads`")
    parser.add_argument("--method", choices=["pearson", "spearman"], default="pearson")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    for path in (*args.relevance, args.accuracy):
        if not Path(path).is_file():
            raise UserInputError(f"{path}: no such file")
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    table = pd.concat([pd.read_csv(p) for p in args.relevance], ignore_index=True)
    accuracy = pd.read_csv(args.accuracy)
    try:
        cuts = [c for c in accuracy["cut"] if c in set(table["stage"])] if "cut" in accuracy else []
        if not cuts:
            raise ValueError("no head of the accuracy table has correlations in the relevance table(s)")
        fig = plot_relevance_stages(table, cuts, args.method, block_titles(accuracy, table))
    except ValueError as exc:
        raise UserInputError(f"{', '.join(args.relevance)}: {exc}") from None
    save_figure(fig, args.out)
    return 0

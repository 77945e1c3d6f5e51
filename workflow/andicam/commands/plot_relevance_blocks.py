"""``andicam plot-relevance-blocks``: figure relevance_blocks, one heatmap per block-wise head."""

from __future__ import annotations

import argparse

import pandas as pd
from matplotlib.figure import Figure

from andicam.plots.common import figure_from_csvs
from andicam.plots.relevance import block_groups, block_titles, plot_relevance_stages

HELP = "Grad-CAM of the block-wise heads (cut after layer1/2/3) vs window statistics, per class"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--relevance", required=True, nargs="+",
                        help="CSV(s) written by `andicam relevance` on the heads' Grad-CAM files")
    parser.add_argument("--accuracy", required=True, help="accuracy CSV written by `andicam block-heads`")
    parser.add_argument("--method", choices=["pearson", "spearman"], default="pearson")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    def draw(tables: list[pd.DataFrame]) -> Figure:
        table, accuracy = pd.concat(tables[:-1], ignore_index=True), tables[-1]
        cuts = [c for c in accuracy["cut"] if c in set(table["stage"])] if "cut" in accuracy else []
        if not cuts:
            raise ValueError("no head of the accuracy table has correlations in the relevance table(s)")
        return plot_relevance_stages(table, cuts, args.method, block_titles(accuracy, table), block_groups(accuracy))

    return figure_from_csvs([*args.relevance, args.accuracy], args.out, draw)

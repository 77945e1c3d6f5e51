"""``andicam plot-scaling``: test accuracy against training samples x epochs, per width, with the paper's."""

from __future__ import annotations

import argparse

from andicam.plots.common import figure_from_csv
from andicam.plots.scaling import scaling_figure

HELP = "figure scaling: test accuracy against training samples x epochs per width, the paper's accuracy as lines"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--table", required=True, help="per-model table of 'andicam scaling-table' (.csv)")
    p.add_argument("--out", required=True, help="figure .pdf (the .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    return figure_from_csv(args.table, args.out, scaling_figure)

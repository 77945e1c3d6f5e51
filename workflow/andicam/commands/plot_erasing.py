"""``andicam plot-erasing``: figure erasing, one column per erasing run (positions mode)."""

from __future__ import annotations

import argparse

import pandas as pd
from matplotlib.figure import Figure

from andicam.errors import UserInputError
from andicam.dataio import CLASS_NAMES
from andicam.erasing_tables import read_correctness, trajectory_bootstrap_differences
from andicam.plots.common import figure_from_csvs
from andicam.plots.gradcam import plot_erasing

HELP = ("Accuracy after erasing each Grad-CAM percentile bin, against the random controls (all classes), "
        "one column per erasing table.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--erasing", required=True, nargs="+",
                        help="erasing CSV(s) written by the erasing command, at most one per positions mode")
    parser.add_argument("--correctness", default=None, nargs="+",
                        help="per-trajectory correctness (.npz of `andicam erasing --correctness`), one per table "
                             "in the same order: the differences get a paired bootstrap over trajectories instead "
                             "of the seed range")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resamples")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    if args.correctness is not None and len(args.correctness) != len(args.erasing):
        raise UserInputError(f"{len(args.erasing)} erasing tables but {len(args.correctness)} correctness files")
    loaded = []  # read (and checked) up front; the bootstrap runs only once the tables have been read
    for path in args.correctness or []:
        try:
            loaded.append(read_correctness(path))
        except ValueError as exc:
            raise UserInputError(str(exc)) from None

    def draw(tables: list[pd.DataFrame]) -> Figure:
        differences = [trajectory_bootstrap_differences(labels, correct, CLASS_NAMES, seed=args.seed)
                       for labels, correct in loaded]
        return plot_erasing(tables, differences or None)

    return figure_from_csvs(args.erasing, args.out, draw)

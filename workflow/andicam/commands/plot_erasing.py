"""``andicam plot-erasing``: figure erasing."""

from __future__ import annotations

import argparse

from andicam.cli import UserInputError
from andicam.dataio import CLASS_NAMES
from andicam.erasing_tables import read_correctness, trajectory_bootstrap_differences
from andicam.plots.common import figure_from_csv
from andicam.plots.gradcam import plot_erasing

HELP = "Accuracy after erasing each Grad-CAM percentile bin, against the random controls (all classes)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--erasing", required=True, help="erasing CSV written by the erasing command")
    parser.add_argument("--correctness", default=None,
                        help="per-trajectory correctness (.npz of `andicam erasing --correctness`): the "
                             "differences get a paired bootstrap over trajectories instead of the seed range")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resamples")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    differences = None
    if args.correctness:
        try:
            labels, correct = read_correctness(args.correctness)
        except ValueError as exc:
            raise UserInputError(str(exc)) from None
        differences = trajectory_bootstrap_differences(labels, correct, CLASS_NAMES, seed=args.seed)
    return figure_from_csv(args.erasing, args.out, lambda table: plot_erasing(table, differences))

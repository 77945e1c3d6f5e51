"""``andicam noise-bias``: how well ``predict``'s per-track noise estimate reads known noise, per class."""

from __future__ import annotations

import argparse
import math

from andicam.errors import UserInputError
from andicam.dataio import read_many
from andicam.files import write_csv
from andicam.noise import estimator_bias

HELP = "median, quartiles and bias of the per-track noise estimate on simulated tracks with known noise"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", nargs="+", required=True, help="trajectory shard(s) (.h5)")
    parser.add_argument("--sigmas", nargs="+", required=True, type=float, help="true noise levels added")
    parser.add_argument("--seed", required=True, type=int, help="master seed of the noise")
    parser.add_argument("--tag", default="", help="regime label written in every row")
    parser.add_argument("--out", required=True, help="CSV: one row per (class, sigma)")


def run(args: argparse.Namespace) -> int:
    if not all(math.isfinite(s) and s >= 0 for s in args.sigmas) or len(set(args.sigmas)) != len(args.sigmas):
        raise UserInputError(f"--sigmas must be distinct, finite and >= 0, got {args.sigmas}")
    frame = estimator_bias(read_many(args.data), args.sigmas, args.seed)
    frame.insert(0, "regime", args.tag)
    write_csv(args.out, frame)
    print(f"noise estimate on {frame.loc[frame['class'] == 'all', 'n'].iloc[0]} tracks -> {args.out}")
    return 0

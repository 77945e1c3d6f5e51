"""``andicam plot-dataset-overview``: example trajectories and MSD exponents per class."""

from __future__ import annotations

import argparse

from andicam.dataio import read_many
from andicam.files import write_csv
from andicam.msd import exponents_by_alpha
from andicam.plots.common import save_figure
from andicam.plots.dataset import dataset_overview

HELP = "figure dataset_overview: example trajectories per class and ensemble-MSD exponent vs drawn alpha"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", nargs="+", required=True, help="trajectory shard files (.h5)")
    p.add_argument("--bins", type=int, default=4, help="alpha bins per class for the MSD fit")
    p.add_argument("--seed", type=int, default=0, help="which examples are drawn")
    p.add_argument("--out", required=True, help="figure .pdf (the .png is written beside it)")
    p.add_argument("--out-csv", required=True, help="table of fitted exponents")


def run(args: argparse.Namespace) -> int:
    data = read_many(args.data)
    table = exponents_by_alpha(data, bins=args.bins)
    write_csv(args.out_csv, table)
    save_figure(dataset_overview(data, table, seed=args.seed), args.out)
    return 0

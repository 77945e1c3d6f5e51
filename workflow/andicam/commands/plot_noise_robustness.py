"""``andicam plot-noise-robustness``: figure and summary table of the robust vs noiseless classifiers."""

from __future__ import annotations

import argparse

import pandas as pd

from andicam.errors import UserInputError
from andicam.files import write_csv
from andicam.plots.common import read_tables, save_figure
from andicam.plots.robust import plot_noise_robustness
from andicam.robust import robustness_summary

HELP = "accuracy and macro-F1 against noise (and by length) of the noiseless and robust models, with t intervals"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tables", nargs="+", required=True, help="robust-eval tables (one per regime)")
    parser.add_argument("--out-csv", required=True, help="summary: mean and t interval over seeds per cell")
    parser.add_argument("--out", required=True, help="figure (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    frames = read_tables(args.tables)
    try:
        summary = robustness_summary(pd.concat(frames, ignore_index=True))
        fig = plot_noise_robustness(summary)
    except (KeyError, ValueError) as exc:
        raise UserInputError(f"{', '.join(args.tables)}: {exc}") from None
    write_csv(args.out_csv, summary)
    save_figure(fig, args.out)
    return 0

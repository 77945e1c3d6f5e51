"""``andicam augment-aggregate``: per arm and noise level, mean, SE and t interval over retraining seeds."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from andicam.augment import aggregate
from andicam.errors import UserInputError
from andicam.files import write_csv

HELP = "Summarise noise-eval results over seeds, with the paired difference targeted minus random."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inputs", nargs="+", required=True, help="CSV files written by noise-eval")
    parser.add_argument("--out", required=True,
                        help="tidy summary CSV: arm, sigma, metric, n, mean, se, ci_low, ci_high, ci_method")


def run(args: argparse.Namespace) -> int:
    missing = [p for p in args.inputs if not Path(p).is_file()]
    if missing:
        raise UserInputError(f"input file(s) not found: {', '.join(missing)}")
    results = pd.concat([pd.read_csv(p) for p in args.inputs], ignore_index=True)
    try:
        summary = aggregate(results)
    except ValueError as exc:
        raise UserInputError(f"{', '.join(args.inputs)}: {exc}") from None
    write_csv(args.out, summary)
    print(f"{len(results)} results -> {len(summary)} summary rows in {args.out}")
    return 0

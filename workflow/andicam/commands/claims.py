"""``andicam claims``: one verdict per claim of the paper (reproduced, undecided, contradicted, ...) as CSV and
markdown."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from andicam.claims import claims_markdown, claims_table, verdict_counts
from andicam.errors import UserInputError
from andicam.files import atomic_output, write_csv

HELP = ("Verdict per claim of the paper from the results summary: this run's 95 % interval against the paper's "
        "value plus or minus a margin per unit")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--summary", required=True, help="summary CSV written by 'andicam summarize'")
    p.add_argument("--seed", type=int, default=None, help="master seed of the run, for the markdown header")
    p.add_argument("--run-name", default=None, help="name of the run, for the markdown header")
    p.add_argument("--out-csv", required=True, help="one row per claim with its difference and verdict (CSV)")
    p.add_argument("--out-md", required=True, help="the rule, the counts per verdict and one table per experiment")


def run(args: argparse.Namespace) -> int:
    if not Path(args.summary).is_file():
        raise UserInputError(f"{args.summary}: no such file")
    try:
        summary = pd.read_csv(args.summary)
        table = claims_table(summary)
    except ValueError as exc:  # pandas parse errors and a table that is not a summary
        raise UserInputError(f"{args.summary}: {exc}") from None
    write_csv(args.out_csv, table)
    with atomic_output(args.out_md) as tmp:
        tmp.write_text(claims_markdown(table, args.run_name, args.seed))
    counts = ", ".join(f"{n} {v}" for v, n in verdict_counts(table).items())
    print(f"{len(table)} claims ({counts}) -> {args.out_csv}, {args.out_md}")
    return 0

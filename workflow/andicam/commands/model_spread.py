"""``andicam model-spread``: the explaining rows of several models' summaries side by side (CSV, markdown)."""

from __future__ import annotations

import argparse
from pathlib import Path

from andicam.claims import SUMMARY_COLUMNS
from andicam.errors import UserInputError
from andicam.files import atomic_output, read_table, write_csv
from andicam.model_spread import seed_markdown, seed_table

HELP = "Explaining results (erasing, block heads, correlations, ...) of every explained training seed side by side"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--summaries", nargs="+", required=True,
                   help="summary CSVs of 'andicam summarize', one per explained model, the main model first")
    p.add_argument("--seeds", nargs="+", type=int, required=True, help="the training seed of each summary")
    p.add_argument("--run-name", default=None, help="name of the run, for the markdown header")
    p.add_argument("--out-csv", required=True, help="one row per explaining result, a column per seed (CSV)")
    p.add_argument("--out-md", required=True, help="the same as markdown")


def run(args: argparse.Namespace) -> int:
    if len(args.summaries) != len(args.seeds) or len(set(args.seeds)) != len(args.seeds):
        raise UserInputError(f"--seeds needs one distinct seed per summary; got {args.seeds} for "
                             f"{len(args.summaries)} file(s)")
    missing = [p for p in args.summaries if not Path(p).is_file()]
    if missing:
        raise UserInputError(f"summary file(s) not found: {', '.join(missing)}")
    try:
        table = seed_table({seed: read_table(path, SUMMARY_COLUMNS, "summary table of 'andicam summarize'")
                            for seed, path in zip(args.seeds, args.summaries)})
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    write_csv(args.out_csv, table)
    with atomic_output(args.out_md) as tmp:
        tmp.write_text(seed_markdown(table, args.run_name))
    print(f"{len(table)} explaining results of {len(args.seeds)} model(s) -> {args.out_csv}, {args.out_md}")
    return 0

"""``andicam scaling-table``: the scaling study's models, one row each, and their summary per grid point."""

from __future__ import annotations

import argparse

from andicam.errors import UserInputError
from andicam.files import atomic_output, read_json, write_csv
from andicam.scaling import scaling_records, scaling_summary, summary_markdown

HELP = "table of the scaling study: test accuracy per training size, width, depth, epochs and seed"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--train-metrics", nargs="+", required=True, help="metrics JSON of 'andicam train', one per model")
    p.add_argument("--eval-metrics", nargs="+", required=True,
                   help="metrics JSON of 'andicam evaluate', one per model, in the same order")
    p.add_argument("--out-csv", required=True, help="one row per model (.csv)")
    p.add_argument("--out-summary", required=True, help="one row per grid point: seeds, mean, SD, gap to paper (.csv)")
    p.add_argument("--out-md", required=True, help="the summary as a Markdown table (.md)")


def _read(path: str) -> dict:
    try:
        return read_json(path)
    except (OSError, ValueError) as exc:
        raise UserInputError(f"{path}: cannot read the metrics file ({exc})") from None


def run(args: argparse.Namespace) -> int:
    if len(args.train_metrics) != len(args.eval_metrics):
        raise UserInputError(f"{len(args.train_metrics)} training but {len(args.eval_metrics)} evaluation metrics "
                             "files; give one of each per model")
    pairs = [(_read(t), _read(e)) for t, e in zip(args.train_metrics, args.eval_metrics)]
    try:
        records = scaling_records(pairs)
    except (KeyError, ValueError) as exc:
        raise UserInputError(f"not the metrics of a scaling run: {exc}") from None
    summary = scaling_summary(records)
    write_csv(args.out_csv, records)
    write_csv(args.out_summary, summary)
    with atomic_output(args.out_md) as tmp:
        tmp.write_text(summary_markdown(summary))
    for r in summary.itertuples(index=False):
        print(f"{r.regime} {r.per_class:>6} per class, width {r.width}, depth {r.depth}, {r.epochs} epochs: "
              f"{r.accuracy:.1f} % ({r.n_seeds} seed(s)), {r.gap_to_paper:+.1f} points to the paper")
    return 0

"""``andicam plot-accuracy-vs-depth``: test accuracy per ResNet depth and regime, over training seeds."""

from __future__ import annotations

import argparse

from andicam.errors import UserInputError
from andicam.files import read_json, write_csv
from andicam.plots.classifier import accuracy_vs_depth, depth_records, depth_summary
from andicam.plots.common import save_figure

HELP = "figure accuracy_vs_depth: test accuracy per depth for each regime (every seed, mean +- SD)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics", nargs="+", required=True,
                   help="metrics JSON files written by 'andicam evaluate' (regime, depth and seed come from them)")
    p.add_argument("--out", required=True, help="figure .pdf (the .png is written beside it)")
    p.add_argument("--out-csv", default=None, help="optional table: per regime and depth, n_seeds, mean, std")


def run(args: argparse.Namespace) -> int:
    loaded = []
    for path in args.metrics:
        try:
            metrics = read_json(path)
        except (OSError, ValueError) as exc:
            raise UserInputError(f"{path}: cannot read the metrics file ({exc})") from None
        if not isinstance(metrics, dict) or not {"accuracy", "macro_f1"} <= metrics.keys() \
                or "depth" not in metrics.get("model", {}):
            raise UserInputError(f"{path}: not an evaluation metrics file of 'andicam evaluate' "
                                 "(needs accuracy, macro_f1 and model.depth)")
        loaded.append(metrics)
    records = depth_records(loaded)
    if args.out_csv:
        write_csv(args.out_csv, depth_summary(records))
    save_figure(accuracy_vs_depth(records), args.out)
    return 0

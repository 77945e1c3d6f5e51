"""``andicam plot-training-curves``: loss and accuracy per epoch of one or more trainings."""

from __future__ import annotations

import argparse

import pandas as pd

from andicam.errors import UserInputError
from andicam.files import read_json
from andicam.plots.classifier import training_curves
from andicam.plots.common import save_figure
from andicam.train import HISTORY_COLUMNS

HELP = "figure training_curves: training and validation loss and accuracy per epoch, one colour per run"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--history", nargs="+", required=True, help="history CSV files written by 'andicam train'")
    p.add_argument("--metrics", nargs="+", required=True,
                   help="the training metrics JSON of each history, same order (labels: regime, depth, seed)")
    p.add_argument("--out", required=True, help="figure .pdf (the .png is written beside it)")


def _label(metrics: dict) -> str:
    regime = metrics.get("tags", {}).get("regime", "")
    return f"{regime} depth {metrics['config']['depth']} seed {metrics.get('seed', '?')}".strip()


def run(args: argparse.Namespace) -> int:
    if len(args.history) != len(args.metrics):
        raise UserInputError(f"--history and --metrics need one entry per run; got {len(args.history)} and "
                             f"{len(args.metrics)}")
    runs = []
    for hist_path, metrics_path in zip(args.history, args.metrics):
        try:
            history = pd.read_csv(hist_path)
            label = _label(read_json(metrics_path))
        except (OSError, ValueError, KeyError) as exc:
            raise UserInputError(f"{hist_path} / {metrics_path}: cannot read the training outputs ({exc!r})") from None
        missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
        if missing:
            raise UserInputError(f"{hist_path}: not a training history, missing column(s) {', '.join(missing)}")
        runs.append((label, history))
    save_figure(training_curves(runs), args.out)
    return 0

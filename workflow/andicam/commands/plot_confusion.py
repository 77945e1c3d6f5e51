"""``andicam plot-confusion``: row-normalised confusion matrix of one model (confusion_fixed, confusion_variable)."""

from __future__ import annotations

import argparse

from andicam.evaluate import read_predictions
from andicam.plots.classifier import confusion
from andicam.plots.common import save_figure

HELP = "figure confusion_<regime>: row-normalised confusion matrix, in percent, from a predictions CSV"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--predictions", required=True, help="predictions CSV written by 'andicam evaluate'")
    p.add_argument("--title", default=None, help="text before the accuracy in the title, e.g. 'variable length'")
    p.add_argument("--out", required=True, help="figure .pdf (the .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    frame = read_predictions(args.predictions)
    save_figure(confusion(frame["label"].to_numpy(), frame["predicted"].to_numpy(), args.title), args.out)
    return 0

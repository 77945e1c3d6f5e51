"""``andicam plot-class-share-vs-alpha``: predicted-class shares against alpha, per true class (METHODS §4)."""

from __future__ import annotations

import argparse

from andicam.evaluate import read_predictions
from andicam.plots.classifier import class_share_vs_alpha
from andicam.plots.common import save_figure

HELP = "figure class_share_vs_alpha: per true class, share of each predicted class in 0.05-wide alpha bins"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--predictions", required=True, help="predictions CSV written by 'andicam evaluate'")
    p.add_argument("--title", default=None, help="figure title, e.g. which model and test set")
    p.add_argument("--out", required=True, help="figure .pdf (the .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    save_figure(class_share_vs_alpha(read_predictions(args.predictions), args.title), args.out)
    return 0

"""``andicam robust-eval``: the noiseless and the robust classifiers against localisation noise, by length."""

from __future__ import annotations

import argparse

import pandas as pd

from andicam.commands import add_noise_eval_arguments, run_noise_eval
from andicam.dataio import LENGTH_EDGES
from andicam.robust import MODEL_KINDS, noise_robustness

HELP = ("accuracy and macro-F1 of noiseless and robust models at several noise levels, overall and per "
        "trajectory-length bin; every model sees the same noise")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_noise_eval_arguments(parser, "kinds", MODEL_KINDS, "tidy CSV: one row per (model, sigma, length bin)")
    parser.add_argument("--length-edges", nargs="+", type=int, default=list(LENGTH_EDGES),
                        help="edges of the trajectory-length bins")
    parser.add_argument("--tag", default="", help="regime label written in every row")


def _tagged(frame: pd.DataFrame, tag: str) -> pd.DataFrame:
    """The table with the regime label as its first column, so the regimes' tables can be concatenated."""
    frame.insert(0, "regime", tag)
    return frame


def run(args: argparse.Namespace) -> int:
    return run_noise_eval(args, "kinds", lambda data, device, amp: _tagged(noise_robustness(
        args.models, args.kinds, args.seeds, data, args.sigmas, args.seed, args.length_edges, device,
        args.batch_size, amp), args.tag))

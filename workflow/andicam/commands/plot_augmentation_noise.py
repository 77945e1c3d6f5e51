"""``andicam plot-augmentation-noise``: figure augmentation_noise from augment-aggregate's summary."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from andicam.cli import UserInputError
from andicam.plots.augment import plot_noise
from andicam.plots.common import save_figure

HELP = "Accuracy against localisation noise for the augmentation arms, with the targeted-random difference."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--summary", required=True, help="summary CSV written by augment-aggregate")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    if not Path(args.summary).is_file():
        raise UserInputError(f"{args.summary}: no such file")
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    try:
        fig = plot_noise(pd.read_csv(args.summary))
    except ValueError as exc:
        raise UserInputError(f"{args.summary}: {exc}") from None
    save_figure(fig, args.out)
    return 0

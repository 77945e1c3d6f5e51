"""``andicam plot-tsne``: figure tsne."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from andicam.cli import UserInputError
from andicam.plots.common import save_figure
from andicam.plots.gradcam import plot_tsne

HELP = "t-SNE of the pooled features after each stage, coloured by true class."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tsne", required=True, help="CSV written by the tsne command")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    if not Path(args.tsne).is_file():
        raise UserInputError(f"{args.tsne}: no such file")
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    try:
        fig = plot_tsne(pd.read_csv(args.tsne))
    except (ValueError, KeyError) as exc:
        raise UserInputError(f"{args.tsne}: {exc}") from None
    save_figure(fig, args.out)
    return 0

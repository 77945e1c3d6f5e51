"""``andicam plot-layer-response``: figure layer_response."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from andicam.errors import UserInputError
from andicam.plots.common import save_figure
from andicam.plots.gradcam import plot_layer_response
from andicam.response import read_response

HELP = "Heatmaps of each stage's response to unit impulses at every input step, with the window widths."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--response", required=True, help=".h5 written by layer-response")
    parser.add_argument("--windows", required=True, help="CSV written by layer-response (--out-csv)")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    for path in (args.response, args.windows):
        if not Path(path).is_file():
            raise UserInputError(f"{path}: no such file")
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    responses, _ = read_response(args.response)
    try:
        fig = plot_layer_response(responses, pd.read_csv(args.windows))
    except (ValueError, KeyError) as exc:
        raise UserInputError(f"{args.windows}: {exc}") from None
    save_figure(fig, args.out)
    return 0

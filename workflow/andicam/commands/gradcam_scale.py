"""``andicam gradcam-scale``: autocorrelation length of the Grad-CAM maps per stage and class."""

from __future__ import annotations

import argparse

from andicam.cam_scale import scale_table
from andicam.files import write_csv
from andicam.gradcam import read_gradcams
from andicam.model import STAGES

HELP = "autocorrelation length of each stage's Grad-CAM maps per class, in positions and input steps (CSV)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gradcam", required=True, nargs="+", help="Grad-CAM file(s) (fixed-length data)")
    p.add_argument("--out", required=True, help="output CSV")


def run(args: argparse.Namespace) -> int:
    arrays, _ = read_gradcams(args.gradcam)
    table = scale_table({s: arrays[s] for s in STAGES if s in arrays}, arrays["labels"])
    write_csv(args.out, table)
    print(table[table["class"] == "all"].to_string(index=False))
    return 0

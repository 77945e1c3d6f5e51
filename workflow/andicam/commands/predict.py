"""``andicam predict``: classify a user's own 2-D tracks (CSV or AnDi text) with a trained model."""

from __future__ import annotations

import argparse
import sys

import torch

from andicam.errors import UserInputError
from andicam.predict import REASONS, run_predict
from andicam.shipped import DEFAULT_MODELS, DEFAULT_TASK, TASKS

HELP = "classify your own 2-D tracks (CSV of localisations, TrackMate spots, or AnDi .txt) with a trained model"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help="a model file written by train, or the name of a shipped model (`andicam models` lists them); "
                        "default: the shipped default model of --task")
    p.add_argument("--task", choices=tuple(TASKS), default=None,
                   help="the classification task, for the default model: "
                        + ", ".join(f"{t} -> {n}" for t, n in DEFAULT_MODELS.items())
                        + f" (default {DEFAULT_TASK})")
    p.add_argument("--input", required=True, help="tracks: a CSV of localisations or an AnDi 2020 .txt file")
    p.add_argument("--out", required=True, help="output CSV, one row per track in input order")
    p.add_argument("--format", choices=("auto", "csv", "andi"), default="auto",
                   help="input format; auto: .csv is csv, .txt is andi")
    cols = p.add_argument_group("CSV columns", "default track_id, frame, x, y; a TrackMate spots export (TRACK_ID, "
                                "FRAME, POSITION_X, POSITION_Y) is recognised by its header")
    cols.add_argument("--track-col", help="track id column (empty or 'None': a spot without a track)")
    cols.add_argument("--frame-col", help="frame number column (integers; one point per frame)")
    cols.add_argument("--x-col", help="x coordinate column")
    cols.add_argument("--y-col", help="y coordinate column")
    cols.add_argument("--skip-rows", type=int, default=None,
                      help="rows to drop below the header; default: drop the leading rows whose frame is not "
                           "a number (TrackMate's name/short name/units rows)")
    p.add_argument("--min-length", type=int, default=10,
                   help="fewest points a track needs (default 10, the shortest training trajectory)")
    p.add_argument("--long", choices=("first", "last", "reject"), default="first",
                   help="tracks over 1000 points: use their first or last 1000 points, or reject them")
    p.add_argument("--gradcam-dir", default=None,
                   help="also draw every ok track coloured by its layer4 Grad-CAM for the predicted class here")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto and cuda take a card no other andicam job holds)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.epilog = "status values of rejected tracks: " + "; ".join(f"'{k}': {v}" for k, v in REASONS.items())


def run(args: argparse.Namespace) -> int:
    if args.skip_rows is not None and args.skip_rows < 0:
        raise UserInputError(f"--skip-rows must be 0 or more, got {args.skip_rows}")
    torch.set_num_threads(args.threads)
    result = run_predict(
        args.model, args.input, args.out, fmt=args.format,
        columns={"track": args.track_col, "frame": args.frame_col, "x": args.x_col, "y": args.y_col},
        skip_rows=args.skip_rows, min_length=args.min_length, long=args.long, gradcam_dir=args.gradcam_dir,
        device=args.device, batch_size=args.batch_size, task=args.task,
    )
    name = result.metadata["model_name"]
    model = f"{result.metadata['model_kind']} model" + (f" {name}" if name else "")
    print(f"andicam predict: {result.summary} ({model}) -> {args.out}", file=sys.stderr)
    if result.warning:
        print(f"andicam predict: {result.warning}", file=sys.stderr)
    if result.figures:
        print(f"andicam predict: {len(result.figures)} Grad-CAM figures in {args.gradcam_dir}", file=sys.stderr)
    return 0

"""``andicam ablation``: feature ablation by window transplant, with a random-transplant control."""

from __future__ import annotations

import argparse
import time

import numpy as np

from andicam.ablation import MIN_DISTANCE, Windows, run_ablation, select_per_class
from andicam.errors import UserInputError
from andicam.dataio import DataFileError, read_many
from andicam.commands import add_device_arguments, prepare_device, require_positive
from andicam.files import write_csv
from andicam.gradcam import model_input
from andicam.model import load_model, require_paper_classes
from andicam.paper import PAPER_STRIDE, PAPER_WINDOW
from andicam.preprocess import INPUT_LENGTH
from andicam.seeding import derive_seed

HELP = "Transplant the window with the largest/smallest statistic and measure the accuracy drop per class"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model file written by train")
    p.add_argument("--data", required=True, nargs="+", help="fixed-length trajectory shard(s) (.h5)")
    p.add_argument("--per-class", type=int, default=None,
                   help="use the first N trajectories of each class, in file order (default: all)")
    p.add_argument("--repeats", type=int, default=1, help="random-control transplants per trajectory")
    p.add_argument("--window", type=int, default=PAPER_WINDOW, help="window length in steps")
    p.add_argument("--stride", type=int, default=PAPER_STRIDE, help="steps between window starts")
    p.add_argument("--min-distance", type=int, default=MIN_DISTANCE, help="smallest donor-target distance (windows)")
    p.add_argument("--seed", type=int, required=True, help="the workflow's master seed (random control)")
    p.add_argument("--out", required=True, help="accuracy drop and top-1 per mode, statistic and class (.csv)")
    p.add_argument("--out-independence", required=True, help="how much every statistic moved (.csv)")
    p.add_argument("--out-transplants", required=True,
                   help="every transplant and its predictions (.csv); index = row in the --data files concatenated")
    add_device_arguments(p, batch_size=256, batch_help="trajectories per batch (statistics and network)")


def run(args: argparse.Namespace) -> int:
    require_positive(args, "repeats", "batch_size", "min_distance", "stride")
    try:
        win = Windows(args.window, args.stride, args.min_distance)
        win.starts(INPUT_LENGTH)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    device = prepare_device(args)
    model = load_model(args.model, device)
    require_paper_classes(model, args.model)
    data = read_many(args.data)
    if len(data) and int(data.lengths.min()) < INPUT_LENGTH:
        raise DataFileError(f"feature ablation needs trajectories of {INPUT_LENGTH} steps (the fixed regime); "
                            f"{', '.join(args.data)} hold lengths down to {int(data.lengths.min())}")
    try:
        keep = select_per_class(data.labels, args.per_class)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    data = data.subset(keep)
    start = time.perf_counter()
    res = run_ablation(model, model_input(data), data.labels, derive_seed(args.seed, "ablation-random"), win,
                       args.repeats, args.batch_size, index=keep)
    write_csv(args.out, res.results)
    write_csv(args.out_independence, res.independence)
    write_csv(args.out_transplants, res.transplants)
    drops = res.results.groupby(["mode", "statistic"])["drop"].mean()
    worst = drops.drop(index="random", level="mode", errors="ignore").idxmax()
    print(f"ablation of {len(data)} trajectories in {time.perf_counter() - start:.1f} s on {device}: largest mean "
          f"drop {100 * drops[worst]:.1f} pp ({worst[0]} {worst[1]}), random control "
          f"{100 * float(np.mean(drops.get('random', np.nan))):.1f} pp -> {args.out}")
    return 0

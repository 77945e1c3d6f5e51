"""``andicam noise-eval``: accuracy of trained models on test data with localisation noise (METHODS §4, §5.3)."""

from __future__ import annotations

import argparse
import time

from andicam.augment import ARMS, BASELINE, evaluate_noise
from andicam.dataio import read_many
from andicam.commands import add_device_arguments, check_noise_eval_inputs, prepare_device
from andicam.files import write_csv

HELP = "Evaluate models on test data at several noise levels; the noise of a level is the same for every model."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", nargs="+", required=True, help="model files (.pt)")
    parser.add_argument("--arms", nargs="+", required=True, choices=(*ARMS, BASELINE),
                        help="arm of each model, in the order of --models")
    parser.add_argument("--seeds", nargs="+", required=True, type=int,
                        help="training seed of each model, in the order of --models (pairs the arms)")
    parser.add_argument("--data", nargs="+", required=True, help="test shard(s) (.h5), concatenated in order")
    parser.add_argument("--sigmas", nargs="+", required=True, type=float, help="noise levels (std of the noise)")
    parser.add_argument("--seed", required=True, type=int,
                        help="master seed; the noise of level s comes from derive_seed(seed, 'noise', s)")
    parser.add_argument("--out", required=True, help="tidy CSV: one row per (model, sigma)")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=False,
                        help="bf16 autocast on CUDA (faster; default off so the numbers are float32)")
    add_device_arguments(parser, batch_size=512, batch_help="inference batch size")


def run(args: argparse.Namespace) -> int:
    check_noise_eval_inputs(args.models, {"arms": args.arms, "seeds": args.seeds}, args.sigmas)
    device = prepare_device(args)
    data = read_many(args.data)
    start = time.perf_counter()
    frame = evaluate_noise(args.models, args.arms, args.seeds, data, args.sigmas, args.seed,
                           device, args.batch_size, args.amp and device.type == "cuda")
    write_csv(args.out, frame)
    print(f"{len(args.models)} models x {len(args.sigmas)} levels on {len(data)} trajectories "
          f"in {time.perf_counter() - start:.1f} s -> {args.out}")
    return 0

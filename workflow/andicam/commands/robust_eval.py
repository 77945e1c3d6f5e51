"""``andicam robust-eval``: the noiseless and the robust classifiers against localisation noise, by length."""

from __future__ import annotations

import argparse
import time

from andicam.errors import UserInputError
from andicam.dataio import read_many
from andicam.commands import add_device_arguments, check_noise_eval_inputs, prepare_device
from andicam.files import write_csv
from andicam.robust import LENGTH_EDGES, MODEL_KINDS, noise_robustness

HELP = ("accuracy and macro-F1 of noiseless and robust models at several noise levels, overall and per "
        "trajectory-length bin; every model sees the same noise")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", nargs="+", required=True, help="model files (.pt)")
    parser.add_argument("--kinds", nargs="+", required=True, choices=MODEL_KINDS,
                        help="kind of each model, in the order of --models")
    parser.add_argument("--seeds", nargs="+", required=True, type=int,
                        help="training seed of each model, in the order of --models")
    parser.add_argument("--data", nargs="+", required=True, help="test shard(s) (.h5), concatenated in order")
    parser.add_argument("--sigmas", nargs="+", required=True, type=float, help="noise levels (std of the noise)")
    parser.add_argument("--seed", required=True, type=int,
                        help="master seed; the noise of level s comes from derive_seed(seed, 'noise', s)")
    parser.add_argument("--length-edges", nargs="+", type=int, default=list(LENGTH_EDGES),
                        help="edges of the trajectory-length bins")
    parser.add_argument("--tag", default="", help="regime label written in every row")
    parser.add_argument("--out", required=True, help="tidy CSV: one row per (model, sigma, length bin)")
    add_device_arguments(parser, batch_size=512, batch_help="inference batch size")


def run(args: argparse.Namespace) -> int:
    check_noise_eval_inputs(args.models, {"kinds": args.kinds, "seeds": args.seeds}, args.sigmas)
    device = prepare_device(args)
    data = read_many(args.data)
    start = time.perf_counter()
    try:
        frame = noise_robustness(args.models, args.kinds, args.seeds, data, args.sigmas, args.seed,
                                 args.length_edges, device, args.batch_size)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    frame.insert(0, "regime", args.tag)
    write_csv(args.out, frame)
    print(f"{len(args.models)} models x {len(args.sigmas)} levels on {len(data)} trajectories "
          f"in {time.perf_counter() - start:.1f} s -> {args.out}")
    return 0

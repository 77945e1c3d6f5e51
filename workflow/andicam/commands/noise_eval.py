"""``andicam noise-eval``: accuracy of trained models on test data with localisation noise (METHODS §4, §5.3)."""

from __future__ import annotations

import argparse

from andicam.augment import ARMS, BASELINE, evaluate_noise
from andicam.commands import add_noise_eval_arguments, require_positive, run_noise_eval

HELP = "Evaluate models on test data at several noise levels; the noise of a level is the same for every model."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_noise_eval_arguments(parser, "arms", (*ARMS, BASELINE), "tidy CSV: one row per (model, sigma)")
    parser.add_argument("--max-trajectories", type=int, default=None, metavar="N",
                        help="score every model on the same seeded random subset of N test trajectories (default: "
                             "all); where the interval's width comes from the retraining seeds, fewer suffice")


def run(args: argparse.Namespace) -> int:
    require_positive(args, "max_trajectories")
    return run_noise_eval(args, "arms", lambda data, device, amp: evaluate_noise(
        args.models, args.arms, args.seeds, data, args.sigmas, args.seed, device, args.batch_size, amp),
        args.max_trajectories)

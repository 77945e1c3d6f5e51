"""``andicam erasing-curves``: every erasing run (regime, positions mode, fill) in a few numbers, as CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from andicam.commands import require_positive
from andicam.errors import UserInputError
from andicam.files import write_csv
from andicam.summary import erasing_curves

HELP = ("Each erasing run in a few numbers with their 95 % intervals: nothing erased, Grad-CAM's first and last "
        "bin, the controls, Grad-CAM minus the run-length control, the accuracy random segments cost")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--erasing", nargs="+", required=True, help="erasing tables of 'andicam erasing' (any regimes, "
                   "positions modes and fills, one table per combination)")
    p.add_argument("--correctness", nargs="+", default=None,
                   help="their per-trajectory correctness (.npz of 'andicam erasing --correctness'), in the same "
                        "order: differences then get a paired bootstrap over test trajectories")
    p.add_argument("--main-regime", default=None,
                   help="regime of the tables without a regime column (the main model's run)")
    p.add_argument("--stage", default="layer4", help="stage whose Grad-CAM chose the erased segments")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples of the paired differences")
    p.add_argument("--seed", type=int, default=0, help="master seed (of that bootstrap)")
    p.add_argument("--out", required=True, help="one row per run and quantity (CSV)")


def run(args: argparse.Namespace) -> int:
    require_positive(args, "n_boot")
    missing = [p for p in [*args.erasing, *(args.correctness or [])] if not Path(p).is_file()]
    if missing:
        raise UserInputError(f"input file(s) not found: {', '.join(missing)}")
    try:
        table = erasing_curves(args.erasing, args.correctness, args.main_regime, args.stage, args.n_boot, args.seed)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    write_csv(args.out, table)
    print(f"{table['run'].nunique()} erasing runs -> {args.out}")
    return 0

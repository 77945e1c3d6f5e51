"""``andicam relevance``: correlations of Grad-CAM maps with the window statistics, per class, to a CSV."""

from __future__ import annotations

import argparse
import time

from andicam.errors import UserInputError
from andicam.files import write_csv
from andicam.model import STAGES
from andicam.relevance import METHODS, SPEARMAN_CI, relevance_from_files

HELP = "Pearson and Spearman r (trajectory-bootstrap 95 % CIs) of Grad-CAM maps vs window statistics, per class"


def parse_windows(items: list[str]) -> dict[str, int]:
    """['layer1=29', ...] -> {'layer1': 29}; a bad item is a user error naming it."""
    out: dict[str, int] = {}
    for item in items:
        stage, sep, steps = item.partition("=")
        if not sep or not steps.isdigit():
            raise UserInputError(f"--window expects STAGE=STEPS (e.g. layer4=225), got {item!r}")
        out[stage] = int(steps)
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, nargs="+", help="fixed-length trajectory shard(s) (.h5), in order")
    p.add_argument("--gradcam", required=True, nargs="+",
                   help="Grad-CAM file(s) of the same trajectories in the same order (one per shard, or one for all)")
    p.add_argument("--stages", nargs="+", choices=STAGES, default=["layer4"],
                   help="map datasets to correlate (default layer4)")
    p.add_argument("--window", action="append", default=[], metavar="STAGE=STEPS",
                   help="window length of a stage (default: 225 steps at layer4 scaled by steps per position: "
                        "layer1 29, layer2 58, layer3 114)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples of trajectories (0: no CIs)")
    p.add_argument("--spearman-ci", choices=SPEARMAN_CI, default="global-ranks",
                   help="Spearman bootstrap: rank once (fast) or re-rank every resample (exact, slow)")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--seed", type=int, required=True, help="the workflow's master seed (bootstrap resamples)")
    p.add_argument("--out", required=True, help="output CSV")


def run(args: argparse.Namespace) -> int:
    if args.n_boot < 0:
        raise UserInputError(f"--n-boot must be >= 0, got {args.n_boot}")
    if not args.out.endswith(".csv"):
        raise UserInputError(f"--out must end in .csv, got {args.out}")
    windows = parse_windows(args.window)
    unknown = sorted(set(windows) - set(args.stages))
    if unknown:
        raise UserInputError(f"--window given for stage(s) not in --stages: {', '.join(unknown)}")
    for stage, steps in windows.items():
        if not 9 <= steps <= 1000:
            raise UserInputError(f"--window {stage}={steps}: a window must have 9 to 1000 steps")
    start = time.perf_counter()
    try:
        table = relevance_from_files(args.data, args.gradcam, args.stages, windows, args.n_boot, args.seed,
                                     args.methods, args.spearman_ci)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    write_csv(args.out, table)
    strongest = table[table["method"] == "pearson"].sort_values("r", key=abs, ascending=False).head(3)
    best = ", ".join(f"{r.stage} {r.statistic} {r['class']} {r.r:+.2f}" for _, r in strongest.iterrows())
    print(f"relevance of {int(table.groupby('class')['n_traj'].first().sum())} trajectories, stages "
          f"{', '.join(args.stages)}, {args.n_boot} resamples in {time.perf_counter() - start:.1f} s; "
          f"strongest Pearson: {best} -> {args.out}")
    return 0

"""``andicam plot-gradcam-examples``: figure gradcam_examples."""

from __future__ import annotations

import argparse

import numpy as np

from andicam.errors import UserInputError
from andicam.dataio import read_many
from andicam.gradcam import pick_examples, read_gradcams, trajectory_maps
from andicam.model import STAGES
from andicam.plots.common import save_figure
from andicam.plots.gradcam import plot_gradcam_examples
from andicam.seeding import derive_seed

HELP = "Trajectories of each class drawn as 2-D paths coloured by their Grad-CAM, one column per stage."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, nargs="+", help="trajectory shard(s), as given to gradcam")
    parser.add_argument("--gradcam", required=True, nargs="+", help="Grad-CAM file(s) of those shards")
    parser.add_argument("--master-seed", type=int, required=True, help="seeds the choice of examples")
    parser.add_argument("--per-class", type=int, default=1, help="examples per class (rows per class)")
    parser.add_argument("--out", required=True, help="figure path (.pdf; a .png is written beside it)")


def run(args: argparse.Namespace) -> int:
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    if args.per_class < 1:
        raise UserInputError(f"--per-class must be positive, got {args.per_class}")
    data = read_many(args.data)
    arrays, _ = read_gradcams(args.gradcam)
    if not np.array_equal(arrays["labels"], data.labels):
        raise UserInputError(f"{', '.join(args.gradcam)}: labels do not match the data {', '.join(args.data)}")
    index = pick_examples(data.labels, arrays["predictions"], derive_seed(args.master_seed, "gradcam-examples"),
                          args.per_class)
    stages = [s for s in STAGES if s in arrays]
    maps = trajectory_maps({s: arrays[s][index] for s in stages}, data.lengths[index])
    trajs = [data.trajectories[i, :, : data.lengths[i]] for i in index]
    save_figure(plot_gradcam_examples(trajs, data.labels[index], maps), args.out)
    return 0

"""``andicam tsne``: t-SNE of the pooled features after each stage, on a seeded subsample."""

from __future__ import annotations

import argparse
import time

from andicam.errors import UserInputError
from andicam.dataio import read_many
from andicam.commands import add_device_arguments, prepare_device
from andicam.files import write_csv
from andicam.gradcam import model_input
from andicam.model import STAGES, load_model, require_paper_classes
from andicam.seeding import derive_seed
from andicam.model import pooled_features
from andicam.tsne import subsample, tsne_table

HELP = "t-SNE embedding (CSV) of the globally average-pooled features after each stage"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model file written by train")
    p.add_argument("--data", required=True, nargs="+", help="trajectory shard(s)")
    p.add_argument("--out", required=True, help="output CSV (stage, index, label, class, x, y)")
    p.add_argument("--n-points", type=int, required=True, help="size of the seeded random subsample")
    p.add_argument("--master-seed", type=int, required=True)
    p.add_argument("--perplexity", type=float, default=30.0)
    p.add_argument("--jobs", type=int, default=1, help="openTSNE threads")
    add_device_arguments(p, batch_size=256)


def run(args: argparse.Namespace) -> int:
    if args.n_points < 1 or args.perplexity <= 0:
        raise UserInputError(f"--n-points and --perplexity must be positive, got {args.n_points}, {args.perplexity}")
    device = prepare_device(args)
    model = load_model(args.model, device)
    require_paper_classes(model, args.model)
    data = read_many(args.data)
    index = subsample(len(data), args.n_points, derive_seed(args.master_seed, "tsne", "subsample"))
    data = data.subset(index)
    start = time.perf_counter()
    features = pooled_features(model, model_input(data), STAGES, args.batch_size)
    try:
        table = tsne_table(features, data.labels, index, args.master_seed, args.perplexity, args.jobs)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    write_csv(args.out, table)
    print(f"t-SNE of {len(index)} trajectories x {len(STAGES)} stages in {time.perf_counter() - start:.1f} s"
          f" -> {args.out}")
    return 0

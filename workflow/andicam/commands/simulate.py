"""``andicam simulate``: one shard file of the eight classes."""

from __future__ import annotations

import argparse
import time

from andicam.dataio import write_trajectories
from andicam.seeding import derive_seed
from andicam.simulate import NORMALISATION, simulate, versions

HELP = "simulate one shard (regime, split, index) of the eight classes to HDF5"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--regime", required=True, help="name of the length regime (part of the seed)")
    p.add_argument("--split", required=True, choices=["train", "val", "test"])
    p.add_argument("--shard", required=True, type=int, help="shard index, 0-based (part of the seed)")
    p.add_argument("--master-seed", required=True, type=int)
    p.add_argument("--n-per-class", required=True, type=int)
    p.add_argument("--min-length", required=True, type=int)
    p.add_argument("--max-length", required=True, type=int)
    p.add_argument("--alpha-sub", nargs=2, type=float, default=(0.1, 0.9), metavar=("LOW", "HIGH"))
    p.add_argument("--alpha-sup", nargs=2, type=float, default=(1.1, 1.9), metavar=("LOW", "HIGH"))
    p.add_argument("--out", required=True, help="output .h5 file")


def run(args: argparse.Namespace) -> int:
    seed = derive_seed(args.master_seed, "simulate", args.regime, args.split, args.shard)
    start = time.perf_counter()
    data = simulate(args.n_per_class, args.min_length, args.max_length, seed,
                    tuple(args.alpha_sub), tuple(args.alpha_sup))
    seconds = time.perf_counter() - start
    shard_config = {"n_per_class": args.n_per_class, "min_length": args.min_length, "max_length": args.max_length,
                    "alpha_sub": list(args.alpha_sub), "alpha_sup": list(args.alpha_sup)}
    write_trajectories(args.out, data, {
        "regime": args.regime, "split": args.split, "shard": args.shard, "seed": seed,
        "master_seed": args.master_seed, "generator": "andi_datasets.models_theory (2-D); BM: Gaussian increments",
        "normalisation": NORMALISATION, "versions": versions(), "config": shard_config,
        "n_per_class": args.n_per_class,
    })
    print(f"simulated {len(data)} trajectories ({args.n_per_class} per class, T {args.min_length}..{args.max_length})"
          f" in {seconds:.1f} s = {len(data) / seconds:.0f}/s; seed {seed} -> {args.out}")
    return 0

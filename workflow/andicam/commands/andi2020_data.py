"""``andicam andi2020-data``: the AnDi 2020 challenge's Task 2 tracks in 2-D, from its own generator, seeded."""

from __future__ import annotations

import argparse
import time

from andicam.errors import UserInputError
from andicam.seeding import derive_seed

HELP = "AnDi 2020 Task 2 tracks in 2-D (the challenge's generator, seeded) as a trajectory file and its labels"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--split", required=True, help="train, val or test (enters the seed)")
    p.add_argument("--shard", required=True, type=int, help="shard number (enters the seed)")
    p.add_argument("--master-seed", required=True, type=int)
    p.add_argument("--n", required=True, type=int, help="tracks in the file (the challenge's N)")
    p.add_argument("--out", required=True, help="output trajectory file (.h5), labels of the five models")
    p.add_argument("--ref", required=True, help="output CSV: per track its model, alpha, length, noise, coefficient")


def run(args: argparse.Namespace) -> int:
    from andicam.andi2020 import generate_task2, reference_table, to_trajectories
    from andicam.dataio import write_trajectories
    from andicam.files import write_csv
    from andicam.simulate import NORMALISATION, versions

    if args.n < 1:
        raise UserInputError(f"--n must be at least 1, got {args.n}")
    seed = derive_seed(args.master_seed, "andi2020", args.split, args.shard)
    start = time.perf_counter()
    task = generate_task2(args.n, seed)
    seconds = time.perf_counter() - start
    write_csv(args.ref, reference_table(task))
    write_trajectories(args.out, to_trajectories(task), {
        "regime": "andi2020", "split": args.split, "shard": args.shard, "seed": seed,
        "master_seed": args.master_seed,
        "generator": "AnDi 2020 Task 2, 2-D (andi_datasets.datasets_challenge.challenge_theory_dataset's recipe)",
        "normalisation": NORMALISATION, "versions": versions(), "config": {"n": args.n},
    })
    print(f"generated {len(task)} AnDi Task 2 tracks in {seconds:.1f} s; seed {seed} -> {args.out}, {args.ref}")
    return 0

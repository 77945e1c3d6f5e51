"""Simulation throughput per class (one core) and in total with 1 and 2 worker processes.

    PYTHONPATH=workflow python benchmarks/bench_simulation.py [--n 200] [--length 1000]

Prints trajectories per second; the two totals are measured in the same run on the same work
(whole shards, as the workflow schedules them), so their ratio is the parallel speed-up.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

from andicam.simulate import CLASSES, simulate, simulate_class


def _shard(args: tuple[int, int, int]) -> int:
    n, length, seed = args
    return len(simulate(n, length, length, seed))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200, help="trajectories per class")
    p.add_argument("--length", type=int, default=1000)
    p.add_argument("--shards", type=int, default=4, help="shards for the 1- vs 2-process comparison")
    args = p.parse_args()
    print(f"per class, one core, T = {args.length}, {args.n} trajectories each:")
    for spec in CLASSES:
        alpha = {"sub": (0.1, 0.9), "sup": (1.1, 1.9), "normal": (1.0, 1.0)}[spec.regime]
        start = time.perf_counter()
        simulate_class(spec, args.n, args.length, args.length, alpha, seed=1)
        print(f"  {spec.name:8s} {args.n / (time.perf_counter() - start):9.0f} trajectories/s")
    work = [(args.n // 4, args.length, seed) for seed in range(args.shards)]
    rates = {}
    for workers in (1, 2):
        start = time.perf_counter()
        with ProcessPoolExecutor(workers) as pool:
            total = sum(pool.map(_shard, work))
        rates[workers] = total / (time.perf_counter() - start)
        print(f"all classes, {workers} process(es), {args.shards} shards: {rates[workers]:.0f} trajectories/s")
    print(f"speed-up 2 vs 1 processes: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()

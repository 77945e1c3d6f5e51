"""Training throughput of the whole CPU: one job on every core against one single-thread job per core.

Snakemake can run a training job with all the cores' threads, or as many single-thread jobs at once as
there are cores. Which feeds the machine better depends on the network: a narrow one does too little
work per operator for two threads to share. This benchmark times both side by side, in one run, on
the same model, data and batches:

(a) one job, ``--threads`` threads;
(b) ``--threads`` jobs of one thread each, started together (spawned processes that wait at a barrier,
    so their timed loops overlap).

It prints each job's samples/s and the machine's total for (a) and (b), and their ratio; the config
keys ``train.threads``, ``augment.threads`` and ``explain.threads`` are what a preset sets from it. Run:
``.venv/bin/python benchmarks/bench_parallel_jobs.py --width 8 16 --depth 10 --threads 2``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from bench_training import bench_ours, fake_trajectories  # noqa: E402

from andicam.device import resolve_amp  # noqa: E402
from andicam.model import build_model  # noqa: E402


def worker(depth: int, width: int, threads: int, batches: int, batch: int, seed: int,
           barrier: mp.synchronize.Barrier, results: mp.Queue) -> None:
    """Time one training loop after every job of the round has reached the barrier."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    traj, lengths, labels = fake_trajectories(max(4 * batch, (batches + 1) * batch), seed)
    model = build_model(depth, width)
    amp, _ = resolve_amp(torch.device("cpu"), True)
    barrier.wait()
    rate, _ = bench_ours(model, traj, lengths, labels, batch, batches, 2e-3, amp, torch.device("cpu"), seed)
    results.put(rate)


def run_round(jobs: int, threads: int, args: argparse.Namespace, depth: int, width: int) -> list[float]:
    """Samples/s of each of ``jobs`` simultaneous jobs with ``threads`` threads each."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(jobs)
    results = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(depth, width, threads, args.batches, args.batch_size,
                                              args.seed + j, barrier, results)) for j in range(jobs)]
    for p in procs:
        p.start()
    rates = [results.get() for _ in procs]
    for p in procs:
        p.join()
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--depth", type=int, nargs="+", default=[10], choices=[10, 18, 34])
    parser.add_argument("--threads", type=int, default=2, help="the cores to fill (default 2)")
    parser.add_argument("--batches", type=int, default=30, help="timed batches per job")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads < 2:
        parser.error("--threads must be at least 2: with one core there is nothing to share")
    amp, why = resolve_amp(torch.device("cpu"), True)
    print(f"precision: {'bf16' if amp else 'fp32'} ({why}); {args.batches} batches of {args.batch_size} per job")
    rows = []
    for depth in args.depth:
        for width in args.width:
            one = run_round(1, args.threads, args, depth, width)
            many = run_round(args.threads, 1, args, depth, width)
            print(f"depth {depth} width {width}: 1 job x {args.threads} threads {one[0]:,.0f} samples/s; "
                  f"{args.threads} jobs x 1 thread " + " + ".join(f"{r:,.0f}" for r in many)
                  + f" = {sum(many):,.0f} samples/s")
            rows.append((depth, width, one[0], sum(many)))
    print()
    print(f"| depth | width | 1 job x {args.threads} threads, samples/s | {args.threads} jobs x 1 thread, "
          "samples/s in all | ratio |")
    print("|---|---|---|---|---|")
    for depth, width, one_rate, many_rate in rows:
        print(f"| {depth} | {width} | {one_rate:,.0f} | {many_rate:,.0f} | {many_rate / one_rate:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

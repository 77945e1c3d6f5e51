"""GPU check: the workflow's own commands on the card, then the paper's network on the paper's data size.

On a fresh machine with one NVIDIA GPU (``benchmarks/gpu_check.sh`` builds the
environment first and calls this), within a wall-clock budget (default 9 minutes,
counted from ``--started-at``):

1. simulates the paper's fixed-length data with every core the process may use:
   400,000 training trajectories (T = 1000, 8 classes) and one full test file (80,000),
   in shards of ``--shard-per-class`` per class;
2. runs the tiny preset's whole DAG through Snakemake with every network job on the
   card (train, robust training, evaluation, Grad-CAM, erasing, block heads, the
   augmentation's retraining and noise evaluation), and checks that every training ran
   there in IEEE fp32 (``used`` in the metrics of every training and evaluation);
3. kills ``andicam train`` after its first epoch's checkpoint (exit 75, as a preempted
   job) and reruns it: it must resume after epoch 1 and finish;
4. trains ResNet depth 18 width 64 (the paper's) under bf16 autocast with andicam's
   training loop, with the batch size and lr of the recommendation below, for as many
   epochs as the remaining budget holds (estimated from timed warm-up batches), under
   a one-cycle schedule over exactly those epochs;
5. after every epoch prints samples/s, the convolutions' TFLOP/s and the fraction of
   the card's dense bf16 peak, and the test accuracy on the full test file (scored in fp32);
6. runs the tests that need CUDA (``pytest -m gpu``: training and resume, robust
   training, Grad-CAM, erasing and predict against the CPU, block heads, ablation).

Recommendation (not yet validated on a GPU): batch 512 and lr 5e-4 at batch 64,
scaled linearly to 4e-3 at 512 (``andicam.train.resolve_plan``'s rule, config
``train.gpu_batch_size``), with the one-cycle warm-up guarding the large step. A
batch of 64 leaves a large GPU mostly idle.

``--tiny`` runs the same steps at toy sizes on a CPU in well under a minute (the tests
run it so).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from andicam.device import resolve_device  # noqa: E402
from andicam.evaluate import predict_logits  # noqa: E402
from andicam.model import build_model  # noqa: E402
from andicam.train import TrainConfig, load_model_inputs, make_scheduler, resolve_plan, torch_settings  # noqa: E402
from andicam.train import train_epoch  # noqa: E402
from bench_training import conv_flops_per_sample  # noqa: E402

# Trajectories per class of each split: the paper's training set (5 files of 10,000) and one full test file.
# No validation set: nothing is selected on it here, the test accuracy is printed every epoch.
FULL = {"train": 50_000, "test": 10_000}
TINY = {"train": 16, "test": 8}


def simulate_all(out: Path, per_class: dict[str, int], shard_per_class: int, jobs: int, seed: int) -> list[Path]:
    """One ``andicam simulate`` process per shard, ``jobs`` at a time; the shard files of every split."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow"), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    commands, paths = [], []
    for split, n in per_class.items():
        for shard in range(math.ceil(n / shard_per_class)):
            size = min(shard_per_class, n - shard * shard_per_class)
            path = out / split / f"shard{shard}.h5"
            paths.append(path)
            if not path.is_file():  # a rerun keeps what a previous one simulated
                commands.append([sys.executable, "-m", "andicam", "simulate", "--regime", "fixed", "--split", split,
                                 "--shard", str(shard), "--master-seed", str(seed), "--n-per-class", str(size),
                                 "--min-length", "1000", "--max-length", "1000", "--out", str(path)])

    def one(cmd: list[str]) -> None:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"simulation failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, commands))
    return paths


def split_paths(paths: list[Path], split: str) -> list[str]:
    return [str(p) for p in paths if p.parent.name == split]


def _env() -> dict[str, str]:
    """This interpreter's bin folder first on PATH and the package importable, as the workflow's jobs have it."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(REPO / "workflow")}


def run_workflow(work: Path, device: str, cores: int, targets: list[str]) -> str:
    """The tiny preset's DAG (or ``targets`` of it) in a fresh copy of the workflow, every network job on
    ``device``; checks that each training and evaluation ran there in IEEE fp32. One line of what ran."""
    dag = work / "tiny-dag"
    shutil.rmtree(dag, ignore_errors=True)
    dag.mkdir(parents=True)
    for name in ("Snakefile", "config.yaml", "workflow", "presets", "profiles", "envs"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dag / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dag / name)
    (dag / "device.yaml").write_text(f"train: {{device: {device}}}\nexplain: {{device: {device}}}\n")
    # Targets first: --resources and --configfile take every word after them.
    cmd = [str(Path(sys.executable).parent / "snakemake"), *targets, "--cores", str(cores), "--resources", "gpu=1",
           "--configfile", "presets/tiny.yaml", "device.yaml"]
    done = subprocess.run(cmd, cwd=dag, env=_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the tiny DAG failed on {device} (logs in {dag / 'logs'}):\n{done.stderr[-3000:]}")
    steps = [line for line in done.stderr.splitlines() if "steps (100%) done" in line]
    used = [json.loads(p.read_text())["used"] for p in sorted((dag / "results").rglob("metrics.json"))
            if "used" in json.loads(p.read_text())]
    wrong = [u for u in used if not u["device"].startswith(device) or u["fp32_math"] != "ieee"]
    if not used or wrong:
        raise RuntimeError(f"jobs of the tiny DAG did not all run on {device} in IEEE fp32: {wrong or 'none ran'}")
    return (f"{steps[-1].strip() if steps else 'done'}; {len(used)} training and evaluation jobs on "
            f"{', '.join(sorted({u['device'] for u in used}))} in IEEE fp32")


def kill_and_resume(work: Path, train: list[str], val: list[str], device: str, per_class: int) -> str:
    """``andicam train`` preempted after epoch 1 (exit 75), then rerun: it must resume there and finish."""
    out = work / "resume"
    shutil.rmtree(out, ignore_errors=True)
    ck = out / "checkpoint.pt"
    cmd = [sys.executable, "-m", "andicam", "train", "--train", *train, "--val", *val, "--per-class", str(per_class),
           "--out-model", str(out / "model.pt"), "--out-metrics", str(out / "metrics.json"),
           "--out-history", str(out / "history.csv"), "--checkpoint", str(ck), "--depth", "10", "--width", "16",
           "--epochs", "2", "--lr", "2e-3", "--schedule", "cosine", "--device", device, "--threads", "2"]
    killed = subprocess.run(cmd, env={**_env(), "ANDICAM_PREEMPT_AFTER_EPOCH": "1"}, capture_output=True, text=True)
    if killed.returncode != 75 or not ck.is_file() or (out / "model.pt").exists():
        raise RuntimeError(f"andicam train did not stop after epoch 1 as preempted (exit {killed.returncode}):\n"
                           f"{killed.stdout[-1500:]}{killed.stderr[-1500:]}")
    resumed = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    if resumed.returncode != 0 or "after epoch 1" not in resumed.stdout or ck.exists():
        raise RuntimeError(f"andicam train did not resume after epoch 1 (exit {resumed.returncode}):\n"
                           f"{resumed.stdout[-1500:]}{resumed.stderr[-1500:]}")
    used = json.loads((out / "metrics.json").read_text())["used"]
    return f"killed after epoch 1 (exit 75), resumed after epoch 1 and finished 2 epochs on {used['device']}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="toy sizes (width 4, depth 10, 1 epoch) for a CPU")
    p.add_argument("--work", default=str(REPO / "benchmarks" / "out" / "gpu_check"), help="folder for the data")
    p.add_argument("--minutes", type=float, default=9.0, help="wall-clock budget of the whole check")
    p.add_argument("--started-at", type=float, default=None,
                   help="Unix time the check started (gpu_check.sh passes it, so building the env counts)")
    p.add_argument("--reserve-s", type=float, default=60.0, help="seconds kept for the CUDA tests at the end")
    p.add_argument("--depth", type=int, default=18, choices=[10, 18, 34])
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=512, help="batch on CUDA")
    p.add_argument("--lr", type=float, default=5e-4, help="Adam lr at batch 64, scaled linearly to --batch-size")
    p.add_argument("--shard-per-class", type=int, default=1_250, help="trajectories per class in one shard file")
    p.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)),
                   help="simulation processes and workflow cores (default: the CPUs this process may use)")
    p.add_argument("--dag-target", nargs="*", default=[],
                   help="targets of the tiny DAG to build (default: all of it; the tests build one model)")
    p.add_argument("--peak-flops", type=float, default=989e12,
                   help="the card's dense bf16 peak in FLOP/s (H100/H200 SXM: 989e12)")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=2024)
    args = p.parse_args()

    if not args.tiny and args.device == "auto" and not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        print(f"gpu_check: torch {torch.__version__} ({build}) sees no CUDA device; run with --tiny on a CPU, "
              "or --device cpu to force the full sizes there", file=sys.stderr)
        return 2
    start = args.started_at or time.time()
    deadline = start + 60 * args.minutes
    sizes = TINY if args.tiny else FULL
    width, depth = (4, 10) if args.tiny else (args.width, args.depth)
    per_shard = min(args.shard_per_class, min(sizes.values()))
    work = Path(args.work)

    t0 = time.time()
    paths = simulate_all(work / "data", sizes, per_shard, args.jobs, args.seed)
    print(f"[simulate] {sum(8 * n for n in sizes.values()):,} trajectories (train {8 * sizes['train']:,}, "
          f"test {8 * sizes['test']:,}) in {len(paths)} shards, {args.jobs} processes: "
          f"{time.time() - t0:.0f} s", flush=True)

    dag_device = resolve_device(args.device).type
    t0 = time.time()
    print(f"[workflow] tiny DAG on {dag_device}: {run_workflow(work, dag_device, args.jobs, args.dag_target)} "
          f"({time.time() - t0:.0f} s)", flush=True)
    t0 = time.time()
    # The first training shard only: loading all 400,000 twice would cost a minute of the budget.
    resumed = kill_and_resume(work, split_paths(paths, "train")[:1], split_paths(paths, "test")[:1], dag_device,
                              per_class=min(per_shard, 1000))
    print(f"[resume] {resumed} ({time.time() - t0:.0f} s)", flush=True)

    t0 = time.time()
    train_x, train_y = load_model_inputs(split_paths(paths, "train"))
    test_x, test_y = load_model_inputs(split_paths(paths, "test"))
    print(f"[load] {len(train_y):,} training and {len(test_y):,} test inputs preprocessed in {time.time() - t0:.0f} s",
          flush=True)

    # The plan: on CUDA the batch and the linearly scaled lr; on a CPU the batch of 64 and bf16 where native.
    probe = TrainConfig(device=args.device, batch_size=64, gpu_batch_size=args.batch_size, lr=args.lr, amp=True,
                        depth=depth, width=width, schedule="onecycle", threads=torch.get_num_threads(), seed=args.seed)
    plan = resolve_plan(probe)
    device = torch.device(plan.device)
    cuda = device.type == "cuda"
    with torch_settings(plan):
        x = torch.from_numpy(train_x).to(device)  # (N, 2, 1000)
        y = torch.from_numpy(train_y).to(device)
        tx = torch.from_numpy(test_x).to(device)
        ty = torch.from_numpy(test_y).to(device)
        n = len(y)
        steps = -(-n // plan.batch_size)
        torch.manual_seed(args.seed)
        model = build_model(depth, width).to(device)
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        _, flops = conv_flops_per_sample(model)
        print(f"[plan] depth {depth} width {width} on {plan.device}: batch {plan.batch_size}, lr {plan.lr:g} "
              f"(one-cycle), {plan.precision}; {flops / 1e9:.2f} GFLOP of convolutions per training sample", flush=True)

        # Timed warm-up (cuDNN autotuning happens in its first batches), then as many epochs as fit.
        warm = min(n, 40 * plan.batch_size)
        gen = torch.Generator().manual_seed(args.seed)
        scratch = torch.optim.Adam(model.parameters(), lr=plan.lr)
        sched = torch.optim.lr_scheduler.LambdaLR(scratch, lambda step: 1.0)
        train_epoch(model, x, y, torch.randperm(n, generator=gen)[:plan.batch_size].to(device), plan.batch_size,
                    scratch, sched, False, plan.amp)
        sync = torch.cuda.synchronize if cuda else (lambda: None)
        sync()
        t0 = time.perf_counter()
        train_epoch(model, x, y, torch.randperm(n, generator=gen)[:warm].to(device), plan.batch_size, scratch, sched,
                    False, plan.amp)
        sync()
        rate = warm / (time.perf_counter() - t0)
        epoch_s = n / rate + len(ty) / (3 * rate)  # training + test predictions (a forward pass ~ 1/3 of a step)
        left = deadline - time.time() - args.reserve_s
        epochs = 1 if args.tiny else max(1, int(left // epoch_s))
        print(f"[warm-up] {rate:,.0f} samples/s; {left:.0f} s left for training: {epochs} epoch(s) of ~{epoch_s:.0f} s",
              flush=True)

        model.load_state_dict(initial)
        cfg = dataclasses.replace(probe, epochs=epochs)
        optimiser = torch.optim.Adam(model.parameters(), lr=plan.lr)
        scheduler = make_scheduler(cfg, optimiser, plan.lr, steps)
        for epoch in range(1, epochs + 1):
            order = torch.randperm(n, generator=gen).to(device)
            sync()
            t0 = time.perf_counter()
            loss, acc = train_epoch(model, x, y, order, plan.batch_size, optimiser, scheduler, True, plan.amp)
            sync()
            seconds = time.perf_counter() - t0
            samples_s = n / seconds
            # Scored in fp32 like `andicam evaluate`: bf16 prediction rounds the input and moved the class of
            # 0.4-1.6 % of clean test tracks on a CPU (benchmarks/bench_inference.py).
            logits = predict_logits(model, tx, batch_size=4 * plan.batch_size, amp=False)  # (N_test, 8)
            test_acc = float((logits.argmax(1) == ty).float().mean())
            tflops = samples_s * flops / 1e12
            peak = f" = {100e12 * tflops / args.peak_flops:.1f} % of bf16 peak" if cuda else ""
            print(f"[epoch {epoch}/{epochs}] {seconds:.1f} s, {samples_s:,.0f} samples/s, {tflops:.2f} TFLOP/s{peak}; "
                  f"train loss {loss:.4f} acc {100 * acc:.2f} %; test accuracy {100 * test_acc:.2f} % "
                  f"({len(ty):,} trajectories)", flush=True)

    t0 = time.time()
    tests = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "tests"],
                           cwd=REPO, capture_output=True, text=True)
    summary = (tests.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"[cuda tests] {summary} ({time.time() - t0:.0f} s)", flush=True)
    total = time.time() - start
    print(f"[total] {total / 60:.1f} min of the {args.minutes:g}-minute budget", flush=True)
    # pytest's 5: no test collected (none marked gpu). Skipped tests (no CUDA) are a success.
    return 0 if tests.returncode in (0, 5) else 1


if __name__ == "__main__":
    sys.exit(main())

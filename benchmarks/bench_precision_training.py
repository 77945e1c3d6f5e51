"""Does bf16 training's rounding of the input cost accuracy? bf16 against bf16 with an fp32 first convolution.

Under bf16 autocast the first convolution sees the min-max scaled positions in bf16 (8 bits of
mantissa): the rounding puts an error of about 5 % of the increments' standard deviation on
them (benchmarks/bench_inference.py). This trains the same network on the same data, seed for
seed, two ways:

* bf16: as the workflow trains where bf16 is native (andicam.train, amp on);
* bf16, fp32 stem: the same, with the first convolution and its batch norm outside autocast
  (config train.fp32_stem).

Same seed, same initial weights and batch order for both ways; every model is scored in fp32 on
the test shards at each noise level of ``--sigmas`` (the noise experiment's input and draws).
Prints one line per model and level, then per level the paired difference (fp32 stem minus
bf16) with its 95 % t interval over the training seeds. Needs a CPU with native bf16 or CUDA,
else both ways are fp32 and the comparison says so. Run, e.g.:
``.venv/bin/python benchmarks/bench_precision_training.py --train results/data/fixed/train/shard0.h5
--val results/data/fixed/val/shard0.h5 --test results/data/fixed/test/shard0.h5 --seeds 0 1 2 --threads 2``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from andicam.dataio import read_many  # noqa: E402
from andicam.intervals import t_interval  # noqa: E402
from andicam.noise import noise_seed, noisy_inputs, predict  # noqa: E402
from andicam.scaling import first_per_class  # noqa: E402
from andicam.train import TrainConfig, load_model_inputs, resolve_plan, train  # noqa: E402

WAYS = ("bf16", "bf16, fp32 stem")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", nargs="+", required=True, help="training shard(s) (.h5)")
    p.add_argument("--val", nargs="+", required=True, help="validation shard(s) (.h5)")
    p.add_argument("--test", nargs="+", required=True, help="test shard(s) (.h5)")
    p.add_argument("--per-class", type=int, default=0, help="the first N training trajectories per class (0: all)")
    p.add_argument("--width", type=int, default=8)
    p.add_argument("--depth", type=int, default=10, choices=[10, 18, 34])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--schedule", default="cosine", choices=["step", "cosine", "onecycle"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (pairs the ways)")
    p.add_argument("--sigmas", type=float, nargs="+", default=[0.0, 0.5, 1.0], help="test noise levels")
    p.add_argument("--noise-seed", type=int, default=2024, help="master seed of the test noise draws")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out-csv", help="also write the per-model table here")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    x, y = load_model_inputs(args.train)
    if args.per_class:
        keep = first_per_class(y, args.per_class)
        x, y = x[keep], y[keep]
    vx, vy = load_model_inputs(args.val)
    test = read_many(args.test)
    labels = test.labels.astype(np.int64)
    inputs = {s: noisy_inputs(test, s, noise_seed(args.noise_seed, s)) for s in args.sigmas}  # each (N, 2, 1000)
    plan = resolve_plan(TrainConfig(device="cpu", threads=args.threads))
    print(f"{len(y)} training, {len(vy)} validation, {len(labels)} test trajectories; depth {args.depth} width "
          f"{args.width}, {args.epochs} epochs, lr {args.lr:g} {args.schedule}; {plan.precision}", flush=True)
    if not plan.amp:
        print("no native bf16 here: both ways train in fp32 and must agree", flush=True)
    rows = []
    for seed in args.seeds:
        for way in WAYS:
            cfg = TrainConfig(epochs=args.epochs, lr=args.lr, schedule=args.schedule, patience=args.epochs,
                              device="cpu", threads=args.threads, seed=seed, depth=args.depth, width=args.width,
                              fp32_stem=way == "bf16, fp32 stem")
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as scratch:
                model = train(x, y, vx, vy, cfg, Path(scratch) / "checkpoint.pt", log=lambda _: None).model
            seconds = time.perf_counter() - start
            for sigma in args.sigmas:  # scored in fp32, where the stem setting changes nothing
                accuracy = float(np.mean(predict(model, inputs[sigma]) == labels))
                rows.append({"way": way, "seed": seed, "sigma": sigma, "accuracy": accuracy, "train_s": seconds})
                print(f"seed {seed} {way:16s} sigma {sigma:g}: test accuracy {100 * accuracy:.2f} % "
                      f"(trained in {seconds:.0f} s)", flush=True)
    table = pd.DataFrame(rows)
    if args.out_csv:
        table.to_csv(args.out_csv, index=False)
    wide = table.pivot_table(index=["sigma", "seed"], columns="way", values="accuracy")
    print(f"\npaired difference, fp32 stem minus bf16, in points (95 % t interval over {len(args.seeds)} "
          "training seeds):")
    for sigma, group in wide.groupby(level="sigma"):
        diff = 100 * (group[WAYS[1]] - group[WAYS[0]]).to_numpy()
        ci = t_interval(diff)
        print(f"sigma {sigma:g}: bf16 {100 * group[WAYS[0]].mean():.2f} %, fp32 stem {100 * group[WAYS[1]].mean():.2f} "
              f"%: {ci.mean:+.2f} [{ci.low:+.2f}, {ci.high:+.2f}] (per seed: "
              + ", ".join(f"{d:+.2f}" for d in diff) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())

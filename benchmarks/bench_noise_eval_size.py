"""How many test trajectories the augmentation's noise evaluation needs: what each costs and what it buys.

The verdict on targeted - random is a paired t interval over retraining seeds. Each seed's difference is
measured on N test trajectories, so its variance over seeds is the models' own spread plus the test set's
share, var(d) / N, where d_i = [targeted right on i] - [random right on i] (both arms see the same noisy inputs,
andicam.noise.noisy_inputs). This prints, for one pair of models of a retraining seed at each noise level:

* the cost: seconds per model and level per 10,000 trajectories (linear in N), as the workflow predicts
  (--amp: bf16 autocast with the first convolution in fp32, evaluation.noise_amp);
* the test set's standard error of the paired difference at each N of --sizes;
* with the between-seed standard deviation of the difference (--seed-sd, one per level: se x sqrt(n) of the
  targeted-random rows of augment-aggregate's summary, measured at --measured-at trajectories), how much wider
  the interval over seeds is at N than at the full test set: sqrt(s^2 - v/N0 + v/N) / s, v = var(d).

Run: ``.venv/bin/python benchmarks/bench_noise_eval_size.py --models
results/augment/fixed/models/{targeted,random}/seed0/model.pt --data results/data/fixed/test/shard0.h5
--sigmas 0 0.5 1 --sizes 10000 20000 40000 80000 --seed-sd 0.0066 0.0166 0.0417 --amp --threads 1``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from andicam.dataio import read_many  # noqa: E402
from andicam.device import resolve_amp  # noqa: E402
from andicam.noise import inference_model, noise_seed, noisy_inputs, predict  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs=2, required=True, metavar=("TARGETED", "RANDOM"),
                   help="two models of one retraining seed, e.g. the targeted and the random arm's")
    p.add_argument("--data", nargs="+", required=True, help="test shard(s) (.h5)")
    p.add_argument("--sigmas", nargs="+", type=float, required=True, help="noise levels")
    p.add_argument("--sizes", nargs="+", type=int, required=True, help="numbers of test trajectories N")
    p.add_argument("--seed-sd", nargs="+", type=float, default=None,
                   help="between-seed sd of the difference at each level (a share, not points)")
    p.add_argument("--measured-at", type=int, default=None,
                   help="trajectories the --seed-sd values were measured on (default: all of --data)")
    p.add_argument("--seed", type=int, default=2024, help="master seed of the noise (config seed)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if args.seed_sd is not None and len(args.seed_sd) != len(args.sigmas):
        p.error("--seed-sd needs one value per --sigmas level")
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    amp, why = resolve_amp(device, args.amp)
    data = read_many(args.data)
    n0 = args.measured_at or len(data)
    models = [inference_model(path, device, amp) for path in args.models]
    print(f"{len(data)} test trajectories ({', '.join(args.data)}); models {args.models[0]} - {args.models[1]}")
    print(f"device cpu, threads {args.threads}, batch {args.batch_size}; {why}"
          f"{', first convolution fp32' if amp else ''}; between-seed sd measured at N0 = {n0}")
    labels = data.labels.astype(np.int64)
    for k, sigma in enumerate(args.sigmas):
        x = noisy_inputs(data, sigma, noise_seed(args.seed, sigma))
        right, seconds = [], []
        for model in models:
            start = time.perf_counter()
            right.append(predict(model, x, args.batch_size, amp) == labels)
            seconds.append(time.perf_counter() - start)
        d = right[0].astype(float) - right[1].astype(float)
        v = float(d.var(ddof=1))
        cost = 1e4 * float(np.mean(seconds)) / len(data)
        print(f"sigma {sigma:g}: accuracy {right[0].mean():.4f} - {right[1].mean():.4f} = {d.mean():+.4f}; "
              f"{cost:.2f} s per model per 10,000 trajectories; sd of d_i {math.sqrt(v):.3f} "
              f"(the arms disagree on {np.mean(right[0] != right[1]):.1%} of trajectories)")
        for n in args.sizes:
            line = f"  N {n:>7,}: test-set se of the difference {100 * math.sqrt(v / n):.2f} points"
            if args.seed_sd is not None:
                s2 = args.seed_sd[k] ** 2
                model_var = s2 - v / n0
                if model_var <= 0:
                    line += "; the seeds' sd is no larger than the test set's share: not separable"
                else:
                    ratio = math.sqrt(model_var + v / n) / math.sqrt(s2)
                    line += (f"; interval over seeds {ratio:.3f}x its width at N0 "
                             f"(seed sd {100 * args.seed_sd[k]:.2f} points)")
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The erasing test in fp32 against bf16 autocast with the first convolution in fp32: speed and the curves.

The erasing test runs the network 1 + bins x (1 + controls x seeds) times over its trajectories (111 passes
at the defaults), so on a CPU it is the costliest part of explaining a model. This runs it both ways on the
same model, maps, trajectories, fill and control seeds, side by side in one process, and prints:

* the seconds of each way and their ratio;
* the accuracy of every (method, bin), fp32 and bf16, and their difference in points; the largest
  difference for the Grad-CAM bins and for the controls' means over seeds;
* the Grad-CAM minus run-length-control difference per bin both ways (what the erasing figure's lower
  panel and the summary report);
* the share of (trajectory, erased set) outcomes whose correctness differs between the two.

Run (a trained model and a Grad-CAM file of it on the shard given):
``.venv/bin/python benchmarks/bench_erasing_precision.py --model results/models/fixed/depth10/seed0/model.pt
--data results/data/fixed/train/shard0.h5 --gradcam results/gradcam/fixed/train/shard0.h5 --n 2000
--threads 1``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from andicam.dataio import read_many  # noqa: E402
from andicam.device import resolve_amp  # noqa: E402
from andicam.erasing import erasing_table, valid_positions  # noqa: E402
from andicam.erasing_tables import FILLS  # noqa: E402
from andicam.gradcam import model_input, read_gradcams  # noqa: E402
from andicam.noise import inference_model  # noqa: E402
from andicam.seeding import derive_seed  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, nargs="+")
    p.add_argument("--gradcam", required=True, nargs="+")
    p.add_argument("--n", type=int, default=2000, help="seeded subset of the trajectories")
    p.add_argument("--seeds", type=int, default=2, help="seeds per random control")
    p.add_argument("--fill", choices=FILLS, default="zero")
    p.add_argument("--include-padding", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=256)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    amp, why = resolve_amp(torch.device("cpu"), True)
    if not amp:
        print(f"no bf16 on this CPU ({why}): nothing to compare")
        return 0
    data = read_many(args.data)
    arrays, _ = read_gradcams(args.gradcam)
    rng = np.random.default_rng(derive_seed(0, "bench_erasing_precision"))
    index = np.sort(rng.choice(len(data), min(args.n, len(data)), replace=False))
    data = data.subset(index)
    maps = arrays["layer4"][index]
    valid = None if args.include_padding else valid_positions(data.lengths, maps.shape[1])
    x = model_input(data)
    print(f"# {' '.join(sys.argv)}\n{len(data)} trajectories, fill {args.fill}, "
          f"{'padding included' if args.include_padding else 'trajectory segments'}, {args.seeds} control seeds, "
          f"threads {args.threads}, torch {torch.__version__}; bf16: {why}")
    tables, kept, seconds = {}, {}, {}
    for name, use_amp in (("fp32", False), ("bf16", True)):
        model = inference_model(args.model, "cpu", use_amp)
        kept[name] = {}
        start = time.perf_counter()
        tables[name] = erasing_table(model, x, data.labels, maps, 2024, args.seeds, 10, batch_size=args.batch_size,
                                     valid=valid, correctness=kept[name], fill=args.fill, lengths=data.lengths,
                                     ids=index, amp=use_amp)
        seconds[name] = time.perf_counter() - start
    print(f"fp32 {seconds['fp32']:.1f} s, bf16 (first convolution fp32) {seconds['bf16']:.1f} s: "
          f"{seconds['fp32'] / seconds['bf16']:.2f}x")
    key = ["method", "bin"]
    both = [tables[n][tables[n]["class"] == "all"].groupby(key)["accuracy"].mean().rename(n) for n in tables]
    curves = pd.concat(both, axis=1)
    curves["bf16 - fp32 (points)"] = 100 * (curves["bf16"] - curves["fp32"])
    print("\naccuracy (controls: mean over seeds)")
    print(curves.to_string(float_format=lambda v: f"{v:.4f}"))
    for method, group in curves.groupby(level="method"):
        print(f"largest |bf16 - fp32| for {method}: {group['bf16 - fp32 (points)'].abs().max():.2f} points")
    if "run_length" in curves.index.get_level_values("method"):
        gap = {n: 100 * (curves.loc["gradcam", n] - curves.loc["run_length", n]) for n in ("fp32", "bf16")}
        print("\nGrad-CAM minus run-length control per bin (points): "
              + "; ".join(f"bin {b}: fp32 {gap['fp32'][b]:+.2f}, bf16 {gap['bf16'][b]:+.2f}" for b in gap["fp32"].index))
    differ = {k: float(np.mean(kept["fp32"][k] != kept["bf16"][k])) for k in kept["fp32"]}
    print("\nshare of outcomes whose correctness differs: "
          + ", ".join(f"{k} {100 * v:.2f} %" for k, v in differ.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Prediction in fp32 against bf16 autocast: speed, and what bf16 does to the predictions.

The workflow predicts in fp32 (evaluate, the noise evaluations, erasing, ...), also where it
trains under bf16 autocast. This prints why, for three ways of predicting with the same model
and inputs, measured side by side in one run:

* fp32;
* bf16: the whole network under ``torch.autocast(dtype=torch.bfloat16)``, as training runs
  where bf16 is native (andicam.device.resolve_amp);
* bf16, fp32 stem: the same, but the first convolution and its batch norm outside autocast
  (config train.fp32_stem), so the min-max scaled positions reach the network with fp32's 24
  bits of mantissa, not bf16's 8.

Without ``--model``: freshly initialised networks of every depth x width asked for, on random
walks of lengths U(10, 1000), preprocessed as the workflow does: trajectories/s of each way,
their ratio to fp32, and the share of predicted classes that differ from fp32's.

With ``--model`` and ``--data``: a trained model on stored test shards at the noise levels of
``--sigmas`` (the noise experiment's input and draws, andicam.noise.noisy_inputs): test
accuracy of each way, the share of predictions that differ from fp32's, and the rounding error
that casting the input to bf16 puts on the increments, relative to their standard deviation
(median over trajectories, overall and per class). Run:
``.venv/bin/python benchmarks/bench_inference.py --width 16 64 --depth 10 18 --threads 2``, or
``... --model results/models/fixed/depth10/seed0/model.pt --data results/data/fixed/test/shard0.h5
--sigmas 0 0.5 1 --threads 2``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from bench_training import fake_trajectories  # noqa: E402  (this folder is on sys.path when run as a script)

from andicam.dataio import CLASS_NAMES, read_many  # noqa: E402
from andicam.device import resolve_amp, resolve_device  # noqa: E402
from andicam.evaluate import predict_logits  # noqa: E402
from andicam.model import ResNet1d, build_model, load_model  # noqa: E402
from andicam.noise import noise_seed, noisy_inputs  # noqa: E402
from andicam.preprocess import to_model_input  # noqa: E402

WAYS = ("fp32", "bf16", "bf16, fp32 stem")


@contextmanager
def stem_precision(model: ResNet1d, fp32_stem: bool) -> Iterator[None]:
    """Inside the block the model runs with ``cfg.fp32_stem`` set as asked (andicam.model.ModelConfig)."""
    original = model.cfg
    model.cfg = replace(original, fp32_stem=fp32_stem)
    try:
        yield
    finally:
        model.cfg = original


def predictions(model: ResNet1d, x: torch.Tensor, way: str, batch_size: int, repeats: int) -> tuple[np.ndarray, float]:
    """Predicted classes (N,) of one way, and its best trajectories/s over ``repeats`` passes after a warm-up."""
    amp = way != "fp32"
    with stem_precision(model, way == "bf16, fp32 stem"):
        predict_logits(model, x[:batch_size], batch_size=batch_size, amp=amp)
        best, logits = 0.0, None
        for _ in range(repeats):
            start = time.perf_counter()
            logits = predict_logits(model, x, batch_size=batch_size, amp=amp)
            best = max(best, len(x) / (time.perf_counter() - start))
    return logits.argmax(dim=1).cpu().numpy(), best


def compare(model: ResNet1d, x: torch.Tensor, args: argparse.Namespace,
            labels: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Every way on the same inputs: rate, ratio to fp32, share differing from fp32, accuracy (with labels)."""
    out = {way: predictions(model, x, way, args.batch_size, args.repeats) for way in WAYS}
    reference, fp32_rate = out["fp32"]
    rows = {}
    for way, (pred, rate) in out.items():
        rows[way] = {"rate": rate, "ratio": rate / fp32_rate, "differ": float(np.mean(pred != reference))}
        line = (f"  {way:16s} {rate:9,.0f} trajectories/s ({rows[way]['ratio']:.2f}x fp32); "
                f"predicted class differs from fp32's for {100 * rows[way]['differ']:6.3f} %")
        if labels is not None:
            rows[way]["accuracy"] = float(np.mean(pred == labels))
            line += f"; test accuracy {100 * rows[way]['accuracy']:.3f} %"
        print(line, flush=True)
    return rows


def increment_rounding(x: np.ndarray, labels: np.ndarray) -> str:
    """Median over trajectories of std(rounding error of the increments) / std(increments), bf16 input cast."""
    rounded = torch.from_numpy(x).bfloat16().float().numpy()
    ratio = np.diff(rounded - x, axis=2).std(axis=(1, 2)) / np.diff(x, axis=2).std(axis=(1, 2))  # (N,)
    per_class = ", ".join(f"{name} {np.median(ratio[labels == k]):.3f}" for k, name in enumerate(CLASS_NAMES)
                          if (labels == k).any())
    return f"bf16 rounding of the input / increment std: median {np.median(ratio):.3f} ({per_class})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=4096, help="random-walk trajectories (without --model)")
    p.add_argument("--width", type=int, nargs="+", default=[16, 64], help="one or more widths (without --model)")
    p.add_argument("--depth", type=int, nargs="+", default=[10, 18], choices=[10, 18, 34],
                   help="one or more depths (without --model)")
    p.add_argument("--model", help="a trained model (.pt) instead of fresh networks; needs --data")
    p.add_argument("--data", nargs="+", help="test shard(s) (.h5) for --model")
    p.add_argument("--sigmas", type=float, nargs="+", default=[0.0], help="noise levels (with --model)")
    p.add_argument("--subset", type=int, default=0, help="every k-th test trajectory only (0: all)")
    p.add_argument("--batch-size", type=int, default=512, help="inference batch size (the workflow's)")
    p.add_argument("--repeats", type=int, default=1, help="timed passes per way; the best counts")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0, help="random walks, initial weights, noise draws")
    args = p.parse_args()
    if (args.model is None) != (args.data is None):
        p.error("--model and --data go together")

    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    native, why = resolve_amp(device, True)
    print(f"device {device}, threads {args.threads}, batch {args.batch_size}; "
          f"{why if native else 'bf16 emulated here: ' + why}", flush=True)
    if args.model is not None:
        data = read_many(args.data)
        if args.subset > 1:
            data = data.subset(np.arange(0, len(data), args.subset))
        labels = data.labels.astype(np.int64)
        model = load_model(args.model, device)
        print(f"model {args.model} on {len(data)} test trajectories", flush=True)
        for sigma in args.sigmas:
            x = noisy_inputs(data, sigma, noise_seed(args.seed, sigma))  # (N, 2, 1000)
            print(f"sigma {sigma:g}: {increment_rounding(x, labels)}", flush=True)
            compare(model, torch.from_numpy(x), args, labels)
        return 0
    traj, lengths, _ = fake_trajectories(args.n, args.seed)
    x = torch.from_numpy(to_model_input(traj, lengths))
    table = []
    for depth in args.depth:
        for width in args.width:
            torch.manual_seed(args.seed)
            print(f"depth {depth} width {width}, {args.n} random walks:", flush=True)
            table.append((depth, width, compare(build_model(depth, width).to(device), x, args)))
    print("| depth | width | " + " | ".join(f"{w} trajectories/s" for w in WAYS) + " | bf16 / fp32 | "
          "bf16 with fp32 stem / fp32 |")
    print("|---|---|---|---|---|---|---|")
    for depth, width, r in table:
        print(f"| {depth} | {width} | " + " | ".join(f"{r[w]['rate']:,.0f}" for w in WAYS)
              + f" | {r['bf16']['ratio']:.2f} | {r['bf16, fp32 stem']['ratio']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

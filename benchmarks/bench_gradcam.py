"""Throughput of single-pass all-stage Grad-CAM against captum's LayerGradCam run once per stage.

Same model, same data, same batches; both are timed after one warm-up batch.
Run: ``python benchmarks/bench_gradcam.py --width 8 --depth 10 --n 512``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from andicam.device import resolve_device  # noqa: E402
from andicam.gradcam import gradcam_all_stages  # noqa: E402
from andicam.model import STAGES, build_model  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ours(model: torch.nn.Module, x: torch.Tensor, t: torch.Tensor, batch_size: int, device: torch.device) -> float:
    gradcam_all_stages(model, x[:batch_size], t[:batch_size], batch_size=batch_size)  # warm-up
    _sync(device)
    start = time.perf_counter()
    gradcam_all_stages(model, x, t, batch_size=batch_size)
    _sync(device)
    return time.perf_counter() - start


def time_captum(model: torch.nn.Module, x: torch.Tensor, t: torch.Tensor, batch_size: int,
                device: torch.device) -> float:
    from captum.attr import LayerGradCam

    explainers = [LayerGradCam(model, getattr(model, s)) for s in STAGES]

    def one_pass(xs: torch.Tensor, ts: torch.Tensor) -> None:
        for start in range(0, xs.shape[0], batch_size):
            xb = xs[start : start + batch_size].to(device)
            tb = ts[start : start + batch_size].to(device)
            for e in explainers:
                e.attribute(xb, target=tb, relu_attributions=False).cpu()

    one_pass(x[:batch_size], t[:batch_size])  # warm-up
    _sync(device)
    start = time.perf_counter()
    one_pass(x, t)
    _sync(device)
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, default=10)
    p.add_argument("--width", type=int, default=8)
    p.add_argument("--n", type=int, default=512, help="number of inputs (2 x 1000)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    model = build_model(args.depth, args.width).to(device).eval()
    x = torch.rand(args.n, 2, 1000)
    t = torch.randint(0, 8, (args.n,))
    ours = time_ours(model, x, t, args.batch_size, device)
    theirs = time_captum(model, x, t, args.batch_size, device)
    print(f"model depth {args.depth} width {args.width}, {args.n} inputs, batch {args.batch_size}, "
          f"{args.threads} thread(s), {device}")
    print(f"andicam single pass, 4 stages: {args.n / ours:10.1f} samples/s")
    print(f"captum LayerGradCam x 4 stages: {args.n / theirs:10.1f} samples/s")
    print(f"speed-up: {theirs / ours:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

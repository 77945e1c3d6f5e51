"""``andicam gradcam``: Grad-CAM of every stage of a model on trajectory shards, to one HDF5 file."""

from __future__ import annotations

import argparse
import time

from andicam.errors import UserInputError
from andicam.dataio import read_many
from andicam.commands import add_device_arguments, prepare_device
from andicam.gradcam import TARGET_MODES, compute_gradcam, model_input, write_gradcam
from andicam.model import STAGES, load_model, require_paper_classes

HELP = "Grad-CAM maps of all four stages (one forward and one backward pass per batch) to an HDF5 file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model file written by train")
    p.add_argument("--data", required=True, nargs="+", help="trajectory shard(s), read in the given order")
    p.add_argument("--out", required=True, help="output .h5 file")
    p.add_argument("--target", choices=TARGET_MODES, default="true",
                   help="class whose logit is differentiated: the true label (paper) or the prediction")
    p.add_argument("--relu", action="store_true", help="clip maps at 0 (the paper keeps the sign)")
    add_device_arguments(p, batch_size=256)


def run(args: argparse.Namespace) -> int:
    if not args.out.endswith(".h5"):
        raise UserInputError(f"--out must end in .h5, got {args.out}")
    device = prepare_device(args)
    model = load_model(args.model, device)
    require_paper_classes(model, args.model)
    data = read_many(args.data)
    start = time.perf_counter()
    result = compute_gradcam(model, model_input(data), data.labels, args.target, STAGES, args.relu, args.batch_size)
    seconds = time.perf_counter() - start
    write_gradcam(args.out, result.maps, data.labels, result.targets, result.predictions, {
        "model": args.model, "data": list(args.data), "target": args.target, "relu": bool(args.relu),
        "device": str(device),
    }, result.log_probabilities)
    acc = float((result.predictions == data.labels).mean())
    print(f"Grad-CAM of {len(data)} trajectories, stages {', '.join(STAGES)}, target {args.target}, on {device}"
          f" in {seconds:.1f} s = {len(data) / seconds:.0f}/s; accuracy {acc:.4f} -> {args.out}")
    return 0

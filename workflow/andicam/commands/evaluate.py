"""``andicam evaluate``: predictions and classification metrics of a model on trajectory files."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


from andicam.errors import UserInputError
from andicam.dataio import read_many
from andicam.commands import add_device_arguments, prepare_device
from andicam.device import cuda_fp32_math
from andicam.evaluate import classification_metrics, predict_proba, predictions_frame
from andicam.files import write_csv, write_json
from andicam.model import check_model_classes, load_model

HELP = "predict trajectory files with a trained model; write the predictions table and the metrics"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model file (.pt) written by 'andicam train'")
    p.add_argument("--data", nargs="+", required=True, help="test shard(s) (.h5), concatenated in order")
    p.add_argument("--out-predictions", required=True, help="one row per trajectory (.csv)")
    p.add_argument("--out-metrics", required=True, help="accuracy, macro-F1, per-class scores, confusion (.json)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=False,
                   help="bf16 autocast on CUDA (off: metrics in full precision)")
    add_device_arguments(p, batch_size=512, batch_help="inference batch size")


def run(args: argparse.Namespace) -> int:
    if not Path(args.model).is_file():
        raise UserInputError(f"--model {args.model}: no such file")
    device = prepare_device(args)
    model = load_model(args.model, device)
    data = read_many(args.data)
    class_names = check_model_classes(model, data.class_names, f"{args.model} on {', '.join(args.data)}")
    amp = args.amp and device.type == "cuda"  # bf16 only when asked, on CUDA
    start = time.perf_counter()
    probs = predict_proba(model, data, batch_size=args.batch_size, amp=amp)  # (N, C)
    seconds = time.perf_counter() - start
    frame = predictions_frame(data, probs, class_names)
    metrics = classification_metrics(data.labels, frame["predicted"].to_numpy(), class_names)
    meta = model.meta
    metrics["model"] = {"path": args.model, "depth": model.cfg.depth, "width": model.cfg.width,
                        "seed": meta.get("seed"), "tags": meta.get("tags", {}), "best_epoch": meta.get("best_epoch")}
    metrics["data"] = list(args.data)
    # How the numbers were computed; fp32 is IEEE on a card too (andicam.device).
    metrics["used"] = {"device": str(device), "amp": amp, "fp32_math": cuda_fp32_math() if device.type == "cuda"
                       else "ieee"}
    write_csv(args.out_predictions, frame)
    write_json(args.out_metrics, metrics)
    print(f"{len(data)} trajectories in {seconds:.1f} s ({len(data) / seconds:.0f}/s) on {device}: "
          f"accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} -> {args.out_metrics}")
    return 0

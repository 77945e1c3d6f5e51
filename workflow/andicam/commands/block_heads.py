"""``andicam block-heads``: linear heads on the frozen model cut after layer1/2/3, and their Grad-CAM."""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from andicam.blocks import (CUTS, HeadConfig, accuracy_table, evaluate_heads, features_from_files, group_map,
                            group_names, save_heads, train_heads)
from andicam.errors import UserInputError
from andicam.device import resolve_device
from andicam.files import write_csv
from andicam.gradcam import write_gradcam
from andicam.model import load_model, require_paper_classes

HELP = "Linear heads on merged labels after layer1/2/3 of a frozen model (all data; group-balanced); Grad-CAM"


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = HeadConfig()
    p.add_argument("--model", required=True, help="model file written by train (frozen)")
    p.add_argument("--train", required=True, nargs="+", help="shard(s) the heads are trained on")
    p.add_argument("--eval", required=True, nargs="+", help="shard(s) for accuracy and Grad-CAM")
    p.add_argument("--cuts", nargs="+", choices=CUTS, default=list(CUTS), help="stages after which to cut")
    p.add_argument("--out-heads", required=True, help="head weights (.pt)")
    p.add_argument("--out-accuracy", required=True, help="accuracy per head (.csv)")
    p.add_argument("--out-gradcam", required=True, nargs="+",
                   help="one Grad-CAM file (.h5) per cut, in the order of --cuts")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="head training batch")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate of the heads")
    p.add_argument("--seed", type=int, required=True, help="the workflow's master seed")
    p.add_argument("--feature-batch-size", type=int, default=256, help="batch of the frozen forward passes")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto and cuda take a card no other andicam job holds)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")


def run(args: argparse.Namespace) -> int:
    if len(args.out_gradcam) != len(args.cuts):
        raise UserInputError(f"--out-gradcam needs one file per cut ({len(args.cuts)}), got {len(args.out_gradcam)}")
    if any(not p.endswith(".h5") for p in args.out_gradcam):
        raise UserInputError("--out-gradcam files must end in .h5")
    if args.feature_batch_size < 1:
        raise UserInputError(f"--feature-batch-size must be positive, got {args.feature_batch_size}")
    try:
        cfg = HeadConfig(args.epochs, args.batch_size, args.lr, args.seed)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    model = load_model(args.model, device)
    require_paper_classes(model, args.model)
    start = time.perf_counter()
    feats, labels = features_from_files(model, args.train, args.cuts, args.feature_batch_size)
    heads, losses = train_heads(feats, labels, cfg, args.seed)
    balanced, balanced_losses = train_heads(feats, labels, cfg, args.seed, balance="undersample")
    eval_labels, outputs, balanced_preds = evaluate_heads(model, heads, args.eval, args.feature_batch_size,
                                                          also=balanced)
    table = pd.concat([
        accuracy_table(heads, feats, labels, eval_labels, {c: p for c, (_, p) in outputs.items()}, losses),
        accuracy_table(balanced, feats, labels, eval_labels, balanced_preds, balanced_losses, "undersample",
                       args.seed),
    ], ignore_index=True)
    meta = {"model": args.model, "train": list(args.train), "eval": list(args.eval), "epochs": cfg.epochs,
            "batch_size": cfg.batch_size, "lr": cfg.lr, "master_seed": args.seed}
    save_heads(args.out_heads, heads, meta)
    write_csv(args.out_accuracy, table)
    for cut, path in zip(args.cuts, args.out_gradcam):
        maps, preds = outputs[cut]
        write_gradcam(path, {cut: maps}, eval_labels, group_map(cut)[eval_labels], preds, {
            "model": args.model, "data": list(args.eval), "target": "true", "relu": False,
            "head": cut, "groups": group_names(cut), "heads": args.out_heads,
        })
    acc = ", ".join(f"{r.cut} {100 * r.eval_accuracy:.1f} % ({r.balance})" for r in table.itertuples())
    print(f"block heads on {len(labels)} training / {len(eval_labels)} evaluation trajectories in "
          f"{time.perf_counter() - start:.1f} s on {device}: {acc} -> {args.out_accuracy}")
    return 0

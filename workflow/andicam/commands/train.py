"""``andicam train``: train one classifier on andicam trajectory files (METHODS §2)."""

from __future__ import annotations

import argparse
import time
from dataclasses import fields

from andicam.commands import require_positive
from andicam.dataio import common_class_names, subset_index
from andicam.errors import UserInputError
from andicam.scaling import first_per_class
from andicam.seeding import derive_seed
from andicam.train import SCHEDULES, TrainConfig, load_model_inputs, load_padded_inputs, train, write_outputs

HELP = "train a ResNet classifier on trajectory files; resumes from --checkpoint after an interruption"


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--train", nargs="+", required=True, help="training shard(s) (.h5), concatenated in order")
    p.add_argument("--val", nargs="+", required=True, help="validation shard(s) (.h5)")
    p.add_argument("--out-model", required=True, help="model file (.pt)")
    p.add_argument("--out-metrics", required=True, help="training metrics (.json)")
    p.add_argument("--out-history", required=True, help="per-epoch losses and accuracies (.csv)")
    p.add_argument("--checkpoint", required=True,
                   help="resumable state, rewritten after every epoch and deleted at the end; keep it outside "
                        "the workflow's outputs so an interrupted job resumes instead of starting over")
    p.add_argument("--seed", type=int, default=0,
                   help="training replicate; weights and batch order come from derive_seed(master seed, 'train', seed)")
    p.add_argument("--master-seed", type=int, default=0, help="the workflow's master seed")
    p.add_argument("--tag", type=_tag, action="append", default=[], metavar="KEY=VALUE",
                   help="metadata recorded with the model and its metrics, e.g. regime=variable (repeatable)")
    p.add_argument("--depth", type=int, default=d.depth, choices=[10, 18, 34])
    p.add_argument("--width", type=int, default=d.width, help="channels of layer1 (paper: 64)")
    p.add_argument("--epochs", type=int, default=d.epochs, help="maximum number of epochs")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate at batch-size")
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    p.add_argument("--warmup", type=float, default=d.warmup,
                   help="cosine schedule only: share of its steps spent raising the lr linearly from 0 first")
    p.add_argument("--step-size", type=int, default=d.step_size, help="epochs between lr drops (step schedule)")
    p.add_argument("--gamma", type=float, default=d.gamma, help="lr factor per drop (step schedule)")
    p.add_argument("--patience", type=int, default=d.patience, help="early-stopping patience in epochs")
    p.add_argument("--min-delta", type=float, default=d.min_delta, help="smallest val-loss decrease that counts")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--device", default=d.device, help="auto, cpu, cuda or cuda:N (auto and cuda take a card no other andicam job holds)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=d.amp,
                   help="bf16 autocast where bf16 is native (CUDA, a CPU with AVX512-BF16 or AMX); --no-amp: fp32")
    p.add_argument("--fp32-stem", action=argparse.BooleanOptionalAction, default=d.fp32_stem,
                   help="keep the first convolution in fp32 under bf16 autocast: the input positions are not "
                        "rounded to bf16 (config train.fp32_stem)")
    p.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=d.tf32,
                   help="CUDA only: fp32 convolutions and matrix products as TF32 (10 mantissa bits, faster on "
                        "Ampere and later); default IEEE fp32 (config train.tf32)")
    p.add_argument("--gpu-batch-size", type=int, default=d.gpu_batch_size,
                   help="batch size on CUDA, lr scaled by gpu-batch-size / batch-size (default: batch-size)")
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    p.add_argument("--bn-recalibration", type=int, default=d.bn_recalibration, metavar="N",
                   help="recompute the BatchNorm running statistics on N training inputs after every epoch, before "
                        "validation (0: off; config train.bn_recalibration)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=d.compile,
                   help="torch.compile the network; compiling takes part of the first epoch (config train.compile)")
    p.add_argument("--max-val", type=int, default=None, metavar="N",
                   help="validate on a seeded random subset of N of the validation trajectories (default: all); "
                        "validation only picks the epoch that is kept")
    p.add_argument("--per-class", type=int, default=None, metavar="N",
                   help="train on the first N trajectories of each class of the training files only (the scaling "
                        "study's training sizes; a smaller N is a subset of a larger one)")
    robust = p.add_argument_group("robust training", "fresh localisation noise for every training trajectory at "
                                  "every epoch (sigma in units of the step std; 1 = signal-to-noise ratio 1)")
    robust.add_argument("--noise-min", type=float, default=d.noise_min, help="lowest noise sigma drawn")
    robust.add_argument("--noise-max", type=float, default=d.noise_max,
                        help="highest noise sigma drawn (0 with --no-rotate: the paper's noiseless training)")
    robust.add_argument("--noise-clean", type=float, default=d.noise_clean,
                        help="share of training trajectories given no noise at each epoch")
    robust.add_argument("--rotate", action=argparse.BooleanOptionalAction, default=d.rotate,
                        help="also rotate every training trajectory by a fresh uniform angle")


def run(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise UserInputError(f"--seed must be >= 0, got {args.seed}")
    require_positive(args, "per_class", "max_val")
    torch_seed = derive_seed(args.master_seed, "train", args.seed)
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if f.name != "seed"}
    try:
        cfg = TrainConfig(**values, seed=torch_seed)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    class_names = common_class_names(args.train)
    val_names = common_class_names(args.val)
    if val_names != class_names:
        raise UserInputError(f"the validation files' classes [{', '.join(val_names)}] differ from the training "
                             f"files' [{', '.join(class_names)}]; both need one class set")
    start = time.perf_counter()
    lengths: dict[str, object] = {}
    if cfg.noise.active:  # noised and scaled per batch: load the padded trajectories and their lengths
        train_x, lengths["train_lengths"], train_y = load_padded_inputs(args.train)
        val_x, lengths["val_lengths"], val_y = load_padded_inputs(args.val)
    else:
        train_x, train_y = load_model_inputs(args.train)
        val_x, val_y = load_model_inputs(args.val)
    if args.per_class is not None:
        try:
            keep = first_per_class(train_y, args.per_class, len(class_names))
        except ValueError as exc:
            raise UserInputError(f"--per-class {args.per_class}: {exc} in the training files") from None
        train_x, train_y = train_x[keep], train_y[keep]
        if "train_lengths" in lengths:
            lengths["train_lengths"] = lengths["train_lengths"][keep]
    n_val = len(val_y)
    keep = subset_index(n_val, args.max_val, derive_seed(args.master_seed, "validation", "subset"))
    if len(keep) < n_val:
        val_x, val_y = val_x[keep], val_y[keep]
        if "val_lengths" in lengths:
            lengths["val_lengths"] = lengths["val_lengths"][keep]
    print(f"loaded and preprocessed {len(train_y)} training and {len(val_y)} validation trajectories "
          f"{f'(a seeded subset of {n_val}) ' if len(val_y) < n_val else ''}"
          f"in {time.perf_counter() - start:.1f} s", flush=True)
    result = train(train_x, train_y, val_x, val_y, cfg, args.checkpoint, log=lambda line: print(line, flush=True),
                   num_classes=len(class_names), **lengths)
    meta = {"tags": dict(args.tag), "seed": args.seed, "master_seed": args.master_seed, "torch_seed": torch_seed,
            "depth": args.depth, "width": args.width, "data": {"train": list(args.train), "val": list(args.val)}}
    write_outputs(result, args.out_model, args.out_metrics, args.out_history, args.checkpoint, meta, class_names)
    print(f"wrote {args.out_model}, {args.out_metrics}, {args.out_history}", flush=True)
    return 0

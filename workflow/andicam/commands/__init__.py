"""Command-line subcommands, one module each (see ``andicam.cli``), and the options and checks they share.

Nothing here imports torch at import time: ``andicam.cli`` imports this package to list the commands, and a
command that needs no network must not pay for torch.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from andicam.errors import UserInputError

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from andicam.dataio import Trajectories


def add_device_arguments(parser: argparse.ArgumentParser, batch_size: int,
                         batch_help: str = "inputs per forward pass") -> None:
    """The options every command that runs the network shares: --device, --batch-size, --threads."""
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto and cuda take a card no other andicam job holds)")
    parser.add_argument("--batch-size", type=int, default=batch_size, help=batch_help)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")


def require_positive(args: argparse.Namespace, *names: str) -> None:
    """One line of error for the first option of ``names`` (attribute names) that is set and below 1; an option
    left at None (meaning "all" or "off") passes."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserInputError(f"--{name.replace('_', '-')} must be positive, got {value}")


def prepare_device(args: argparse.Namespace) -> "torch.device":
    """Check --batch-size and --threads, set the threads, and resolve --device (user errors are one line)."""
    import torch

    from andicam.device import resolve_device

    require_positive(args, "batch_size", "threads")
    torch.set_num_threads(args.threads)
    return resolve_device(args.device)


def add_noise_eval_arguments(parser: argparse.ArgumentParser, label: str, choices: Sequence[str],
                             out_help: str) -> None:
    """The options of the commands that score models at noise levels (``noise-eval``, ``robust-eval``);
    ``label`` names the option (``arms``, ``kinds``) that says what each model is."""
    parser.add_argument("--models", nargs="+", required=True, help="model files (.pt)")
    parser.add_argument(f"--{label}", nargs="+", required=True, choices=choices,
                        help=f"{label[:-1]} of each model, in the order of --models")
    parser.add_argument("--seeds", nargs="+", required=True, type=int,
                        help=f"training seed of each model, in the order of --models (pairs the {label})")
    parser.add_argument("--data", nargs="+", required=True, help="test shard(s) (.h5), concatenated in order")
    parser.add_argument("--sigmas", nargs="+", required=True, type=float, help="noise levels (std of the noise)")
    parser.add_argument("--seed", required=True, type=int,
                        help="master seed; the noise of level s comes from derive_seed(seed, 'noise', s)")
    parser.add_argument("--out", required=True, help=out_help)
    add_amp_argument(parser)
    add_device_arguments(parser, batch_size=512, batch_help="inference batch size")


def add_amp_argument(parser: argparse.ArgumentParser) -> None:
    """--amp/--no-amp of the commands that only predict (noise evaluations, erasing)."""
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=False,
                        help="bf16 autocast where bf16 is native (CUDA; a CPU with AVX512-BF16 or AMX), the first "
                        "convolution in fp32; elsewhere fp32 either way")


def run_noise_eval(args: argparse.Namespace, label: str,
                   evaluate: Callable[["Trajectories", "torch.device", bool], "pd.DataFrame"],
                   max_trajectories: int | None = None) -> int:
    """The run of the commands that score models at noise levels, one path for both: check the inputs,
    read the test data (a seeded subset of ``max_trajectories`` of it, the same for every model, if given),
    ``evaluate(data, device, amp)`` (a table of ``andicam.noise.evaluate_at_noise``), write it; ``amp`` is
    --amp where bf16 is native (andicam.device.resolve_amp)."""
    from andicam.dataio import read_many, subset_index
    from andicam.seeding import derive_seed
    from andicam.device import resolve_amp
    from andicam.files import write_csv

    check_noise_eval_inputs(args.models, {label: getattr(args, label), "seeds": args.seeds}, args.sigmas)
    device = prepare_device(args)
    amp, why = resolve_amp(device, args.amp)
    data = read_many(args.data)
    total = len(data)
    data = data.subset(subset_index(total, max_trajectories, derive_seed(args.seed, "noise-eval", "subset")))
    start = time.perf_counter()
    try:
        frame = evaluate(data, device, amp)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    write_csv(args.out, frame)
    print(f"{len(args.models)} models x {len(args.sigmas)} levels on {len(data)} trajectories "
          f"{f'(a seeded subset of {total}) ' if len(data) < total else ''}"
          f"in {time.perf_counter() - start:.1f} s ({why}{', first convolution fp32' if amp else ''}) -> {args.out}")
    return 0


def check_noise_eval_inputs(models: list[str], per_model: dict[str, list], sigmas: list[float]) -> None:
    """The checks of the commands that score models at noise levels: one entry per model in every option of
    ``per_model`` (name -> values), model files present, noise levels distinct, finite and >= 0."""
    counts = [len(models)] + [len(v) for v in per_model.values()]
    if len(set(counts)) != 1:
        names = ", ".join(f"--{name}" for name in ("models", *per_model))
        raise UserInputError(f"{names} need one entry per model; got {', '.join(map(str, counts))}")
    missing = [m for m in models if not Path(m).is_file()]
    if missing:
        raise UserInputError(f"model file(s) not found: {', '.join(missing)}")
    if not all(math.isfinite(s) and s >= 0 for s in sigmas) or len(set(sigmas)) != len(sigmas):
        raise UserInputError(f"--sigmas must be distinct, finite and >= 0, got {sigmas}")

"""``andicam ship-model``: copy a trained model into the package's shipped models, with its manifest."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from andicam.commands import add_device_arguments, prepare_device
from andicam.shipped import TASKS, TEST_SIGMAS, ShipRequest, portable, ship_model

HELP = ("ship a trained model with the package (trained_models/NAME/: the model and a manifest of its provenance, "
        "test accuracy and check set), all of it or nothing")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model file written by train (results/.../model.pt)")
    p.add_argument("--name", required=True, help="name of the shipped model, e.g. robust-variable")
    p.add_argument("--config", nargs="+", required=True,
                   help="the config that trained it: config.yaml then the preset(s), merged in order, "
                        "or one merged file")
    p.add_argument("--preset", required=True, help="name of the preset of that run (recorded)")
    p.add_argument("--test", nargs="+", required=True, help="test shard(s) (.h5) of the model's regime")
    p.add_argument("--rebuild", required=True, help="the command that trains the model again, e.g. 'snakemake ...'")
    p.add_argument("--task", choices=tuple(TASKS), default=None, help="default: from the model's number of classes")
    p.add_argument("--test-sigmas", nargs="+", type=float, default=list(TEST_SIGMAS),
                   help="noise levels of the test accuracy")
    check = p.add_argument_group("check set",
                                 "a small seeded simulated test set that the tests regenerate and re-score")
    check.add_argument("--check-generator", default=None, help="check-set generator (default: the task's)")
    check.add_argument("--check-n", type=int, default=100, help="trajectories per class")
    check.add_argument("--check-seed", type=int, default=0)
    check.add_argument("--check-sigmas", nargs="+", type=float, default=[0.0, 0.5], help="noise levels")
    p.add_argument("--replace", action="store_true", help="ship over a model already shipped under NAME")
    p.add_argument("--dir", default=None, help="folder of shipped models (default: the package's trained_models)")
    add_device_arguments(p, batch_size=512, batch_help="inference batch size")


def run(args: argparse.Namespace) -> int:
    device = prepare_device(args)
    req = ShipRequest(
        model=portable(args.model), name=args.name, config=tuple(map(portable, args.config)), preset=args.preset,
        test=tuple(map(portable, args.test)), rebuild=args.rebuild, task=args.task,
        check_generator=args.check_generator, check_n=args.check_n, check_seed=args.check_seed,
        check_sigmas=tuple(args.check_sigmas), test_sigmas=tuple(args.test_sigmas))
    start = time.perf_counter()
    shipped = ship_model(req, None if args.dir is None else Path(args.dir), args.replace, device, args.batch_size)
    check = ", ".join(f"sigma {r['sigma']:g}: {r['accuracy']:.3f}" for r in shipped.manifest["check"]["accuracy"])
    print(f"andicam ship-model: {shipped.name} ({shipped.manifest['kind']} {shipped.task}, "
          f"sha256 {shipped.manifest['sha256'][:12]}) in {time.perf_counter() - start:.0f} s; check set {check} "
          f"-> {shipped.folder}", file=sys.stderr)
    return 0

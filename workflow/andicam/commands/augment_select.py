"""``andicam augment-select``: one augmented training set of the retraining experiment (METHODS §4)."""

from __future__ import annotations

import argparse

import numpy as np

from andicam.augment import ARM_LAYER, ARMS, DRAWS, augmented_set, check_cam_matches, read_cam
from andicam.errors import UserInputError
from andicam.dataio import CLASS_NAMES, read_trajectories, write_trajectories

HELP = "Keep the top p % of a training shard by Grad-CAM (or as many at random), add a rotated copy of each."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="training shard (.h5) the Grad-CAM was computed on")
    parser.add_argument("--gradcam", required=True,
                        help="Grad-CAM file of that shard (the maps, or the log-probabilities, the arm ranks by)")
    parser.add_argument("--arm", required=True, choices=ARMS,
                        help="targeted: top p %% by time-mean layer4 Grad-CAM; random: the whole class; "
                        "targeted_layer3: top p %% by time-mean layer3 map; targeted_peak: top p %% by the layer4 "
                        "map's maximum over time; most_probable: top p %% by the softmax probability of the true "
                        "class (the Grad-CAM file's log-probabilities); least_confident: bottom p %% by time-mean "
                        "layer4 map")
    parser.add_argument("--percent", required=True, type=float, help="p in (0, 100]: share kept per class")
    parser.add_argument("--draw", choices=DRAWS, default="without_replacement",
                        help="with_replacement: --size-per-class draws per class from the top p %% (targeted) "
                        "or the whole class (random), set-up F; without_replacement: keep p %% per class; notebooks: "
                        "set-up V, the top p %% once against as many drawn with replacement")
    parser.add_argument("--size-per-class", type=int, default=None,
                        help="draws per class (draw with_replacement only)")
    parser.add_argument("--seed", required=True, type=int, help="seed of this set (random draw and rotation angles)")
    parser.add_argument("--out", required=True, help="augmented set (.h5)")


def run(args: argparse.Namespace) -> int:
    if not 0 < args.percent <= 100:
        raise UserInputError(f"--percent must lie in (0, 100], got {args.percent}")
    if (args.draw == "with_replacement") != (args.size_per_class is not None):
        raise UserInputError("--size-per-class is required by --draw with_replacement and used by no other draw")
    if args.size_per_class is not None and args.size_per_class < 1:
        raise UserInputError(f"--size-per-class must be positive, got {args.size_per_class}")
    data = read_trajectories(args.data)
    cam, cam_labels = read_cam(args.gradcam, ARM_LAYER[args.arm])
    check_cam_matches(cam_labels, data, args.gradcam, args.data)
    out = augmented_set(data, cam, args.arm, args.percent, args.seed,
                        {"source": str(args.data), "gradcam": str(args.gradcam)}, args.draw, args.size_per_class)
    write_trajectories(args.out, out)
    per_class = np.bincount(out.labels, minlength=len(CLASS_NAMES)) // 2
    print(f"{args.arm} p={args.percent:g}% ({args.draw}): kept {len(out) // 2} of {len(data)} "
          f"({', '.join(f'{n}:{k}' for n, k in zip(CLASS_NAMES, per_class))}), wrote {len(out)} to {args.out}")
    return 0

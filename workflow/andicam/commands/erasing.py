"""``andicam erasing``: accuracy after erasing Grad-CAM percentile bins, with random controls."""

from __future__ import annotations

import argparse
import time

import numpy as np

from andicam.errors import UserInputError
from andicam.dataio import LENGTH_EDGES, read_many, subset_index
from andicam.commands import add_amp_argument, add_device_arguments, prepare_device, require_positive
from andicam.erasing import CONTROLS, by_length_table, erasing_table, valid_positions
from andicam.erasing_tables import FILLS
from andicam.files import atomic_output, write_csv
from andicam.gradcam import model_input, read_gradcams
from andicam.model import STAGES, require_paper_classes
from andicam.noise import inference_model
from andicam.seeding import derive_seed

HELP = "erase input segments by percentile bin of each trajectory's Grad-CAM; accuracy vs random controls (CSV)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model file written by train")
    p.add_argument("--data", required=True, nargs="+", help="trajectory shard(s), in the order given to gradcam")
    p.add_argument("--gradcam", required=True, nargs="+", help="Grad-CAM file(s) of that model on those shards")
    p.add_argument("--out", required=True, help="output CSV")
    p.add_argument("--correctness", default=None,
                   help="also write per-trajectory correctness (labels, gradcam (N, bins), each control "
                        "(seeds, N, bins), int8) to this .npz, for intervals over trajectories")
    p.add_argument("--by-length", default=None,
                   help="also write the curves of all classes per trajectory-length bin to this CSV")
    p.add_argument("--length-edges", type=int, nargs="+", default=list(LENGTH_EDGES),
                   help="edges of the length bins of --by-length (left-closed, the last bin closed)")
    p.add_argument("--stage", choices=STAGES, default="layer4", help="stage whose map picks the segments")
    p.add_argument("--bins", type=int, default=10, help="number of percentile bins")
    p.add_argument("--seeds", type=int, default=5, help="seeds per random control")
    p.add_argument("--controls", nargs="+", choices=CONTROLS, default=list(CONTROLS))
    p.add_argument("--master-seed", type=int, required=True)
    p.add_argument("--include-padding", action="store_true",
                   help="rank and erase the positions of the left zero-padding too (the paper's code); "
                        "by default only positions that cover real steps of a trajectory take part")
    p.add_argument("--fill", choices=FILLS, default="zero",
                   help="what an erased segment becomes in min-max space: 0 (the paper), the last position "
                        "before it held, or a Brownian bridge between its neighbours with the trajectory's step std; "
                        "the table gets a fill column unless zero (zero tables stay as before fills existed)")
    p.add_argument("--regime", choices=("fixed", "variable"), default=None,
                   help="name the model's regime in a first column 'regime' (for runs beside the main one; "
                        "the main run's tables carry no such column, as before regimes could be compared)")
    p.add_argument("--max-trajectories", type=int, default=None,
                   help="seeded random subset of this size (default: all)")
    add_amp_argument(p)
    add_device_arguments(p, batch_size=256, batch_help="inputs per forward pass")


def run(args: argparse.Namespace) -> int:
    require_positive(args, "bins", "seeds", "batch_size", "max_trajectories")
    if len(args.length_edges) < 2 or any(b <= a for a, b in zip(args.length_edges, args.length_edges[1:])):
        raise UserInputError(f"--length-edges must be at least two increasing lengths, got {args.length_edges}")
    from andicam.device import resolve_amp

    device = prepare_device(args)
    amp, why = resolve_amp(device, args.amp)
    model = inference_model(args.model, device, amp)
    require_paper_classes(model, args.model)
    data = read_many(args.data)
    arrays, attrs = read_gradcams(args.gradcam)
    where = ", ".join(args.gradcam)
    if args.stage not in arrays:
        raise UserInputError(f"{where}: holds no map of stage {args.stage}")
    if len(arrays["labels"]) != len(data) or not np.array_equal(arrays["labels"], data.labels):
        raise UserInputError(f"{where}: labels do not match the data {', '.join(args.data)}; "
                             "was Grad-CAM computed on other shards or in another order?")
    index = subset_index(len(data), args.max_trajectories, derive_seed(args.master_seed, "erasing", "subset"))
    data = data.subset(index)
    start = time.perf_counter()
    maps = arrays[args.stage][index]
    valid = None if args.include_padding else valid_positions(data.lengths, maps.shape[1])
    correctness: dict[str, np.ndarray] = {}
    table = erasing_table(model, model_input(data), data.labels, maps, args.master_seed,
                          args.seeds, args.bins, args.controls, args.batch_size, valid, correctness,
                          args.fill, data.lengths, index, amp)
    table.insert(0, "stage", args.stage)
    table.insert(1, "positions", "all" if args.include_padding else "trajectory")
    if args.fill != "zero":
        table.insert(2, "fill", args.fill)
    if args.regime is not None:
        table.insert(0, "regime", args.regime)
    write_csv(args.out, table)
    if args.by_length:
        by_length = by_length_table(correctness, data.lengths, args.length_edges)
        for i, column in enumerate(table.columns[: table.columns.get_loc("bin")]):  # [regime,] stage, positions[, fill]
            by_length.insert(i, column, table[column].iloc[0])
        write_csv(args.by_length, by_length)
    if args.correctness:
        # The file keeps what it held before the no-erasing column existed: Grad-CAM and the controls.
        kept = {k: v for k, v in correctness.items() if k != "none"}
        with atomic_output(args.correctness) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, labels=np.asarray(data.labels, dtype=np.int8), **kept)
    overall = table[table["class"] == "all"].groupby("method")["accuracy"].mean()
    print(f"erasing on {len(data)} trajectories ({args.stage}, {args.fill} fill, target {attrs[0].get('target')}) in "
          f"{time.perf_counter() - start:.1f} s ({why}{', first convolution fp32' if amp else ''}); "
          "mean accuracy over bins: "
          + ", ".join(f"{m} {a:.3f}" for m, a in overall.items()) + f" -> {args.out}")
    return 0

"""``andicam layer-response``: response of every stage's positions to unit impulses at every input step."""

from __future__ import annotations

import argparse

from andicam.errors import UserInputError
from andicam.commands import add_device_arguments, prepare_device
from andicam.files import write_csv
from andicam.model import load_model
from andicam.response import CHANNELS, layer_response, window_table, write_response

HELP = "impulse response of every stage of a trained model (HDF5) and its receptive window widths (CSV)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model file written by train")
    p.add_argument("--out", required=True, help="output .h5 with one (steps, positions) response per stage")
    p.add_argument("--out-csv", required=True, help="output CSV of window widths per stage")
    p.add_argument("--channels", choices=sorted(CHANNELS), default="both", help="channel(s) that get the impulse")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="window = steps whose response exceeds this fraction of the maximum (0.5: FWHM)")
    p.add_argument("--mass", type=float, default=0.9, help="fraction of the response inside width_mass")
    add_device_arguments(p, batch_size=100)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.threshold < 1 or not 0 < args.mass <= 1:
        raise UserInputError(f"need 0 <= --threshold < 1 and 0 < --mass <= 1, got {args.threshold}, {args.mass}")
    device = prepare_device(args)
    model = load_model(args.model, device)
    responses = layer_response(model, channels=args.channels, batch_size=args.batch_size)
    table = window_table(responses, model, args.threshold, args.mass)
    write_response(args.out, responses, {"model": args.model, "channels": args.channels,
                                         "threshold": args.threshold, "mass": args.mass})
    write_csv(args.out_csv, table)
    print(table.to_string(index=False))
    return 0

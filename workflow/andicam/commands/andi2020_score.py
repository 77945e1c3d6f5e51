"""``andicam andi2020-score``: classifiers scored on AnDi 2020 Task 2 tracks by the challenge's metric."""

from __future__ import annotations

import argparse
import sys

from andicam.commands import add_device_arguments, prepare_device
from andicam.errors import UserInputError

HELP = "micro-F1 of classifiers on AnDi 2020 Task 2 tracks, overall, by length and by noise, with confusions"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="Task 2 trajectory file (.h5) written by andi2020-data")
    p.add_argument("--ref", required=True, help="its labels CSV (andi2020-data --ref)")
    p.add_argument("--models", nargs="+", required=True, help="model files (.pt): five-model or eight-class")
    p.add_argument("--names", nargs="+", required=True, help="a name for each model, in the order of --models")
    p.add_argument("--out", required=True, help="CSV: per model, micro-F1 overall, by length and by noise")
    p.add_argument("--confusion", required=True, help="CSV: per model, the 5 x 5 confusion counts")
    add_device_arguments(p, batch_size=512, batch_help="inference batch size")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from andicam.andi2020 import andi_model_probabilities, confusion_frame, score_table
    from andicam.dataio import read_trajectories
    from andicam.evaluate import predict_proba
    from andicam.files import read_table, write_csv
    from andicam.model import load_model, model_class_names

    if len(args.names) != len(args.models) or len(set(args.names)) != len(args.names):
        raise UserInputError(f"--names must give one distinct name per model, got {args.names} for "
                             f"{len(args.models)} models")
    device = prepare_device(args)
    data = read_trajectories(args.data)
    try:
        ref = read_table(args.ref, ["label", "noise"], "AnDi labels table (andi2020-data --ref)")
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    labels = data.labels.astype(np.int64)
    if len(ref) != len(data) or not np.array_equal(ref["label"].to_numpy(), labels):
        raise UserInputError(f"{args.ref} does not describe {args.data}: its {len(ref)} rows and labels differ "
                             f"from the file's {len(data)} tracks")
    scores, confusions = [], []
    for name, path in zip(args.names, args.models):
        model = load_model(path, device)
        try:
            names = model_class_names(model)
            five = andi_model_probabilities(predict_proba(model, data, args.batch_size), names)
        except ValueError as exc:
            raise UserInputError(f"{path}: {exc}") from None
        predicted = five.argmax(axis=1)
        table = score_table(labels, predicted, data.lengths, ref["noise"].to_numpy())
        table.insert(0, "model", name)
        table.insert(1, "classes", len(names))
        scores.append(table)
        conf = confusion_frame(labels, predicted)
        conf.insert(0, "model", name)
        confusions.append(conf)
        overall = table.iloc[0]
        print(f"{name}: micro-F1 {overall['micro_f1']:.3f} [{overall['ci_low']:.3f}, {overall['ci_high']:.3f}] "
              f"on {overall['n']} tracks", file=sys.stderr)
    write_csv(args.out, pd.concat(scores, ignore_index=True))
    write_csv(args.confusion, pd.concat(confusions, ignore_index=True))
    return 0

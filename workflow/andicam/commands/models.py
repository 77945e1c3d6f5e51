"""``andicam models``: the trained models shipped with the package, and whether each matches its manifest."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from andicam.shipped import list_shipped, models_table, summary_rows

HELP = "list the trained models shipped with the package (task, kind, accuracy, whether the file matches its hash)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the rows and every manifest as JSON")
    p.add_argument("--dir", default=None, help="folder of shipped models (default: the package's trained_models)")


def run(args: argparse.Namespace) -> int:
    models = list_shipped(None if args.dir is None else Path(args.dir))
    rows = summary_rows(models)
    if args.json:
        print(json.dumps([{**row, "manifest": m.manifest} for row, m in zip(rows, models)], indent=2, sort_keys=True))
    else:
        print(models_table(rows))
    return 0 if all(row["hash_ok"] for row in rows) else 1

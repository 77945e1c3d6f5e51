"""``andicam render-page``: a run's results page in docs/, rendered from a record of its tables."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from andicam.errors import UserInputError
from andicam.pages import DEFAULT_RULE, SECTIONS, build_record, read_record, render_page, write_page

HELP = ("Collect a run's result tables, timings and provenance into a record (JSON) and render its docs page "
        "from the record; with --check, compare a page with what its record renders to")


def add_arguments(p: argparse.ArgumentParser) -> None:
    keys = ", ".join(s.key for s in SECTIONS)
    p.add_argument("--table", nargs=2, action="append", default=[], metavar=("KEY", "CSV"),
                   help=f"a result table and its page section (one of: {keys}); repeat for each")
    p.add_argument("--run-name", help="the run's name (config run_name)")
    p.add_argument("--rule", default=DEFAULT_RULE,
                   help=f"the workflow rule that writes the page: the page's command builds it as its target "
                        f"(default {DEFAULT_RULE}, the run's own page, built by `all`)")
    p.add_argument("--config-json", help="the run's merged config, as JSON text")
    p.add_argument("--preset", action="append", default=[], help="a config file the run was started with")
    p.add_argument("--benchmarks", default=None, help="folder of Snakemake's per-job benchmark TSVs")
    p.add_argument("--workdir", default=".", help="the workflow checkout (for its commit)")
    p.add_argument("--out-record", required=True, help="record JSON (read with --check)")
    p.add_argument("--out-page", required=True, help="markdown page")
    p.add_argument("--check", action="store_true",
                   help="write nothing: exit 1 when the page differs from what the record renders to")


def run(args: argparse.Namespace) -> int:
    if args.check:
        try:
            expected = render_page(read_record(args.out_record))
        except ValueError as exc:
            raise UserInputError(str(exc)) from None
        page = Path(args.out_page)
        if not page.is_file() or page.read_text() != expected:
            print(f"{args.out_page} differs from what {args.out_record} renders to (edited by hand?)")
            return 1
        print(f"{args.out_page} matches its record")
        return 0
    if args.run_name is None or args.config_json is None:
        raise UserInputError("--run-name and --config-json are needed to build a record")
    tables = dict(args.table)
    missing = [p for p in tables.values() if not Path(p).is_file()]
    if missing:
        raise UserInputError(f"input file(s) not found: {', '.join(missing)}")
    try:
        config = json.loads(args.config_json)
        record = build_record(args.run_name, config, tables, args.benchmarks, args.workdir, args.preset,
                              rule=args.rule)
    except (ValueError, json.JSONDecodeError) as exc:
        raise UserInputError(str(exc)) from None
    write_page(record, args.out_record, args.out_page)
    print(f"{len(tables)} tables -> {args.out_page} (record {args.out_record})")
    return 0

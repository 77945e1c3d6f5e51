"""``python -m andicam <command>``: one subcommand per module in ``andicam.commands``.

Each command module defines ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Errors that a user can fix (bad input files, bad
config) end the program with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from andicam import commands
from andicam.config import ConfigError
from andicam.dataio import DataFileError
from andicam.errors import UserInputError

__all__ = ["UserInputError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="andicam", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"andicam.commands.{info.name}")
        name = info.name.replace("_", "-")
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (UserInputError, DataFileError, ConfigError) as exc:
        print(f"andicam {args.command}: error: {exc}", file=sys.stderr)
        return 2

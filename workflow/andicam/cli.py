"""``python -m andicam <command>``: one subcommand per module in ``andicam.commands``.

Each command module defines ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Errors that a user can fix (bad input files, bad
config) end the program with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import pkgutil
import sys

from andicam import commands
from andicam.config import ConfigError
from andicam.dataio import DataFileError
from andicam.errors import UserInputError

__all__ = ["UserInputError", "build_parser", "command_names", "main"]


@functools.cache
def command_names() -> tuple[str, ...]:
    """Every subcommand, as typed: the modules of ``andicam.commands`` with ``_`` read as ``-`` (scanned once)."""
    return tuple(sorted(info.name.replace("_", "-") for info in pkgutil.iter_modules(commands.__path__)))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or of ``only`` (a name from ``command_names``) alone.

    A command module imports what its work needs (torch, scipy, matplotlib); importing all of them
    took about 3.5 s per process. A workflow job runs one command, so ``main`` builds the parser of that
    command alone; the full listing (``--help``, an unknown command) imports all.
    """
    parser = argparse.ArgumentParser(prog="andicam", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in (only,) if only is not None else command_names():
        module = importlib.import_module(f"andicam.commands.{name.replace('-', '_')}")
        # HELP is plain text; argparse %-formats a subcommand's help (not its description).
        p = sub.add_parser(name, help=module.HELP.replace("%", "%%"), description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    only = words[0] if words and words[0] in command_names() else None
    args = build_parser(only).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (UserInputError, DataFileError, ConfigError) as exc:
        print(f"andicam {args.command}: error: {exc}", file=sys.stderr)
        return 2

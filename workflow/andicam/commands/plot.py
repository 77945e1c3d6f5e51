"""``andicam plot NAME``: draw figure NAME (``results/figures/NAME.pdf``) of ``andicam.plots.registry``."""

from __future__ import annotations

import argparse
from typing import Any, Sequence

from andicam.plots.registry import FIGURES, AddArguments

HELP = "Draw one figure, named as its file results/figures/NAME.pdf ('andicam plot --help' lists them)"


class FigureParser(argparse.ArgumentParser):
    """The parser of one figure, whose options are added when it first parses rather than when it is built.

    ``andicam plot`` builds a parser per figure to list them; adding every figure's options there would run
    every figure's ``add_arguments`` (relevance_layers' imports torch) for a job that draws one.
    """

    def __init__(self, *args: Any, figure_arguments: AddArguments | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending_arguments = figure_arguments

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        if self._pending_arguments is not None:
            add, self._pending_arguments = self._pending_arguments, None
            add(self)
        return super().parse_known_args(args, namespace)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    figures = parser.add_subparsers(dest="figure", metavar="NAME", required=True, parser_class=FigureParser,
                                    title="figures (andicam plot NAME --help: its options)")
    for name, figure in FIGURES.items():
        # argparse %-formats a subparser's help (not its description).
        figures.add_parser(name, help=figure.help.replace("%", "%%"), description=figure.help,
                           figure_arguments=figure.add_arguments)


def run(args: argparse.Namespace) -> int:
    return FIGURES[args.figure].draw(args)

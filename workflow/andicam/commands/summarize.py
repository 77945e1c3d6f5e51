"""``andicam summarize``: this run's headline numbers beside the paper's (METHODS §6), as CSV and markdown."""

from __future__ import annotations

import argparse
from pathlib import Path

from andicam.augment import DRAWS
from andicam.errors import UserInputError
from andicam.files import atomic_output, write_csv
from andicam.summary import summarize, summary_markdown

HELP = "Table of the headline results with seeds and 95 % intervals beside the paper's values (every input optional)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--eval-metrics", nargs="+", default=None,
                   help="metrics JSON files of 'andicam evaluate' (regime, depth and seed come from their model "
                        "metadata); list the main model's seed first in each regime")
    p.add_argument("--erasing", nargs="+", default=None,
                   help="erasing table(s) of 'andicam erasing', at most one per positions mode (trajectory "
                        "segments; padding included)")
    p.add_argument("--erasing-correctness", nargs="+", default=None,
                   help="their per-trajectory correctness (.npz of 'andicam erasing --correctness'), in the same "
                        "order: Grad-CAM minus control then gets a paired bootstrap over test trajectories")
    p.add_argument("--erasing-fills", nargs="+", default=None,
                   help="erasing tables of every fill (zero, hold, bridge) and positions mode, for the rows of "
                        "accuracy lost erasing random segments per fill (default: the --erasing tables)")
    p.add_argument("--erasing-fills-correctness", nargs="+", default=None,
                   help="their per-trajectory correctness files, in the same order")
    p.add_argument("--blocks", default=None, help="block-heads accuracy CSV of 'andicam block-heads'")
    p.add_argument("--augment", nargs="+", default=None,
                   help="augmentation summary CSV(s) of 'andicam augment-aggregate', one per set-up")
    p.add_argument("--augment-draws", nargs="+", default=None, choices=DRAWS,
                   help="the draw of each --augment set-up, in the same order (with_replacement: the authors' "
                        "set-up F, the default; notebooks: their set-up V)")
    p.add_argument("--relevance", default=None, help="relevance table of 'andicam relevance' on the train split")
    p.add_argument("--ablation", default=None, help="transplant table of 'andicam ablation' (--out-transplants)")
    p.add_argument("--response", default=None, help="layer-response file (.h5) of 'andicam layer-response'")
    p.add_argument("--main-depth", type=int, default=None,
                   help="depth of the main models (needed only when the metrics hold several depths)")
    p.add_argument("--main-seed", type=int, default=None,
                   help="training seed of the main model (default: the first listed per regime)")
    p.add_argument("--erasing-stage", default="layer4", help="stage whose Grad-CAM chose the erased segments")
    p.add_argument("--n-boot", type=int, default=2000,
                   help="bootstrap resamples of macro-F1 when a regime has one training seed")
    p.add_argument("--seed", type=int, default=0, help="master seed (of that bootstrap; named in the header)")
    p.add_argument("--run-name", default=None, help="name of the run, for the markdown header")
    p.add_argument("--out-csv", required=True, help="tidy summary table (CSV)")
    p.add_argument("--out-md", required=True, help="the same as a markdown table")


def run(args: argparse.Namespace) -> int:
    if args.n_boot < 1:
        raise UserInputError(f"--n-boot must be positive, got {args.n_boot}")
    given = [*(args.eval_metrics or []), *(args.erasing or []), *(args.erasing_correctness or []),
             *(args.erasing_fills or []), *(args.erasing_fills_correctness or []), args.blocks,
             *(args.augment or []), args.relevance, args.ablation, args.response]
    missing = [p for p in given if p is not None and not Path(p).is_file()]
    if missing:
        raise UserInputError(f"input file(s) not found: {', '.join(missing)}")
    try:
        table = summarize(args.eval_metrics, args.erasing, args.blocks, args.augment, args.relevance, args.ablation,
                          args.response,
                          main_depth=args.main_depth, main_seed=args.main_seed, erasing_stage=args.erasing_stage,
                          erasing_correctness=args.erasing_correctness, erasing_fills=args.erasing_fills,
                          erasing_fills_correctness=args.erasing_fills_correctness,
                          augment_draws=args.augment_draws, n_boot=args.n_boot, seed=args.seed)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    write_csv(args.out_csv, table)
    with atomic_output(args.out_md) as tmp:
        tmp.write_text(summary_markdown(table, args.run_name, args.seed))
    not_run = int((table["this_run"] == "not run").sum())
    print(f"{len(table)} rows ({not_run} not run) -> {args.out_csv}, {args.out_md}")
    return 0

"""Every figure ``andicam plot NAME`` draws: per name, a one-line help, its options and how it is drawn.

NAME is the figure's file stem (``results/figures/NAME.pdf``) and its rule's name without ``fig_``.
This module imports no drawing code, numpy or torch: each figure's drawing code is imported when that
figure is drawn (or its options added), so a workflow job that draws one figure imports only what that
figure needs, as it did when every figure was a command of its own.
"""

from __future__ import annotations

import argparse
import functools
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure as MplFigure

AddArguments = Callable[[argparse.ArgumentParser], None]
Draw = Callable[[argparse.Namespace], int]

OUT_HELP = "figure path (.pdf; a .png is written beside it)"


@dataclass(frozen=True)
class Figure:
    """One figure: ``help`` is one line; ``add_arguments`` adds its options (--out among them); ``draw``
    reads the inputs those options name and writes the figure, returning the exit status."""

    help: str
    add_arguments: AddArguments
    draw: Draw


def load(path: str) -> Callable[..., Any]:
    """The function ``module:name`` names, imported now (a figure's drawing code is imported only to draw it)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def add_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help=OUT_HELP)


def add_method(parser: argparse.ArgumentParser) -> None:
    """Which correlation of the relevance tables a figure shows."""
    parser.add_argument("--method", choices=["pearson", "spearman"], default="pearson")


# --- The common shape: one CSV table in, one drawing function of it, PDF + PNG out -------------------------------

def _table_arguments(option: str, source: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument(f"--{option}", required=True, help=source)
    add_out(parser)


def _draw_table(option: str, draw: str, args: argparse.Namespace) -> int:
    from andicam.plots.common import figure_from_csv

    return figure_from_csv(getattr(args, option), args.out, load(draw))


def table_figure(help: str, option: str, source: str, draw: str) -> Figure:
    """A figure drawn from the one CSV named by ``--OPTION`` (``source`` says which command writes it) by
    ``draw`` ("module:function" of a function of that table)."""
    return Figure(help, functools.partial(_table_arguments, option, source),
                  functools.partial(_draw_table, option, draw))


# --- Figures read from a predictions CSV of `andicam evaluate` -----------------------------------------------------

def _predictions_arguments(title_help: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--predictions", required=True, help="predictions CSV written by 'andicam evaluate'")
    parser.add_argument("--title", default=None, help=title_help)
    add_out(parser)


def _draw_confusion(args: argparse.Namespace) -> int:
    from andicam.evaluate import read_predictions
    from andicam.plots.classifier import confusion
    from andicam.plots.common import save_figure

    frame = read_predictions(args.predictions)
    save_figure(confusion(frame["label"].to_numpy(), frame["predicted"].to_numpy(), args.title), args.out)
    return 0


def confusion_figure(regime: str) -> Figure:
    """confusion_fixed and confusion_variable: one drawing, two rules (the model's regime is in its input)."""
    return Figure(f"Row-normalised confusion matrix, in percent, of the {regime}-length model from its predictions",
                  functools.partial(_predictions_arguments,
                                    f"text before the accuracy in the title, e.g. '{regime} length'"),
                  _draw_confusion)


def _draw_class_share_vs_alpha(args: argparse.Namespace) -> int:
    from andicam.evaluate import read_predictions
    from andicam.plots.classifier import class_share_vs_alpha
    from andicam.plots.common import save_figure

    save_figure(class_share_vs_alpha(read_predictions(args.predictions), args.title), args.out)
    return 0


# --- Figures of the trained models' own outputs --------------------------------------------------------------------

def _accuracy_vs_depth_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", nargs="+", required=True,
                        help="metrics JSON files written by 'andicam evaluate' (regime, depth and seed come from them)")
    add_out(parser)
    parser.add_argument("--out-csv", default=None, help="optional table: per regime and depth, n_seeds, mean, std")


def _draw_accuracy_vs_depth(args: argparse.Namespace) -> int:
    from andicam.errors import UserInputError
    from andicam.files import read_json, write_csv
    from andicam.plots.classifier import accuracy_vs_depth, depth_records, depth_summary
    from andicam.plots.common import save_figure

    loaded = []
    for path in args.metrics:
        try:
            metrics = read_json(path)
        except (OSError, ValueError) as exc:
            raise UserInputError(f"{path}: cannot read the metrics file ({exc})") from None
        if not isinstance(metrics, dict) or not {"accuracy", "macro_f1"} <= metrics.keys() \
                or "depth" not in metrics.get("model", {}):
            raise UserInputError(f"{path}: not an evaluation metrics file of 'andicam evaluate' "
                                 "(needs accuracy, macro_f1 and model.depth)")
        loaded.append(metrics)
    records = depth_records(loaded)
    if args.out_csv:
        write_csv(args.out_csv, depth_summary(records))
    save_figure(accuracy_vs_depth(records), args.out)
    return 0


def _training_curves_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history", nargs="+", required=True, help="history CSV files written by 'andicam train'")
    parser.add_argument("--metrics", nargs="+", required=True,
                        help="the training metrics JSON of each history, same order (labels: regime, depth, seed)")
    add_out(parser)


def _training_run_label(metrics: dict) -> str:
    regime = metrics.get("tags", {}).get("regime", "")
    return f"{regime} depth {metrics['config']['depth']} seed {metrics.get('seed', '?')}".strip()


def _draw_training_curves(args: argparse.Namespace) -> int:
    import pandas as pd

    from andicam.errors import UserInputError
    from andicam.files import read_json
    from andicam.plots.classifier import training_curves
    from andicam.plots.common import save_figure
    from andicam.train import HISTORY_COLUMNS

    if len(args.history) != len(args.metrics):
        raise UserInputError(f"--history and --metrics need one entry per run; got {len(args.history)} and "
                             f"{len(args.metrics)}")
    runs = []
    for hist_path, metrics_path in zip(args.history, args.metrics):
        try:
            history = pd.read_csv(hist_path)
            label = _training_run_label(read_json(metrics_path))
        except (OSError, ValueError, KeyError) as exc:
            raise UserInputError(f"{hist_path} / {metrics_path}: cannot read the training outputs ({exc!r})") from None
        missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
        if missing:
            raise UserInputError(f"{hist_path}: not a training history, missing column(s) {', '.join(missing)}")
        runs.append((label, history))
    save_figure(training_curves(runs), args.out)
    return 0


# --- Figures of the data ---------------------------------------------------------------------------------------------

def _dataset_overview_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", nargs="+", required=True, help="trajectory shard files (.h5)")
    parser.add_argument("--bins", type=int, default=4, help="alpha bins per class for the MSD fit")
    parser.add_argument("--seed", type=int, default=0, help="which examples are drawn")
    add_out(parser)
    parser.add_argument("--out-csv", required=True, help="table of fitted exponents")


def _draw_dataset_overview(args: argparse.Namespace) -> int:
    from andicam.dataio import read_many
    from andicam.files import write_csv
    from andicam.msd import exponents_by_alpha
    from andicam.plots.common import save_figure
    from andicam.plots.dataset import dataset_overview

    data = read_many(args.data)
    table = exponents_by_alpha(data, bins=args.bins)
    write_csv(args.out_csv, table)
    save_figure(dataset_overview(data, table, seed=args.seed), args.out)
    return 0


# --- Grad-CAM figures ------------------------------------------------------------------------------------------------

def _erasing_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--erasing", required=True, nargs="+",
                        help="erasing CSV(s) written by the erasing command, at most one per positions mode and fill")
    parser.add_argument("--correctness", default=None, nargs="+",
                        help="per-trajectory correctness (.npz of `andicam erasing --correctness`), one per table "
                             "in the same order: the differences get a paired bootstrap over trajectories instead "
                             "of the seed range")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resamples")
    add_out(parser)


def _erasing_regimes_arguments(parser: argparse.ArgumentParser) -> None:
    _erasing_arguments(parser)
    parser.add_argument("--main-regime", required=True, choices=("fixed", "variable"),
                        help="regime of the main run, whose tables carry no regime column")


def _draw_erasing(args: argparse.Namespace) -> int:
    from andicam.dataio import CLASS_NAMES
    from andicam.erasing_tables import read_correctness, trajectory_bootstrap_differences
    from andicam.errors import UserInputError
    from andicam.plots.common import figure_from_csvs
    from andicam.plots.gradcam import plot_erasing

    if args.correctness is not None and len(args.correctness) != len(args.erasing):
        raise UserInputError(f"{len(args.erasing)} erasing tables but {len(args.correctness)} correctness files")
    loaded = []  # read (and checked) up front; the bootstrap runs only once the tables have been read
    for path in args.correctness or []:
        try:
            loaded.append(read_correctness(path))
        except ValueError as exc:
            raise UserInputError(str(exc)) from None

    def draw(tables: list[pd.DataFrame]) -> MplFigure:
        differences = [trajectory_bootstrap_differences(labels, correct, CLASS_NAMES, seed=args.seed)
                       for labels, correct in loaded]
        return plot_erasing(tables, differences or None, getattr(args, "main_regime", None))

    return figure_from_csvs(args.erasing, args.out, draw)


def _erasing_by_length_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--erasing", required=True, nargs="+",
                        help="by-length CSV(s) written by the erasing command (--by-length), at most one per "
                             "positions mode and fill")
    add_out(parser)


def _draw_erasing_by_length(args: argparse.Namespace) -> int:
    from andicam.plots.common import figure_from_csvs
    from andicam.plots.gradcam import plot_erasing_by_length

    return figure_from_csvs(args.erasing, args.out, plot_erasing_by_length)


def _layer_response_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--response", required=True, help=".h5 written by layer-response")
    parser.add_argument("--windows", required=True, help="CSV written by layer-response (--out-csv)")
    add_out(parser)


def _draw_layer_response(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from andicam.errors import UserInputError
    from andicam.plots.common import save_figure
    from andicam.plots.gradcam import plot_layer_response
    from andicam.response import read_response

    for path in (args.response, args.windows):
        if not Path(path).is_file():
            raise UserInputError(f"{path}: no such file")
    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    responses, _ = read_response(args.response)
    try:
        fig = plot_layer_response(responses, pd.read_csv(args.windows))
    except (ValueError, KeyError) as exc:
        raise UserInputError(f"{args.windows}: {exc}") from None
    save_figure(fig, args.out)
    return 0


def _gradcam_examples_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, nargs="+", help="trajectory shard(s), as given to gradcam")
    parser.add_argument("--gradcam", required=True, nargs="+", help="Grad-CAM file(s) of those shards")
    parser.add_argument("--master-seed", type=int, required=True, help="seeds the choice of examples")
    parser.add_argument("--per-class", type=int, default=1, help="examples per class (rows per class)")
    add_out(parser)


def _draw_gradcam_examples(args: argparse.Namespace) -> int:
    import numpy as np

    from andicam.dataio import read_many
    from andicam.errors import UserInputError
    from andicam.gradcam import pick_examples, read_gradcams, trajectory_maps
    from andicam.model import STAGES
    from andicam.plots.common import save_figure
    from andicam.plots.gradcam import plot_gradcam_examples
    from andicam.seeding import derive_seed

    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    if args.per_class < 1:
        raise UserInputError(f"--per-class must be positive, got {args.per_class}")
    data = read_many(args.data)
    arrays, _ = read_gradcams(args.gradcam)
    if not np.array_equal(arrays["labels"], data.labels):
        raise UserInputError(f"{', '.join(args.gradcam)}: labels do not match the data {', '.join(args.data)}")
    index = pick_examples(data.labels, arrays["predictions"], derive_seed(args.master_seed, "gradcam-examples"),
                          args.per_class)
    stages = [s for s in STAGES if s in arrays]
    maps = trajectory_maps({s: arrays[s][index] for s in stages}, data.lengths[index])
    trajs = [data.trajectories[i, :, : data.lengths[i]] for i in index]
    save_figure(plot_gradcam_examples(trajs, data.labels[index], maps), args.out)
    return 0


# --- Relevance of the Grad-CAM maps to window statistics -----------------------------------------------------------

def _relevance_arguments(split: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--relevance", required=True, help=f"CSV written by `andicam relevance` on the {split}")
    parser.add_argument("--stage", default="layer4", help="which stage's maps (default layer4, as the paper)")
    add_method(parser)
    add_out(parser)


def _draw_relevance(split: str, args: argparse.Namespace) -> int:
    from andicam.plots.common import figure_from_csv
    from andicam.plots.relevance import plot_relevance

    title = f"{args.stage} Grad-CAM vs window statistics, {split} ({args.method} r)"
    return figure_from_csv(args.relevance, args.out,
                           lambda table: plot_relevance(table, args.stage, args.method, title))


def relevance_figure(split: str) -> Figure:
    """relevance_train and relevance_test: one drawing, the split named in the title."""
    return Figure(f"Heatmap of the layer4 Grad-CAM vs window-statistic correlations per class, {split}",
                  functools.partial(_relevance_arguments, split), functools.partial(_draw_relevance, split))


def _relevance_layers_arguments(parser: argparse.ArgumentParser) -> None:
    from andicam.model import STAGES  # imports torch: only when this figure's options are added

    parser.add_argument("--relevance", required=True, help="CSV written by `andicam relevance --stages layer1 ...`")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    add_method(parser)
    add_out(parser)


def _draw_relevance_layers(args: argparse.Namespace) -> int:
    from andicam.plots.common import figure_from_csv
    from andicam.plots.relevance import plot_relevance_stages

    return figure_from_csv(args.relevance, args.out,
                           lambda table: plot_relevance_stages(table, args.stages, args.method))


def _relevance_blocks_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--relevance", required=True, nargs="+",
                        help="CSV(s) written by `andicam relevance` on the heads' Grad-CAM files")
    parser.add_argument("--accuracy", required=True, help="accuracy CSV written by `andicam block-heads`")
    add_method(parser)
    add_out(parser)


def _draw_relevance_blocks(args: argparse.Namespace) -> int:
    import pandas as pd

    from andicam.plots.common import figure_from_csvs
    from andicam.plots.relevance import block_groups, block_titles, plot_relevance_stages

    def draw(tables: list[pd.DataFrame]) -> MplFigure:
        table, accuracy = pd.concat(tables[:-1], ignore_index=True), tables[-1]
        cuts = [c for c in accuracy["cut"] if c in set(table["stage"])] if "cut" in accuracy else []
        if not cuts:
            raise ValueError("no head of the accuracy table has correlations in the relevance table(s)")
        return plot_relevance_stages(table, cuts, args.method, block_titles(accuracy, table), block_groups(accuracy))

    return figure_from_csvs([*args.relevance, args.accuracy], args.out, draw)


# --- The noise-robust classifier ---------------------------------------------------------------------------------

def _noise_robustness_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tables", nargs="+", required=True, help="robust-eval tables (one per regime)")
    parser.add_argument("--out-csv", required=True, help="summary: mean and t interval over seeds per cell")
    add_out(parser)


def _draw_noise_robustness(args: argparse.Namespace) -> int:
    import pandas as pd

    from andicam.errors import UserInputError
    from andicam.files import write_csv
    from andicam.plots.common import read_tables, save_figure
    from andicam.plots.robust import plot_noise_robustness
    from andicam.robust import robustness_summary

    if not args.out.endswith(".pdf"):
        raise UserInputError(f"--out must end in .pdf, got {args.out}")
    frames = read_tables(args.tables)
    try:
        summary = robustness_summary(pd.concat(frames, ignore_index=True))
        fig = plot_noise_robustness(summary)
    except (KeyError, ValueError) as exc:
        raise UserInputError(f"{', '.join(args.tables)}: {exc}") from None
    write_csv(args.out_csv, summary)
    save_figure(fig, args.out)
    return 0


def _andi2020_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scores", required=True, help="scores CSV written by 'andicam andi2020-score --out'")
    parser.add_argument("--confusion", required=True, help="confusion CSV written by 'andicam andi2020-score'")
    add_out(parser)


def _draw_andi2020(args: argparse.Namespace) -> int:
    from andicam.plots.andi2020 import plot_andi2020
    from andicam.plots.common import figure_from_csvs

    return figure_from_csvs([args.scores, args.confusion], args.out, plot_andi2020)


ABLATION_RESULTS = "results CSV written by `andicam ablation --out`"
AUGMENT_SUMMARY = "summary CSV written by augment-aggregate"


def _augment_set_up_arguments(parser: argparse.ArgumentParser) -> None:
    from andicam.augment import DRAWS

    _table_arguments("summary", AUGMENT_SUMMARY, parser)
    parser.add_argument("--draw", choices=DRAWS,
                        default="with_replacement",
                        help="the draw of the set-up that ran, which chooses the paper's points: with_replacement "
                             "the authors' set-up F, notebooks their set-up V, without_replacement none")


def _draw_augment_set_up(draw: str, args: argparse.Namespace) -> int:
    from andicam.plots.common import figure_from_csv

    return figure_from_csv(args.summary, args.out, functools.partial(load(draw), draw=args.draw))

# In the order of the workflow's stages; `andicam plot --help` lists them so.
FIGURES: dict[str, Figure] = {
    "dataset_overview": Figure(
        "Example trajectories per class and ensemble-MSD exponent vs drawn alpha",
        _dataset_overview_arguments, _draw_dataset_overview),
    "confusion_variable": confusion_figure("variable"),
    "confusion_fixed": confusion_figure("fixed"),
    "class_share_vs_alpha": Figure(
        "Per true class, share of each predicted class in 0.05-wide alpha bins",
        functools.partial(_predictions_arguments, "figure title, e.g. which model and test set"),
        _draw_class_share_vs_alpha),
    "accuracy_vs_depth": Figure(
        "Test accuracy per depth for each regime (every seed, mean +- SD)",
        _accuracy_vs_depth_arguments, _draw_accuracy_vs_depth),
    "training_curves": Figure(
        "Training and validation loss and accuracy per epoch, one colour per run",
        _training_curves_arguments, _draw_training_curves),
    "erasing": Figure(
        "Accuracy after erasing each Grad-CAM percentile bin, against the random controls (all classes), "
        "one column per erasing table (positions mode and fill)",
        _erasing_arguments, _draw_erasing),
    "erasing_regimes": Figure(
        "The erasing figure's columns for the main model of each regime (fixed length: no padding at all)",
        _erasing_regimes_arguments, _draw_erasing),
    "erasing_by_class": table_figure(
        "Erasing curves per true class (2 x 4 panels)",
        "erasing", "erasing CSV written by the erasing command", "andicam.plots.gradcam:plot_erasing_by_class"),
    "erasing_by_length": Figure(
        "Erasing curves (all classes) per trajectory-length bin: a column per length bin, a row per table",
        _erasing_by_length_arguments, _draw_erasing_by_length),
    "layer_response": Figure(
        "Heatmaps of each stage's response to unit impulses at every input step, with the window widths",
        _layer_response_arguments, _draw_layer_response),
    "gradcam_scale": table_figure(
        "Autocorrelation length of the Grad-CAM maps per stage and class",
        "scale", "CSV written by gradcam-scale", "andicam.plots.gradcam:plot_gradcam_scale"),
    "tsne": table_figure(
        "t-SNE of the pooled features after each stage, coloured by true class",
        "tsne", "CSV written by the tsne command", "andicam.plots.gradcam:plot_tsne"),
    "gradcam_examples": Figure(
        "Trajectories of each class drawn as 2-D paths coloured by their Grad-CAM, one column per stage",
        _gradcam_examples_arguments, _draw_gradcam_examples),
    "augmentation_noise": Figure(
        "Accuracy against localisation noise for the augmentation arms, with the targeted-random difference",
        _augment_set_up_arguments, functools.partial(_draw_augment_set_up, "andicam.plots.augment:plot_noise")),
    "augmentation_by_class": table_figure(
        "Per-class recall against localisation noise for the augmentation arms (2 x 4 panels)",
        "summary", AUGMENT_SUMMARY, "andicam.plots.augment:plot_by_class"),
    "augmentation_arms": Figure(
        "Accuracy against localisation noise for every augmentation arm, and each arm minus random paired by seed",
        _augment_set_up_arguments, functools.partial(_draw_augment_set_up, "andicam.plots.augment:plot_arms")),
    "relevance_train": relevance_figure("training set"),
    "relevance_test": relevance_figure("test set"),
    "relevance_layers": Figure(
        "Grad-CAM vs window-statistic correlations per class for every stage, windows matched to each stage",
        _relevance_layers_arguments, _draw_relevance_layers),
    "relevance_blocks": Figure(
        "Grad-CAM of the block-wise heads (cut after layer1/2/3) vs window statistics, per class",
        _relevance_blocks_arguments, _draw_relevance_blocks),
    "ablation_heatmap": table_figure(
        "Accuracy drop per ablated statistic and class (for, inverse, random control)",
        "results", ABLATION_RESULTS, "andicam.plots.relevance:plot_ablation_heatmap"),
    "ablation_top1": table_figure(
        "The class receiving most new errors after each ablation, and its share",
        "results", ABLATION_RESULTS, "andicam.plots.relevance:plot_ablation_top1"),
    "ablation_independence": table_figure(
        "How much every statistic moved at the target window, per ablated statistic",
        "independence", "independence CSV written by `andicam ablation --out-independence`",
        "andicam.plots.relevance:plot_ablation_independence"),
    "noise_robustness": Figure(
        "Accuracy and macro-F1 against noise (and by length) of the noiseless and robust models, with t intervals",
        _noise_robustness_arguments, _draw_noise_robustness),
    "claims": table_figure(
        "Each claim of the paper: this run minus the paper's value with its 95 % interval, in units of the claim's "
        "margin, coloured by verdict",
        "claims", "claims CSV written by 'andicam claims'", "andicam.plots.claims:plot_claims"),
    "andi2020": Figure(
        "AnDi 2020 Task 2 (2-D): micro-F1 by track length and noise per classifier, and the best one's confusions",
        _andi2020_arguments, _draw_andi2020),
    "scaling": table_figure(
        "Test accuracy against training samples x epochs per width, the paper's accuracy as lines",
        "table", "per-model table of 'andicam scaling-table' (.csv)", "andicam.plots.scaling:scaling_figure"),
}

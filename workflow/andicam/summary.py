"""Results summary: this run's headline numbers beside the paper's (METHODS §6), with seeds and 95 % intervals.

Every row rests on one output file of the workflow and says how its interval
was made:

- classifier accuracy and macro-F1 (main depth, both regimes): mean over
  training seeds with a t interval over seeds; with one seed, a Wilson
  interval over the test trajectories (accuracy) or a percentile bootstrap
  over them, resampled from the confusion counts (macro-F1);
- per-class recall and the largest off-diagonal confusion of the main model
  (first training seed): Wilson intervals over the trajectories of the class;
- erasing (stage layer4, class "all"): Grad-CAM accuracy per percentile bin
  (Wilson over trajectories) and each control's mean over bins (t over the
  control's seeds); per fill of the erased segments, the accuracy lost by
  erasing random segments (normal interval, the two arms' variances added);
- block heads: accuracy on merged labels (Wilson over evaluation trajectories), for
  heads trained and scored on group-balanced undersamples (the paper's) and on
  every trajectory (ours);
- augmentation: mean accuracy per arm with a t interval over retraining
  seeds, and the paired difference targeted - random with a paired t
  interval over seeds, as ``andicam augment-aggregate`` wrote them (its
  ci_method column names the method);
- correlations: Pearson r with the bootstrap over trajectories that
  ``andicam relevance`` wrote;
- layer response: the span holding 90 % of a layer4 position's impulse
  response, median over positions with their range (one model: no CI);
- feature ablation (mode "for"): the share of a class's new errors that
  go to one class (Wilson over those new errors), and a class's accuracy
  drop with Newcombe's score interval for paired proportions (the same
  trajectories before and after their transplant).

Values are in the unit the paper uses: percent for accuracies, recalls and
shares, percentage points for differences, 100 x F1 for macro-F1, plain r for
correlations. A group whose input is not given gets its rows with this_run
"not run", so the table always lists everything the paper reports.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from andicam.dataio import CLASS_NAMES
from andicam.erasing_tables import CONTROLS as ERASING_CONTROLS
from andicam.erasing_tables import (
    FILL_TEXT,
    FILLS,
    POSITIONS_TEXT,
    fill_of,
    paired_differences,
    positions_of,
    read_correctness,
    regime_of,
    trajectory_bootstrap_differences,
)
from andicam.files import read_json, read_table
from andicam.intervals import (
    PAIRED_PROPORTIONS_METHOD,
    bootstrap_macro_f1,
    paired_proportion_difference,
    t_interval,
    wilson_interval,
)
from andicam.paper import (
    AUGMENT_SETUPS,
    AUGMENT_SIGMAS,
    CORRELATION_CELLS,
    F1,
    PAPER,
    PAPER_BINS,
    PAPER_RESPONSE_MASS,
    PERCENT,
    POINTS,
    R,
    SIGMA_TOLERANCE,
    STEPS,
    augment_key,
)
from andicam.seeding import derive_seed

COLUMNS: tuple[str, ...] = ("result", "description", "this_run", "value", "ci_low", "ci_high", "n", "paper",
                            "paper_value", "paper_low", "paper_high", "source", "unit", "ci_method")
REGIMES: tuple[str, ...] = ("fixed", "variable")
NOT_RUN = "not run"
AUGMENT_ARMS: tuple[str, ...] = ("targeted", "random", "targeted-random")
# The diagnostic arms' paired differences (andicam.augment.aggregate), rows beyond the paper where they ran: does
# selecting where Grad-CAM points add anything beyond selecting confident trajectories?
AUGMENT_DIAGNOSTICS: dict[str, str] = {
    "targeted_layer3-random": "top p % by the layer3 map's time-mean (where Grad-CAM points) - random",
    "targeted_peak-random": "top p % by the layer4 map's peak over time (where Grad-CAM points) - random",
    "most_probable-random": "top p % by the softmax probability of the true class (confidence, no Grad-CAM) - random",
    "least_confident-random": "bottom p % by the layer4 map's time-mean (the least confident) - random",
    "targeted-most_probable": "Grad-CAM-targeted arm (the highest logits) - most probable arm (the highest softmax "
                              "probabilities): the paper's arm against confidence",
    "targeted_layer3-most_probable": "layer3 time-mean arm - most probable arm (Grad-CAM beyond confidence)",
    "targeted_peak-most_probable": "layer4 peak arm - most probable arm (Grad-CAM beyond confidence)",
}
BLOCK_CUTS: tuple[str, ...] = ("layer1", "layer2", "layer3")


# --- rows ------------------------------------------------------------------------------------------------------


def _bound(value: float, unit: str) -> str:
    if unit == R:
        return f"{value:+.2f}"
    if unit == POINTS:
        return f"{value:+.1f}"
    if unit == STEPS:
        return f"{value:.0f}"
    return f"{value:.1f}"


def _fmt(value: float, unit: str) -> str:
    return _bound(value, unit) + {PERCENT: " %", POINTS: " points", STEPS: " steps"}.get(unit, "")


def _estimate(value: float, lo: float, hi: float, unit: str) -> str:
    """A value with its unit and, where both bounds are finite, its interval: "+4.5 points [+4.2, +4.8]"."""
    text = _fmt(value, unit)
    if math.isfinite(lo) and math.isfinite(hi):
        text += f" [{_bound(lo, unit)}, {_bound(hi, unit)}]"
    return text


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else f"{n} {word}s"


def _seeds_text(seeds: Sequence[int]) -> str:
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds ({', '.join(map(str, seeds))})"


def _row(result: str, description: str, value: float, lo: float, hi: float, n: int, basis: str, source: str,
         unit: str, ci_method: str, label: str = "") -> dict[str, Any]:
    """One summary row; ``basis`` says what n counts (e.g. "2 seeds"), ``label`` precedes the value in the text."""
    text = f"{label} {_estimate(value, lo, hi, unit)}" if label else _estimate(value, lo, hi, unit)
    text += f", {basis}; " + (ci_method or "no CI")
    return {
        "result": result, "description": description, "this_run": text, "value": float(value),
        "ci_low": float(lo), "ci_high": float(hi), "n": int(n), **_paper_fields(result),
        "source": str(source), "unit": unit, "ci_method": ci_method,
    }


def _paper_fields(result: str) -> dict[str, Any]:
    """The paper's text, value and own interval (NaN where it has none) of a row; empty and NaN for no claim."""
    paper = PAPER.get(result)
    if paper is None:
        return {"paper": "", "paper_value": math.nan, "paper_low": math.nan, "paper_high": math.nan}
    return {"paper": paper.text, "paper_value": paper.value, "paper_low": paper.low, "paper_high": paper.high}


def _not_run(result: str, description: str, unit: str) -> dict[str, Any]:
    return {
        "result": result, "description": description, "this_run": NOT_RUN, "value": math.nan,
        "ci_low": math.nan, "ci_high": math.nan, "n": 0, **_paper_fields(result),
        "source": "", "unit": unit, "ci_method": "",
    }


def _proportion_row(result: str, description: str, successes: int, n: int, word: str, source: str,
                    label: str = "") -> dict[str, Any]:
    lo, hi = wilson_interval(successes, n)
    return _row(result, description, 100 * successes / n, 100 * lo, 100 * hi, n, _plural(n, word), source,
                PERCENT, "Wilson CI", label)


# --- classifier ------------------------------------------------------------------------------------------------


def read_eval_metrics(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Evaluation metrics files (``andicam evaluate``) -> one row per model: regime, depth, seed, metrics, path."""
    rows = []
    for path in paths:
        try:
            m = read_json(path)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: cannot read the metrics file ({exc})") from None
        model = m.get("model") if isinstance(m, dict) else None
        if not isinstance(model, dict) or not {"accuracy", "macro_f1", "n", "confusion_counts"} <= m.keys() \
                or model.get("depth") is None or model.get("seed") is None \
                or "regime" not in model.get("tags", {}):
            raise ValueError(f"{path}: not an evaluation metrics file of 'andicam evaluate' (needs accuracy, "
                             "macro_f1, n, confusion_counts, model.depth, model.seed and model.tags.regime)")
        counts = np.asarray(m["confusion_counts"], dtype=np.int64)
        if counts.shape != (len(CLASS_NAMES), len(CLASS_NAMES)):
            raise ValueError(f"{path}: confusion_counts has shape {counts.shape}, expected 8 x 8")
        if int(counts.sum()) != int(m["n"]) or m["n"] <= 0:
            raise ValueError(f"{path}: confusion_counts sum to {int(counts.sum())}, but n is {m['n']}")
        names = tuple(m.get("class_names", CLASS_NAMES))
        if names != CLASS_NAMES:
            raise ValueError(f"{path}: class_names {list(names)} differ from the workflow's {list(CLASS_NAMES)}")
        rows.append({"regime": model["tags"]["regime"], "depth": int(model["depth"]), "seed": int(model["seed"]),
                     "accuracy": float(m["accuracy"]), "macro_f1": float(m["macro_f1"]), "n": int(m["n"]),
                     "counts": counts, "path": str(path)})
    frame = pd.DataFrame(rows, columns=["regime", "depth", "seed", "accuracy", "macro_f1", "n", "counts", "path"])
    dup = frame.duplicated(["regime", "depth", "seed"])
    if dup.any():
        first = frame.loc[dup].iloc[0]
        raise ValueError(f"two metrics files for regime {first['regime']}, depth {first['depth']}, "
                         f"seed {first['seed']} (the second: {first['path']})")
    return frame


def _largest_confusion(counts: np.ndarray) -> tuple[int, int]:
    """(true, predicted) of the largest off-diagonal share of the row-normalised matrix; ties go to row-major order."""
    support = counts.sum(axis=1, keepdims=True)
    share = np.where(support > 0, counts / np.maximum(support, 1), 0.0)  # (C, C)
    np.fill_diagonal(share, -1.0)
    t, p = np.unravel_index(int(np.argmax(share)), share.shape)
    return int(t), int(p)


def classifier_rows(records: pd.DataFrame | None, main_depth: int | None = None, main_seed: int | None = None,
                    n_boot: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """Accuracy and macro-F1 over seeds, recall per class and largest confusion of the main model, per regime.

    ``records`` from ``read_eval_metrics`` (None: not run). ``main_depth`` may be left out when the records
    hold one depth; ``main_seed`` defaults to the first seed listed for each regime (the workflow lists the
    configured seeds in order, so that is the main model).
    """
    if records is not None and not records.empty:
        depths = sorted(records["depth"].unique())
        if main_depth is None:
            if len(depths) > 1:
                raise ValueError(f"metrics of several depths {depths}: say which is the main depth")
            main_depth = int(depths[0])
        elif main_depth not in depths:
            raise ValueError(f"no metrics of the main depth {main_depth} (depths given: {depths})")
    rows: list[dict[str, Any]] = []
    for regime in REGIMES:
        sel = None if records is None else records[(records["regime"] == regime) & (records["depth"] == main_depth)]
        where = f"{regime}-length model" + (f", depth {main_depth}" if main_depth is not None else "")
        # one model: its own accuracy, not a mean
        over = "mean over training seeds" if sel is None or len(sel) != 1 else "one training seed"
        acc_desc = f"{where}: noiseless test accuracy ({over})"
        f1_desc = f"{where}: macro-F1 on the test set ({over})"
        if sel is None or sel.empty:
            rows.append(_not_run(f"accuracy_{regime}", acc_desc, PERCENT))
            rows.append(_not_run(f"macro_f1_{regime}", f1_desc, F1))
            rows += [_not_run(f"recall_{regime}_{c}", f"{where}: recall of {c} (main model)", PERCENT)
                     for c in CLASS_NAMES]
            rows.append(_not_run(f"confusion_{regime}", f"{where}: largest confusion (main model)", PERCENT))
            continue
        seeds = [int(s) for s in sel["seed"]]
        if len(sel) >= 2:
            source = "; ".join(sel["path"])
            for key, desc, unit in (("accuracy", acc_desc, PERCENT), ("macro_f1", f1_desc, F1)):
                ci = t_interval(100 * sel[key].to_numpy(float), limits=(0.0, 100.0))
                mean, lo, hi = ci.mean, ci.low, ci.high
                rows.append(_row(f"{key}_{regime}", desc, mean, lo, hi, len(sel), _seeds_text(seeds), source, unit,
                                 "t CI over seeds"))
        else:
            only = sel.iloc[0]
            counts = only["counts"]
            n_test = int(counts.sum())
            lo, hi = wilson_interval(int(np.trace(counts)), n_test)
            rows.append(_row(f"accuracy_{regime}", acc_desc, 100 * only["accuracy"], 100 * lo, 100 * hi, n_test,
                             _seeds_text(seeds), only["path"], PERCENT, f"Wilson CI over {n_test} test trajectories"))
            lo, hi = bootstrap_macro_f1(counts, n_boot, derive_seed(seed, "summary", "macro_f1", regime))
            rows.append(_row(f"macro_f1_{regime}", f1_desc, 100 * only["macro_f1"], 100 * lo, 100 * hi, n_test,
                             _seeds_text(seeds), only["path"], F1, f"bootstrap CI over {n_test} test trajectories"))
        chosen = seeds[0] if main_seed is None else main_seed
        main = sel[sel["seed"] == chosen]
        if main.empty:
            raise ValueError(f"no {regime} metrics of the main seed {chosen} at depth {main_depth} (seeds: {seeds})")
        main = main.iloc[0]
        counts = main["counts"]
        for k, name in enumerate(CLASS_NAMES):
            support = int(counts[k].sum())
            if support == 0:
                raise ValueError(f"{main['path']}: no test trajectory of class {name}, so no recall")
            desc = f"{where}: recall of {name} (main model, seed {chosen})"
            rows.append(_proportion_row(f"recall_{regime}_{name}", desc, int(counts[k, k]), support,
                                        f"{name} trajectory", main["path"]))
        t, p = _largest_confusion(counts)
        desc = f"{where}: largest confusion, true -> predicted, share of the true class (main model, seed {chosen})"
        rows.append(_proportion_row(f"confusion_{regime}", desc, int(counts[t, p]), int(counts[t].sum()),
                                    f"{CLASS_NAMES[t]} trajectory", main["path"],
                                    label=f"{CLASS_NAMES[t]} -> {CLASS_NAMES[p]}"))
    return rows


# --- erasing ---------------------------------------------------------------------------------------------------


def _bin_label(b: int, n_bins: int) -> str:
    return f"{100 * b / n_bins:g}-{100 * (b + 1) / n_bins:g} %"


ERASING_NOT_COMPARABLE = "not comparable: the paper's code erased padding too (see the padding-included rows)"


def erasing_rows(path: str | Path | None, stage: str = "layer4", correctness: str | Path | None = None,
                 n_boot: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """Grad-CAM accuracy per percentile bin, nothing erased, and each control's mean over bins (class "all").

    With the per-trajectory ``correctness`` file, Grad-CAM minus a control gets a paired bootstrap over
    test trajectories; without it, only a t interval over control seeds, which ignores the Grad-CAM
    arm's sampling error over trajectories (65 % coverage in simulation) and says so in its method.

    The result ids of a run that ranked the padding too (the paper's code) are plain and carry the paper's
    values; those of a trajectory-segments run end in ``_trajectory`` and say the paper is not comparable.
    """
    if path is None:
        rows = [_not_run("erasing_none", "erasing: accuracy with nothing erased", PERCENT)]
        rows += [_not_run(f"erasing_gradcam_bin{b}", f"erasing: Grad-CAM bin {_bin_label(b, PAPER_BINS)} erased",
                          PERCENT) for b in range(PAPER_BINS)]
        rows += [_not_run(f"erasing_{m}_mean", f"erasing: {m} control, mean over bins", PERCENT)
                 for m in ERASING_CONTROLS]
        rows += [_not_run(f"erasing_minus_{m}_bin{b}", f"erasing: Grad-CAM minus {m} control, bin "
                          f"{_bin_label(b, PAPER_BINS)}", POINTS) for m in ERASING_CONTROLS for b in (0, PAPER_BINS - 1)]
        return rows
    return _erasing_run(path, stage, correctness, n_boot, seed)[1]


def _check_pairing(path: str | Path, cam: pd.DataFrame, correctness: str | Path,
                   correct: dict[str, np.ndarray]) -> None:
    """A correctness file belongs to an erasing table when its Grad-CAM results give the table's Grad-CAM
    accuracies (``cam``: class "all", one row per bin in order), which the erasing command computed from them."""
    per_bin = correct["gradcam"].astype(np.float64).mean(axis=0)
    table = cam["accuracy"].to_numpy(float)
    if per_bin.shape != table.shape or not np.allclose(per_bin, table, rtol=0.0, atol=1e-9):
        raise ValueError(f"{correctness}: its Grad-CAM results do not give the accuracies of {path}; the two files "
                         "are not of the same erasing run")


def _erasing_run(path: str | Path, stage: str, correctness: str | Path | None, n_boot: int,
                 seed: int) -> tuple[str, list[dict[str, Any]]]:
    """(positions mode of the table, its rows): the body of ``erasing_rows`` for one table."""
    frame = read_table(path, ["stage", "bin", "method", "seed", "class", "accuracy", "n"], "erasing table")
    frame = frame[(frame["stage"] == stage) & (frame["class"] == "all")]
    if frame.empty:
        raise ValueError(f"{path}: no rows of stage {stage} and class 'all'")
    positions = positions_of(frame)
    where = f"{stage}, {POSITIONS_TEXT[positions]}"
    rows = []
    none = frame[frame["method"] == "none"]
    if len(none) != 1:
        raise ValueError(f"{path}: expected one 'none' row (nothing erased) for {stage}, found {len(none)}")
    n = int(none["n"].iloc[0])
    rows.append(_proportion_row("erasing_none", f"erasing ({where}): accuracy with nothing erased",
                                int(round(none["accuracy"].iloc[0] * n)), n, "test trajectory", path))
    cam = frame[frame["method"] == "gradcam"].sort_values("bin")
    if cam.empty or cam["bin"].duplicated().any():
        raise ValueError(f"{path}: expected exactly one Grad-CAM row per bin for {stage}")
    n_bins = int(cam["bin"].max()) + 1
    if list(cam["bin"]) != list(range(n_bins)):
        raise ValueError(f"{path}: Grad-CAM bins {list(cam['bin'])} are not 0..{n_bins - 1}")
    for b, acc, n in zip(cam["bin"], cam["accuracy"], cam["n"]):
        # The paper's values are for deciles; other binnings get no paper value beside them.
        result = f"erasing_gradcam_bin{b}" if n_bins == PAPER_BINS else f"erasing_gradcam_bin{b}_of{n_bins}"
        rows.append(_proportion_row(result, f"erasing ({where}): Grad-CAM bin {_bin_label(int(b), n_bins)} erased",
                                    int(round(acc * n)), int(n), "test trajectory", path))
    differences: list[dict[str, Any]] = []
    paired = paired_differences(frame)
    boot = None
    if correctness is not None:
        labels, correct = read_correctness(correctness)
        if correct["gradcam"].shape[1] != n_bins:
            raise ValueError(f"{correctness}: {correct['gradcam'].shape[1]} bins, the erasing table {n_bins}")
        _check_pairing(path, cam, correctness, correct)
        boot = trajectory_bootstrap_differences(labels, correct, CLASS_NAMES, n_boot, seed)
        boot = boot[boot["class"] == "all"].set_index(["control", "bin"])
    for method in ERASING_CONTROLS:
        ctl = frame[frame["method"] == method]
        desc = f"erasing ({where}): {method} control, mean over {n_bins} bins"
        if ctl.empty:
            raise ValueError(f"{path}: no rows of the {method} control for {stage}")
        per_seed = ctl.groupby("seed")["accuracy"].mean()
        ci = t_interval(100 * per_seed.to_numpy(float), limits=(0.0, 100.0))
        mean, lo, hi = ci.mean, ci.low, ci.high
        seeds = len(per_seed)
        rows.append(_row(f"erasing_{method}_mean", desc, mean, lo, hi, seeds, _plural(seeds, "control seed"), path,
                         PERCENT, "t CI over control seeds" if seeds > 1 else ""))
        # Grad-CAM minus this control in the least and the most important bin: the same trajectories and
        # the same number of segments erased, only their place differs. Expected > 0, then < 0.
        for b in (0, n_bins - 1):
            desc = f"erasing ({where}): Grad-CAM minus {method} control, bin {_bin_label(b, n_bins)}"
            if boot is not None:
                r = boot.loc[(method, b)]
                n = int(r["n_traj"])
                differences.append(_row(f"erasing_minus_{method}_bin{b}", desc, 100 * r["mean"], 100 * r["low"],
                                         100 * r["high"], n, _plural(n, "test trajectory"), str(correctness),
                                         POINTS, str(r["ci_method"])))
                continue
            diff = 100 * paired.loc[(paired["control"] == method) & (paired["bin"] == b), "diff"].to_numpy(float)
            ci = t_interval(diff)
            mean, lo, hi = ci.mean, ci.low, ci.high
            differences.append(_row(f"erasing_minus_{method}_bin{b}", desc,
                             mean, lo, hi, len(diff), _plural(len(diff), "control seed"), path, POINTS,
                             "t CI over control seeds only (undercovers)" if len(diff) > 1 else ""))
    rows += differences
    if positions == "trajectory":
        # The paper's deciles ranked and erased the zero-padding too; beside a run that excludes it they
        # would read as a replication, so they stand only beside the padding-included run.
        for r in rows:
            if r["paper"]:
                r["paper"], r["paper_value"] = ERASING_NOT_COMPARABLE, math.nan
            r["result"] += "_trajectory"
    return positions, rows


def erasing_mode_rows(paths: Sequence[str | Path] | None, stage: str = "layer4",
                      correctness: Sequence[str | Path | None] | None = None, n_boot: int = 2000,
                      seed: int = 0) -> list[dict[str, Any]]:
    """``erasing_rows`` of each erasing run (one per positions mode), the padding-included run first."""
    if not paths:
        return erasing_rows(None)
    correctness = list(correctness) if correctness else [None] * len(paths)
    if len(correctness) != len(paths):
        raise ValueError(f"{len(paths)} erasing tables but {len(correctness)} correctness files")
    runs: dict[str, list[dict[str, Any]]] = {}
    for path, correct in zip(paths, correctness):
        mode, rows = _erasing_run(path, stage, correct, n_boot, seed)
        if mode in runs:
            raise ValueError(f"{path}: a second erasing table that ranked {POSITIONS_TEXT[mode]}")
        runs[mode] = rows
    return [r for mode in ("all", "trajectory") for r in runs.get(mode, [])]



# A fill is fit for purpose when erasing random segments costs little accuracy: the loss the uniform control
# shows then measures what was erased, not the fill. One row per fill, from its trajectory-segments run
# (random segments of the trajectory itself) or, without one, its padding-included run.
FILL_LOSS_CONTROL = "uniform"


def _fill_loss_row(path: str | Path, stage: str, correctness: str | Path | None) -> tuple[str, dict[str, Any]]:
    """(fill, row): no-erasing accuracy minus the uniform control's mean accuracy over bins and seeds."""
    frame = read_table(path, ["stage", "bin", "method", "seed", "class", "accuracy", "n"], "erasing table")
    fill = fill_of(frame)
    frame = frame[(frame["stage"] == stage) & (frame["class"] == "all")]
    none = frame.loc[frame["method"] == "none", ["accuracy", "n"]]
    ctl = frame[frame["method"] == FILL_LOSS_CONTROL]
    if len(none) != 1 or ctl.empty:
        raise ValueError(f"{path}: needs one 'none' row and the {FILL_LOSS_CONTROL} control for {stage}, class 'all'")
    base, n = float(none["accuracy"].iloc[0]), int(none["n"].iloc[0])
    n_bins = int(ctl["bin"].max()) + 1
    per_seed = ctl.groupby("seed")["accuracy"].mean().to_numpy(float)
    loss = 100 * (base - per_seed.mean())
    desc = (f"erasing ({FILL_TEXT[fill]}, {stage}, {POSITIONS_TEXT[positions_of(frame)]}): accuracy lost erasing "
            f"random segments, one bin's worth (1/{n_bins} of the ranked segments) at a time; small means the "
            "fill is fit for purpose")
    if correctness is not None:
        # Each trajectory's control correctness averaged over seeds and bins; the no-erasing arm is a
        # proportion of the same trajectories. Their pairing is ignored (no per-trajectory no-erasing
        # result is stored), which widens the interval when the two agree trajectory by trajectory.
        _, correct = read_correctness(correctness)
        _check_pairing(path, frame[frame["method"] == "gradcam"].sort_values("bin"), correctness, correct)
        per_traj = correct[FILL_LOSS_CONTROL].astype(np.float64).mean(axis=(0, 2))
        if len(per_traj) != n:
            raise ValueError(f"{correctness}: {len(per_traj)} trajectories, the erasing table {n}")
        se = math.sqrt(base * (1 - base) / n + per_traj.var(ddof=1) / n) if n > 1 else math.nan
        lo, hi = loss - 100 * 1.96 * se, loss + 100 * 1.96 * se
        return fill, _row(f"erasing_fill_{fill}_random_loss", desc, loss, lo, hi, n,
                          _plural(n, "test trajectory"), path, POINTS,
                          "normal CI, variances of both arms over trajectories added (pairing ignored)")
    ci = t_interval(100 * (base - per_seed))
    seeds = len(per_seed)
    return fill, _row(f"erasing_fill_{fill}_random_loss", desc, loss, ci.low, ci.high, seeds,
                      _plural(seeds, "control seed"), path, POINTS,
                      "t CI over control seeds only (ignores the trajectories' sampling error)" if seeds > 1 else "")


def erasing_fill_rows(paths: Sequence[str | Path] | None, stage: str = "layer4",
                      correctness: Sequence[str | Path | None] | None = None) -> list[dict[str, Any]]:
    """One row per fill (``FILLS`` order): the accuracy lost erasing random segments of ~1/bins of a trajectory.

    ``paths`` are erasing tables of any fills and positions modes; per fill, the trajectory-segments run is
    used when given, else the padding-included one. Without tables, the zero fill's row is "not run".
    """
    if not paths:
        return [_not_run("erasing_fill_zero_random_loss", "erasing (set to 0): accuracy lost erasing random "
                         "segments", POINTS)]
    correctness = list(correctness) if correctness else [None] * len(paths)
    if len(correctness) != len(paths):
        raise ValueError(f"{len(paths)} erasing tables but {len(correctness)} correctness files")
    chosen: dict[str, tuple[str, str | Path, str | Path | None]] = {}
    for path, correct in zip(paths, correctness):
        frame = read_table(path, ["stage", "class"], "erasing table")
        fill, positions = fill_of(frame), positions_of(frame)
        if fill in chosen and chosen[fill][0] == positions:
            raise ValueError(f"{path}: a second erasing table of the {fill} fill that ranked {POSITIONS_TEXT[positions]}")
        if fill not in chosen or positions == "trajectory":
            chosen[fill] = (positions, path, correct)
    return [_fill_loss_row(chosen[f][1], stage, chosen[f][2])[1] for f in FILLS if f in chosen]


# --- erasing curves, one line per run ----------------------------------------------------------------------------

# What the erasing-curves table keeps of each run, in its order: (quantity, the summary row it is read from, for a
# run of n_bins bins and result ids without the trajectory-segments suffix).
def _curve_rows(n_bins: int) -> dict[str, str]:
    of = "" if n_bins == PAPER_BINS else f"_of{n_bins}"
    last = n_bins - 1
    return {
        "nothing erased": "erasing_none",
        "Grad-CAM first bin": f"erasing_gradcam_bin0{of}",
        "Grad-CAM last bin": f"erasing_gradcam_bin{last}{of}",
        "run-length control": "erasing_run_length_mean",
        "uniform control": "erasing_uniform_mean",
        "Grad-CAM - run-length, first bin": "erasing_minus_run_length_bin0",
        "Grad-CAM - run-length, last bin": f"erasing_minus_run_length_bin{last}",
        "random-segment cost": "random_loss",
    }


CURVE_COLUMNS: tuple[str, ...] = ("run", "regime", "positions", "fill", "quantity", "estimate", "value", "ci_low",
                                  "ci_high", "n", "unit", "ci_method", "source")


def erasing_curves(paths: Sequence[str | Path], correctness: Sequence[str | Path | None] | None = None,
                   main_regime: str | None = None, stage: str = "layer4", n_boot: int = 2000,
                   seed: int = 0) -> pd.DataFrame:
    """Every erasing run (regime x positions mode x fill) in a few numbers, one group of rows per run: accuracy
    with nothing erased, Grad-CAM's first and last bin, each control's mean over bins, Grad-CAM minus the
    run-length control (the authors' own comparator) in the first and last bin, and the accuracy random segments
    cost (the fill's fitness); then, where the table counts them, the share of Grad-CAM's and the run-length
    control's erased segments that lie at a trajectory's end, first and last bin. Intervals and units as the
    summary's rows of the same ids; ``main_regime`` is the regime of the tables without a ``regime`` column (the
    main run's)."""
    if not paths:
        raise ValueError("no erasing tables given")
    correctness = list(correctness) if correctness else [None] * len(paths)
    if len(correctness) != len(paths):
        raise ValueError(f"{len(paths)} erasing tables but {len(correctness)} correctness files")
    rows, seen = [], set()
    for path, correct in zip(paths, correctness):
        frame = read_table(path, ["stage", "bin", "method", "seed", "class", "accuracy", "n"], "erasing table")
        regime, fill = regime_of(frame, main_regime), fill_of(frame)
        if regime is None:
            raise ValueError(f"{path}: no regime column, and the main run's regime was not given")
        positions, run_rows = _erasing_run(path, stage, correct, n_boot, seed)
        key = (regime, positions, fill)
        if key in seen:
            raise ValueError(f"{path}: a second erasing table of the {regime}-length model, {POSITIONS_TEXT[positions]}, "
                             f"{FILL_TEXT[fill]}")
        seen.add(key)
        n_bins = sum(r["result"].startswith("erasing_gradcam_bin") for r in run_rows)
        by_id = {r["result"].removesuffix("_trajectory"): r for r in run_rows}
        by_id["random_loss"] = _fill_loss_row(path, stage, correct)[1]
        label = f"{regime} length, {POSITIONS_TEXT[positions]}, {FILL_TEXT[fill]}"
        run = {"run": label, "regime": regime, "positions": positions, "fill": fill}
        for quantity, result in _curve_rows(n_bins).items():
            r = by_id[result]
            rows.append({**run, "quantity": quantity, "estimate": _estimate(r["value"], r["ci_low"], r["ci_high"], r["unit"]),
                         **{k: r[k] for k in ("value", "ci_low", "ci_high", "n", "unit", "ci_method", "source")}})
        rows += [{**run, **r} for r in _end_rows(frame, stage, n_bins, str(path))]
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


# Where a bin's erased segments lie: at a trajectory's end (its first or last position) a gap has one kept
# neighbour, so what a fill puts there differs from a gap inside (hold and bridge: METHODS §5).
END_SHARE_METHOD = "exact: erased segments at an end / all erased segments, over the test trajectories"


def _end_rows(frame: pd.DataFrame, stage: str, n_bins: int, source: str) -> list[dict]:
    """The share of erased segments that lie at a trajectory's end, in Grad-CAM's and the run-length control's
    first and last bin (the control: over its seeds); none for a table written before erasing counted them."""
    if "ends" not in frame:
        return []
    table = frame[(frame["stage"] == stage) & (frame["class"] == "all") & (frame["bin"] >= 0)]
    rows = []
    for method, name in (("gradcam", "Grad-CAM"), ("run_length", "run-length control")):
        for b, which in ((0, "first"), (n_bins - 1, "last")):
            cell = table[(table["method"] == method) & (table["bin"] == b)]
            if cell.empty:
                continue
            value = 100 * cell["ends"].sum() / cell["segments"].sum() if cell["segments"].sum() else float("nan")
            method_text = END_SHARE_METHOD + ("" if method == "gradcam" else f", pooled over {len(cell)} control seeds")
            rows.append({"quantity": f"erased segments at a track end, {name}, {which} bin",
                         "estimate": _estimate(value, float("nan"), float("nan"), PERCENT), "value": value,
                         "ci_low": float("nan"), "ci_high": float("nan"), "n": int(cell["n"].iloc[0]),
                         "unit": PERCENT, "ci_method": method_text, "source": source})
    return rows


# --- block heads -----------------------------------------------------------------------------------------------


def heads_of(accuracy: pd.DataFrame, balance: str) -> pd.DataFrame:
    """The rows of one set of block heads ("none": ours, "undersample": the paper's way) in the accuracy table of
    `andicam block-heads`; a table written before the balanced heads existed holds ours only."""
    if "balance" not in accuracy:
        return accuracy if balance == "none" else accuracy.iloc[:0]
    return accuracy[accuracy["balance"] == balance]


def block_rows(path: str | Path | None) -> list[dict[str, Any]]:
    """Accuracy of the linear heads after layer1/2/3 on their merged labels (evaluation set): block_<cut> for the
    heads trained and scored on group-balanced undersamples (the paper's way, beside its values), block_<cut>_all
    for ours on every trajectory. A table written before the balanced heads existed has rows of ours only."""
    balanced_text = "block head after {cut}, groups balanced by undersampling (the paper's way): accuracy"
    ours_text = "block head after {cut}, all trajectories: accuracy"
    if path is None:
        return [_not_run(f"block_{cut}{suffix}", text.format(cut=cut) + " on merged labels", PERCENT)
                for cut in BLOCK_CUTS for suffix, text in (("", balanced_text), ("_all", ours_text))]
    frame = read_table(path, ["cut", "n_groups", "eval_accuracy", "majority_baseline", "n_eval"], "block-heads table")
    rows = []
    for cut in BLOCK_CUTS:
        for suffix, balance, text in (("", "undersample", balanced_text), ("_all", "none", ours_text)):
            heads = heads_of(frame, balance)
            sel = heads[heads["cut"] == cut]
            if len(sel) > 1:
                raise ValueError(f"{path}: expected one row for cut {cut} ({balance}), found {len(sel)}")
            if sel.empty:
                rows.append(_not_run(f"block_{cut}{suffix}", text.format(cut=cut) + " on merged labels", PERCENT))
                continue
            r = sel.iloc[0]
            n = int(r["n_eval"])
            desc = (text.format(cut=cut) + f" on {int(r['n_groups'])} merged groups "
                    f"(majority baseline {100 * r['majority_baseline']:.1f} %)")
            rows.append(_proportion_row(f"block_{cut}{suffix}", desc, int(round(r["eval_accuracy"] * n)), n,
                                        "test trajectory", path))
    return rows


# --- augmentation ----------------------------------------------------------------------------------------------


def augment_rows(path: str | Path | None, draw: str = "with_replacement",
                 sigmas: Sequence[float] | None = None) -> list[dict[str, Any]]:
    """Targeted and random mean accuracy and their paired difference at each noise level of one set-up, with
    t intervals over seeds.

    ``draw`` names the set-up (``andicam.paper.AUGMENT_SETUPS``: with_replacement is the authors' set-up F,
    notebooks their set-up V); its claimed levels are the rows (true sigma), each beside the paper's value.
    A draw of neither set-up gets rows at ``AUGMENT_SIGMAS`` with keys of its own and no paper value.
    """
    setup = AUGMENT_SETUPS.get(draw)
    if sigmas is None:
        sigmas = setup.claim_sigmas() if setup else AUGMENT_SIGMAS
    where = f"set-up {setup.name}" if setup else f"draw {draw}"

    def level(s: float) -> str:
        point = setup.point(s) if setup else None
        nominal = f" (the authors' nominal {point.nominal:g})" if point and point.nominal != point.sigma else ""
        return f"noise sigma {s:g}{nominal}"

    descriptions = {
        # layer4 -> average pooling -> fc makes a map's time-mean (logit - bias) / 32 (METHODS §4)
        "targeted": (f"augmentation ({where}): Grad-CAM-targeted arm (= the highest true-class logits, as a layer4 "
                     "map's mean is (logit - bias) / 32), test accuracy at {level}"),
        "random": f"augmentation ({where}): random arm, test accuracy at {{level}}",
        "targeted-random": f"augmentation ({where}): targeted - random, paired by seed, at {{level}}",
    }

    def key(arm: str, s: float) -> str:
        return augment_key(setup, arm, s, draw)

    if path is None:
        return [_not_run(key(arm, s), descriptions[arm].format(level=level(s)),
                         POINTS if arm == "targeted-random" else PERCENT) for s in sigmas for arm in AUGMENT_ARMS]
    frame = read_table(path, ["arm", "sigma", "metric", "n", "mean", "ci_low", "ci_high", "ci_method"],
                      "augmentation summary")
    frame = frame[frame["metric"] == "accuracy"]
    rows = []
    for s in sigmas:
        at_level = np.isclose(frame["sigma"].to_numpy(float), s, atol=SIGMA_TOLERANCE)
        for arm in AUGMENT_ARMS:
            result = key(arm, s)
            desc = descriptions[arm].format(level=level(s))
            unit = POINTS if arm == "targeted-random" else PERCENT
            if not at_level.any():
                # The noise levels are a config choice (augment.sigmas); one the run left out is no error.
                row = _not_run(result, desc, unit)
                levels = ", ".join(f"{v:g}" for v in sorted(frame["sigma"].unique()))
                rows.append({**row, "this_run": f"level not evaluated (levels: {levels})", "source": str(path)})
                continue
            sel = frame[(frame["arm"] == arm) & at_level]
            if len(sel) != 1:
                raise ValueError(f"{path}: expected one accuracy row for arm {arm} at sigma {s:g}, found {len(sel)}")
            word = "seed pair" if arm == "targeted-random" else "retraining seed"
            rows.append(_aggregate_row(result, desc, sel.iloc[0], word, path, unit))
        for arm, text in AUGMENT_DIAGNOSTICS.items():
            sel = frame[(frame["arm"] == arm) & at_level]
            if not sel.empty:  # absent: an arm the set-up did not retrain
                rows.append(_aggregate_row(key(arm, s), f"augmentation ({where}): {text}, paired by seed, at "
                                           f"{level(s)}", sel.iloc[0], "seed pair", path, POINTS))
    return rows


def _aggregate_row(result: str, description: str, r: pd.Series, word: str, path: str | Path,
                   unit: str) -> dict[str, Any]:
    """A summary row of one accuracy row of ``andicam augment-aggregate`` (shares, shown in % or points)."""
    n = int(r["n"])
    return _row(result, description, 100 * r["mean"], 100 * r["ci_low"], 100 * r["ci_high"], n, _plural(n, word),
                path, unit, str(r["ci_method"]) if n > 1 else "")


def augment_set_up_rows(paths: Sequence[str | Path], draws: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The rows of every set-up given (``augment_rows``), then "not run" rows of the authors' set-ups that were not."""
    draws = list(draws) if draws is not None else ["with_replacement"] * len(paths)
    if len(draws) != len(paths):
        raise ValueError(f"{len(paths)} augmentation summaries but {len(draws)} draws; give one each")
    if len(set(draws)) != len(draws):
        raise ValueError(f"augmentation draws {draws} repeat one: each set-up's rows would be written twice")
    rows = [row for path, draw in zip(paths, draws) for row in augment_rows(path, draw)]
    return rows + [row for draw in AUGMENT_SETUPS if draw not in draws for row in augment_rows(None, draw)]


# --- correlations ----------------------------------------------------------------------------------------------


def correlation_rows(path: str | Path | None, stage: str = "layer4") -> list[dict[str, Any]]:
    """Pearson r of Grad-CAM with a window statistic for the cells the paper names, train split."""
    rows = []
    frame = None
    if path is not None:
        frame = read_table(path, ["stage", "statistic", "class", "method", "r", "ci_low", "ci_high", "n_traj"],
                          "relevance table")
        frame = frame[(frame["stage"] == stage) & (frame["method"] == "pearson")]
    for cls, statistic in CORRELATION_CELLS:
        result = f"corr_{cls}_{statistic}"
        desc = f"Pearson r of {stage} Grad-CAM with {statistic} in {cls} (train)"
        if frame is None:
            rows.append(_not_run(result, desc, R))
            continue
        sel = frame[(frame["class"] == cls) & (frame["statistic"] == statistic)]
        if len(sel) != 1:
            raise ValueError(f"{path}: expected one Pearson row for {cls} x {statistic} at {stage}, found {len(sel)}")
        r = sel.iloc[0]
        n = int(r["n_traj"])
        rows.append(_row(result, desc, r["r"], r["ci_low"], r["ci_high"], n, _plural(n, "trajectory"), path, R,
                         "bootstrap CI over trajectories"))
    # A layer4 map's time-mean is the logit, so the pooled r also says how confidence follows the statistic;
    # the within-trajectory r (maps and statistics centred per trajectory) only where along a trajectory
    # the map is high. The paper reports pooled values only.
    within = None if path is None else read_table(path, ["stage", "method"], "relevance table")
    if within is not None:
        within = within[(within["stage"] == stage) & (within["method"] == "pearson_within")]
    for cls, statistic in CORRELATION_CELLS:
        result = f"corr_within_{cls}_{statistic}"
        desc = f"Within-trajectory Pearson r of {stage} Grad-CAM with {statistic} in {cls} (train)"
        sel = None if within is None else within[(within["class"] == cls) & (within["statistic"] == statistic)]
        if sel is None or len(sel) != 1:  # not run, or a table from before the within-trajectory method
            rows.append(_not_run(result, desc, R))
            continue
        r = sel.iloc[0]
        n = int(r["n_traj"])
        rows.append(_row(result, desc, r["r"], r["ci_low"], r["ci_high"], n, _plural(n, "trajectory"), path, R,
                         "bootstrap CI over trajectories"))
    return rows


# --- layer response --------------------------------------------------------------------------------------------


def response_rows(path: str | Path | None, mass: float = PAPER_RESPONSE_MASS) -> list[dict[str, Any]]:
    """The layer4 window of the paper's "each layer4 position sees 200-350 steps": the span holding ``mass`` of
    each position's impulse response; the median over the positions with their range (one fixed model: a range
    over positions, not a confidence interval; the edge positions' spans are cut by the input's ends)."""
    key = "response_layer4_width"
    desc = (f"layer response: steps seen by a layer4 position (the span holding {100 * mass:.0f} % of its response "
            "to unit impulses; trained model, eval mode)")
    if path is None:
        return [_not_run(key, desc, STEPS)]
    from andicam.response import position_windows, read_response  # imports torch: only when there is a file

    responses, _ = read_response(str(path))
    if "layer4" not in responses:
        raise ValueError(f"{path}: no layer4 response")
    widths = position_windows(responses["layer4"], mass)["width_mass"].to_numpy(dtype=float)
    n = int(widths.size)
    return [_row(key, desc + f"; median over positions, {widths[n // 2]:.0f} at the central one",
                 float(np.median(widths)), float(widths.min()), float(widths.max()), n, _plural(n, "position"),
                 path, STEPS, "range over positions (not a CI)")]


# --- feature ablation ------------------------------------------------------------------------------------------

# The paper's two ablation numbers (METHODS §6), both for mode "for" (the window where the statistic is largest
# gets a transplant that lowers it): where SupLW's new errors go when its SG is lowered, and what lowering VD costs
# SubATTM.
ABLATION_SHARE = ("SupLW", "SG", "SupFBM")
ABLATION_DROP = ("SubATTM", "VD")
ABLATION_COLUMNS: tuple[str, ...] = ("label", "mode", "statistic", "predicted_before", "predicted_after")


def ablation_rows(path: str | Path | None) -> list[dict[str, Any]]:
    """The share of a class's new errors that go to one class (Wilson over those errors) and a class's accuracy
    drop (Newcombe's paired interval over its trajectories, before and after the transplant)."""
    cls, stat, dest = ABLATION_SHARE
    share_key, share_desc = (f"ablation_{cls}_{stat}_to_{dest}",
                             f"feature ablation: {stat} lowered in {cls} (its largest-{stat} window transplanted), "
                             f"share of the new errors that go to {dest}")
    d_cls, d_stat = ABLATION_DROP
    drop_key, drop_desc = (f"ablation_{d_cls}_{d_stat}_drop",
                           f"feature ablation: {d_stat} lowered in {d_cls}, accuracy lost")
    if path is None:
        return [_not_run(share_key, share_desc, PERCENT), _not_run(drop_key, drop_desc, POINTS)]
    frame = read_table(path, ABLATION_COLUMNS, "feature-ablation transplant table")
    frame = frame[frame["mode"] == "for"]
    rows = []
    sel = frame[(frame["statistic"] == stat) & (frame["label"] == CLASS_NAMES.index(cls))]
    new_errors = sel[(sel["predicted_before"] == sel["label"]) & (sel["predicted_after"] != sel["label"])]
    n = len(new_errors)
    if n == 0:
        rows.append({**_not_run(share_key, share_desc, PERCENT), "source": str(path),
                     "this_run": f"no new errors among {_plural(len(sel), 'trajectory')}"})
    else:
        hits = int((new_errors["predicted_after"] == CLASS_NAMES.index(dest)).sum())
        lo, hi = wilson_interval(hits, n)
        rows.append(_row(share_key, share_desc, 100 * hits / n, 100 * lo, 100 * hi, n,
                         f"{_plural(n, 'new error')} of {_plural(len(sel), 'trajectory')}", path, PERCENT,
                         "Wilson CI"))
    sel = frame[(frame["statistic"] == d_stat) & (frame["label"] == CLASS_NAMES.index(d_cls))]
    if sel.empty:
        rows.append(_not_run(drop_key, drop_desc, POINTS))
        return rows
    before = (sel["predicted_before"] == sel["label"]).to_numpy()
    after = (sel["predicted_after"] == sel["label"]).to_numpy()
    diff, lo, hi = paired_proportion_difference(int((before & after).sum()), int((before & ~after).sum()),
                                                int((~before & after).sum()), int((~before & ~after).sum()))
    rows.append(_row(drop_key, drop_desc + f" (from {100 * before.mean():.1f} to {100 * after.mean():.1f} %)",
                     100 * diff, 100 * lo, 100 * hi, len(sel), _plural(len(sel), "trajectory"), path, POINTS,
                     PAIRED_PROPORTIONS_METHOD))
    return rows


# --- the table -------------------------------------------------------------------------------------------------


def summarize(
    eval_metrics: Sequence[str | Path] | None = None,
    erasing: str | Path | Sequence[str | Path] | None = None,
    blocks: str | Path | None = None,
    augment: str | Path | Sequence[str | Path] | None = None,
    relevance: str | Path | None = None,
    ablation: str | Path | None = None,
    response: str | Path | None = None,
    *,
    main_depth: int | None = None,
    main_seed: int | None = None,
    erasing_stage: str = "layer4",
    erasing_correctness: str | Path | Sequence[str | Path] | None = None,
    erasing_fills: Sequence[str | Path] | None = None,
    erasing_fills_correctness: Sequence[str | Path] | None = None,
    augment_draws: Sequence[str] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """The whole summary table (columns ``COLUMNS``); a group whose input is None is listed as "not run".

    ``augment`` is one augmentation summary or one per set-up, ``augment_draws`` the draw of each (default
    with_replacement, set-up F); the authors' set-ups not given have "not run" rows.

    ``erasing`` is one erasing table or one per positions mode (zero fill), ``erasing_correctness`` as many
    files; ``erasing_fills`` the tables of every fill and mode (zero's included), for the fill rows, which
    fall back on ``erasing`` when not given.
    """
    records = read_eval_metrics(eval_metrics) if eval_metrics else None
    rows = classifier_rows(records, main_depth, main_seed, n_boot, seed)
    rows += erasing_mode_rows(_as_list(erasing), erasing_stage, _as_list(erasing_correctness), n_boot, seed)
    if erasing_fills is None:
        erasing_fills, erasing_fills_correctness = _as_list(erasing), _as_list(erasing_correctness)
    rows += erasing_fill_rows(_as_list(erasing_fills), erasing_stage, _as_list(erasing_fills_correctness))
    rows += block_rows(blocks)
    rows += augment_set_up_rows(_as_list(augment) or [], augment_draws)
    rows += response_rows(response)
    rows += correlation_rows(relevance)
    rows += ablation_rows(ablation)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _as_list(paths: str | Path | Sequence[str | Path] | None) -> list[str | Path] | None:
    if paths is None:
        return None
    return [paths] if isinstance(paths, (str, Path)) else list(paths)


def markdown_cell(text: Any) -> str:
    """Text as one markdown table cell (its pipes escaped)."""
    return str(text).replace("|", "\\|")


def summary_markdown(df: pd.DataFrame, run_name: str | None = None, seed: int | None = None) -> str:
    """Markdown: a header line (run name and master seed when given), then one table line per row."""
    missing = {"description", "this_run", "paper"} - set(df.columns)
    if missing:
        raise ValueError(f"summary table lacks column(s) {', '.join(sorted(missing))}")
    details = [f"run {run_name}" if run_name else "", f"master seed {seed}" if seed is not None else ""]
    details = [d for d in details if d]
    head = "# andicam results summary" + (f" ({', '.join(details)})" if details else "")
    lines = [head, "", "Paper values: Bae, Baek, Jeong 2024, as quoted in METHODS.md §6. Intervals are 95 %.", "",
             "| result | this run | paper |", "|---|---|---|"]
    lines += [f"| {markdown_cell(d)} | {markdown_cell(t)} | {markdown_cell(p)} |"
              for d, t, p in zip(df["description"], df["this_run"], df["paper"])]
    return "\n".join(lines) + "\n"


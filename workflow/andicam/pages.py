"""A run's results page in docs/: every number on it is read from the run's tables, none is typed.

The workflow's ``docs_page`` rule (``andicam render-page``) collects the run's small result tables,
its per-job timings and where it ran into one *record* (JSON), and renders the page from the record
alone. Both are written under ``docs/runs/``: the record is the page's source, so a test re-renders
every committed page from its record and fails when a number on the page was edited by hand, and a
reader can trace each number to the table (and the rule) that produced it.

The page's prose says what each table is and how to read it, never what a run measured.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from andicam.files import atomic_output, write_json
from andicam.summary import REGIMES

FORMAT = "andicam-record/1"
# The rule that writes a run's own page; pages of a single stage are written by rules that reuse it.
DEFAULT_RULE = "docs_page"


@dataclass(frozen=True)
class Section:
    """One table of the page: where it comes from, what it shows, and how to lay it out.

    ``columns`` keeps (and orders) those columns, renamed by ``headers``; ``pivot`` = (index, columns,
    values) spreads a long table into a grid (e.g. class x noise level).
    """

    key: str
    title: str
    source: str  # the results file (and the rule that writes it), as the page names it
    about: str
    columns: tuple[str, ...] | None = None
    headers: tuple[str, ...] | None = None
    pivot: tuple[str, str, str] | None = None
    query: str | None = None  # rows kept (a pandas query), e.g. one metric of a long table


# The claims table's columns a page shows (its description is the summary's, shown there).
CLAIMS_COLUMNS = ("claim", "group", "paper_value", "paper_low", "paper_high", "value", "ci_low", "ci_high", "diff_low",
                  "diff_high", "unit", "verdict")

# How a page shows a summary table: its text columns, renamed.
SUMMARY_COLUMNS = ("description", "this_run", "paper")
SUMMARY_HEADERS = ("result", "this run", "paper")


def _stage_sections(stage: str, title: str, rows: str, about: str) -> tuple[Section, Section]:
    """The two sections of one stage's own page (rules <stage>_summary and <stage>_claims): the summary's rows of
    that stage that ran (``about`` says what they are) and their claims; ``rows`` names the rows in the text."""
    return (
        Section(f"{stage}_summary", f"{title}: the summary's rows",
                f"results/tables/{stage}_summary.csv (rule {stage}_summary)", about,
                columns=SUMMARY_COLUMNS, headers=SUMMARY_HEADERS, query="this_run != 'not run'"),
        Section(f"{stage}_claims", f"{title}: the paper's claims",
                f"results/tables/{stage}_claims.csv (rule {stage}_claims)",
                f"The claims table (rule and columns as in the section on the paper's claims) of the summary's {rows} "
                "rows alone; claims of other experiments are left out.",
                columns=CLAIMS_COLUMNS, query="verdict != 'not run'"),
    )


SECTIONS: tuple[Section, ...] = (
    Section(
        "summary", "Headline results beside the paper's", "results/tables/summary.csv (rule summary)",
        "Each row names its interval's method and unit: t interval over training seeds for means of several "
        "models, Wilson interval over test trajectories for one model's accuracy or recall, paired t by "
        "retraining seed for augmentation differences, paired bootstrap over test trajectories for erasing "
        "differences, bootstrap over trajectories for correlations. The paper's values are those of METHODS "
        "§6; a row says when the paper computed its number differently.",
        columns=SUMMARY_COLUMNS, headers=SUMMARY_HEADERS),
    Section(
        "claims", "The paper's claims: reproduced, undecided or contradicted",
        "results/tables/claims.csv (rule claims)",
        "One row per number of the paper the summary holds, grouped by experiment. The interval judged is that "
        "of ours minus the paper's (diff_low, diff_high): this run's 95 % interval shifted by the paper's value "
        "or, where the paper's spread gives an interval of its own (paper_low, paper_high: the augmentation "
        "arms, mean +- SE over its models), both combined by MOVER. Reproduced: it lies within plus or minus a "
        "margin (2 points for percentages, points and 100 x macro-F1; 0.10 for r; 75 steps for the layer "
        "response, whose interval is the range over positions); contradicted: it lies wholly outside, or a "
        "correlation's interval excludes 0 on the side opposite to the paper's sign; undecided: it straddles an "
        "edge of the margin or the row has no interval; not comparable: the paper computed its number "
        "differently; not run: this run has no value.",
        columns=CLAIMS_COLUMNS),
    *_stage_sections(
        "augment", "Augmentation", "augmentation",
        "The summary's augmentation rows alone (rows this run did not run are left out): each set-up's arms at the "
        "paper's noise levels and targeted - random, mean over retraining seeds with a t (paired t) 95 % interval "
        "over the seeds, and the diagnostic arms' paired differences where they ran, rows beyond the paper."),
    *_stage_sections(
        "explain", "Explaining the main model", "explaining",
        "The summary's explaining rows alone (erasing, block heads, layer response, correlations, feature "
        "ablation of the main model; rows this run did not run are left out), each with its interval's method "
        "and unit as in the full summary."),
    Section(
        "erasing_curves", "Erasing: every run in a few numbers",
        "results/tables/erasing_curves.csv (rule erasing_curves)",
        "One row per erasing run: the model's regime (its own test data; fixed length has no padding), the "
        "positions ranked (the trajectory's own segments, or the padding too as the paper's code did) and what "
        "an erased segment becomes (set to 0: the paper's; the last position held; a Brownian bridge). Accuracy "
        "in percent, differences in points, each with its 95 % interval: Wilson over test trajectories for "
        "Grad-CAM's bins and nothing erased; t over control seeds for a control's mean over bins; paired "
        "bootstrap over test trajectories for Grad-CAM minus the run-length control (the authors' own "
        "comparator); for the random-segment cost (nothing erased minus the uniform control), a normal interval "
        "over trajectories. A fill is fit for purpose when that cost is small. Where a run counted them, the "
        "last columns give the share of the erased segments that lie at a track end (its first or last "
        "position, where a gap has one neighbour), exact counts without an interval.",
        pivot=("run", "quantity", "estimate")),
    *(Section(
        f"augment_{regime}", f"Augmentation, the {regime}-length set-up: accuracy of every arm at every noise level",
        f"results/augment/{regime}/summary.csv (rule augment_aggregate)",
        "Test accuracy (a share, not percent) against the noise std (step-std units, true sigma), per arm: the mean "
        "over retraining seeds (n) with a 95 % t interval over the seeds; a difference of two arms (a - b) is "
        "paired by retraining seed, on the seeds both arms have; the baseline is the one unaugmented main model.",
        columns=("arm", "sigma", "n", "mean", "se", "ci_low", "ci_high", "ci_method"),
        query="metric == 'accuracy'") for regime in REGIMES),
    *(Section(
        f"augment_overlap_{regime}", f"Augmentation, the {regime}-length set-up: how alike the arms' pools are",
        f"results/augment/{regime}/selection_overlap.csv (rule augment_overlap)",
        "Share of one ranked arm's pool (the top p % of each class) that another arm's pool also holds, over all "
        "classes, before any retraining; chance: what a pool drawn at random would share.",
        columns=("arm", "reference", "pool_size", "shared", "share", "chance"),
        query="`class` == 'all'") for regime in REGIMES),
    Section(
        "explained_seeds", "Explaining results per trained model",
        "results/tables/explained_seeds.csv (rule model_spread)",
        "Every explaining number of the summary (erasing, block heads, layer response, correlations, feature "
        "ablation) for the main-depth model of each explained training seed (explain.more_seeds; the first column "
        "is the main model), their mean and spread (largest minus smallest) over the models: what another training "
        "seed would change. Units as in the summary."),
    Section(
        "accuracy_vs_depth", "Test accuracy by depth and training seed",
        "results/tables/accuracy_vs_depth.csv (rule fig_accuracy_vs_depth)",
        "One row per trained model (fractions of the test trajectories, not percent)."),
    Section(
        "noise_robustness", "Noiseless against noise-robust models, test accuracy against localisation noise",
        "results/tables/noise_robustness.csv (rule fig_noise_robustness)",
        "Accuracy in percent, mean over training seeds with a 95 % t interval over the seeds, on every test "
        "trajectory (length bin 'all'); sigma is the noise std in units of the trajectory's step std.",
        columns=("regime", "kind", "sigma", "mean", "low", "high", "n_seeds", "n_trajectories"),
        query="metric == 'accuracy' and length_bin == 'all'"),
    Section(
        "noise_estimator_bias_fixed", "Noise estimate per track against the true noise, fixed length",
        "results/tables/noise_estimator_bias_fixed.csv (rule noise_estimator_bias)",
        "Median of predict's per-track noise estimate (noise_est) over the test tracks of each class, one "
        "column per true sigma (step-std units). Medians, because a track that is all noise reads at the cap.",
        pivot=("class", "sigma", "median")),
    Section(
        "noise_estimator_bias_variable", "Noise estimate per track against the true noise, variable length",
        "results/tables/noise_estimator_bias_variable.csv (rule noise_estimator_bias)",
        "As above, for tracks of 10 to 1000 points.", pivot=("class", "sigma", "median")),
    Section(
        "andi2020_scores", "AnDi 2020 Task 2 (2-D): micro-F1 by track length and noise level",
        "results/tables/andi2020_scores.csv (rule andi2020_score)",
        "The challenge's metric (micro-F1, the share of tracks whose model is named correctly) per classifier on "
        "this run's benchmark set, generated with the challenge's recipe: overall ('all'), per track length "
        "(points) and per localisation-noise std (step std). Wilson 95 % intervals over tracks are in the record. "
        "Eight-class models are folded into the five models (BM split between FBM and SBM).",
        pivot=("model", "bin", "micro_f1")),
    Section(
        "msd_exponents", "The simulated data: ensemble-MSD exponent against the drawn alpha",
        "results/tables/msd_exponents.csv (rule fig_dataset_overview)",
        "Per class and alpha bin, the mean drawn exponent and the exponent fitted to the ensemble MSD of the "
        "bin's test trajectories: a check that the simulation diffuses as its labels say."),
)


# --- the record ------------------------------------------------------------------------------------------------


def _git(args: Sequence[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def code_version(workdir: str | Path) -> dict[str, Any]:
    """The commit the workflow ran from and whether its tracked files had uncommitted changes.

    Results, logs and docs/runs are the run's own outputs, so they do not count as changes."""
    where = Path(workdir)
    commit = _git(["rev-parse", "HEAD"], where)
    if commit is None:
        return {"commit": "unknown (not a git checkout)", "modified": None}
    status = _git(["status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)docs/runs"], where)
    return {"commit": commit, "modified": bool(status)}


def machine() -> dict[str, Any]:
    """Where the run was rendered: CPU model and its bf16 support, cores, GPU, library versions."""
    import torch

    from andicam.device import resolve_amp

    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    _, reason = resolve_amp(torch.device("cpu"), True)
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"cpu": model, "cores": len(os.sched_getaffinity(0)), "cpu_bf16": reason,
            "gpu": gpu, "python": platform.python_version(), "torch": torch.__version__}


def timings(benchmark_dir: str | Path) -> list[dict[str, Any]]:
    """Per group of jobs (a benchmark file's path with its seed or shard number read as ``*``): jobs, seconds, peak memory.

    Snakemake writes one TSV per job (``s`` wall seconds, ``max_rss`` MB); groups sort by total time."""
    root = Path(benchmark_dir)
    groups: dict[str, list[tuple[float, float]]] = {}
    for path in sorted(root.rglob("*.tsv")):
        frame = pd.read_csv(path, sep="\t")
        if frame.empty or not {"s", "max_rss"} <= set(frame.columns):
            continue
        rss = pd.to_numeric(frame["max_rss"], errors="coerce")
        row = (float(frame["s"].iloc[-1]), float(rss.iloc[-1]) if rss.notna().iloc[-1] else math.nan)
        name = re.sub(r"(seed|shard|diagnostic)\d+", r"\1*", path.relative_to(root).with_suffix("").as_posix())
        groups.setdefault(name, []).append(row)
    rows = [{"jobs": g, "n": len(v), "seconds": sum(s for s, _ in v), "longest_s": max(s for s, _ in v),
             "peak_rss_mb": max((r for _, r in v if not math.isnan(r)), default=None)}
            for g, v in groups.items()]
    return sorted(rows, key=lambda r: -r["seconds"])


def _records(frame: pd.DataFrame) -> dict[str, Any]:
    """JSON-safe columns and rows, in the CSV's column order whatever sorts the keys; NaN becomes None and
    every float keeps all its digits (Python's JSON writes the shortest repr that reads back exactly)."""
    cells = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    rows = [[v.item() if hasattr(v, "item") else v for v in row] for row in cells]
    return {"columns": [str(c) for c in frame.columns], "data": rows}


def build_record(run_name: str, config: Mapping[str, Any], tables: Mapping[str, str | Path],
                 benchmark_dir: str | Path | None, workdir: str | Path, presets: Sequence[str] = (),
                 rendered: str | None = None, rule: str = DEFAULT_RULE) -> dict[str, Any]:
    """Everything the page shows, read from the run's files (``tables``: section key -> CSV path; ``rule``: the
    workflow rule that writes the page, which names the target its command builds)."""
    unknown = set(tables) - {s.key for s in SECTIONS}
    if unknown:
        raise ValueError(f"no page section for table(s) {', '.join(sorted(unknown))}")
    return {
        "format": FORMAT,
        "run": {"name": run_name, "rule": rule, "master_seed": config.get("seed"), "presets": list(presets),
                "config": json.loads(json.dumps(config, default=str))},
        "provenance": {**code_version(workdir), **machine(),
                       "rendered": rendered or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")},
        "tables": {key: _records(pd.read_csv(path)) for key, path in tables.items()},
        "timings": timings(benchmark_dir) if benchmark_dir is not None and Path(benchmark_dir).is_dir() else [],
    }


def read_record(path: str | Path) -> dict[str, Any]:
    """A record written by ``build_record``; a file of another kind is named in the error."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable results record ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{path}: not an andicam results record (format {FORMAT!r} expected)")
    return record


# --- the page --------------------------------------------------------------------------------------------------


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value).replace("|", "\\|").replace("\n", " ")
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    return f"{value:.4g}"


def markdown_table(frame: pd.DataFrame) -> list[str]:
    """A markdown table; numbers to 4 significant digits (what the CSV holds, rounded, never re-derived)."""
    head = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_number(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return lines


def section_frame(section: Section, table: Mapping[str, Any]) -> pd.DataFrame:
    """The table of one section (``columns`` and ``data`` as the record holds them), laid out as the section says."""
    frame = pd.DataFrame(table["data"], columns=table["columns"])
    if section.query is not None and not frame.empty:
        frame = frame.query(section.query)
    if section.pivot is not None:
        index, columns, values = section.pivot
        grid = frame.pivot_table(index=index, columns=columns, values=values, aggfunc="first", sort=False)
        grid.columns = [f"{columns} {_number(c)}" for c in grid.columns]
        return grid.reset_index()
    if section.columns is not None:
        frame = frame[[c for c in section.columns if c in frame.columns]]
        if section.headers is not None:
            frame = frame.rename(columns=dict(zip(section.columns, section.headers)))
    return frame


def _config_line(config: Mapping[str, Any]) -> str:
    model, train, data = config.get("model", {}), config.get("train", {}), config.get("data", {})
    per_class = data.get("n_per_class", {})
    parts = [f"width {model.get('width')}", f"depths {model.get('depths')} (main {model.get('main_depth')})",
             f"training seeds {train.get('seeds')}", f"{train.get('epochs')} epochs, batch {train.get('batch_size')}, "
             f"lr {train.get('lr')} {train.get('schedule')}",
             f"trajectories per class and file {per_class}"]
    return "; ".join(parts)


def render_page(record: Mapping[str, Any]) -> str:
    """The page: provenance, then one section per table the record holds, then the jobs' timings."""
    run, prov = record["run"], record["provenance"]
    modified = {True: " (with uncommitted changes)", False: "", None: ""}[prov.get("modified")]
    presets = " ".join(f"--configfile {p}" for p in run.get("presets") or [])
    # Records written before the field existed were all the run page's (rule docs_page, built by `all`).
    rule = run.get("rule", DEFAULT_RULE)
    target = "" if rule == DEFAULT_RULE else f" {rule}"
    lines = [
        f"# Results of the run `{run['name']}`",
        "",
        f"> Written by the workflow (rule `{rule}`) from the run's tables; do not edit by hand: the tests",
        f"> re-render this page from its record (`{run['name']}.json` beside it) and compare.",
        "",
        f"- Command: `snakemake --cores all{target} {presets}`".rstrip() + "; master seed " + str(run.get("master_seed")),
        f"- Configuration: {_config_line(run.get('config', {}))} (the whole merged config is in the record)",
        f"- Code: commit {prov['commit']}{modified}",
        f"- Machine: {prov['cpu']}, {prov['cores']} cores; bf16 on the CPU: {prov['cpu_bf16']}; GPU: {prov['gpu']}",
        f"- Software: Python {prov['python']}, torch {prov['torch']}; rendered {prov['rendered']}",
    ]
    for section in SECTIONS:
        table = record["tables"].get(section.key)
        if table is None:
            continue
        lines += ["", f"## {section.title}", "", f"Source: `{section.source}`. {section.about}", ""]
        lines += markdown_table(section_frame(section, table))
    if record.get("timings"):
        names = {"jobs": "jobs (results/benchmarks/...)", "n": "n", "seconds": "total s", "longest_s": "longest s",
                 "peak_rss_mb": "peak memory MB"}
        frame = pd.DataFrame(record["timings"], columns=list(names)).rename(columns=names)
        lines += ["", "## Where the time went", "",
                  "Snakemake's benchmark of each job that declares one (wall seconds and peak resident memory per "
                  "job, summed or maximised per folder); jobs without a benchmark (figures, tables) are not listed.",
                  ""]
        lines += markdown_table(frame)
    return "\n".join(lines) + "\n"


def write_page(record: Mapping[str, Any], record_path: str | Path, page_path: str | Path) -> None:
    """Write the record and the page rendered from it, each complete or not at all."""
    write_json(record_path, record)
    with atomic_output(page_path) as tmp:
        tmp.write_text(render_page(record))

"""The Snakemake workflow: dry runs of every config and profile, and the tiny preset end to end."""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from andicam.pages import SECTIONS, read_record, render_page
from andicam.plots.registry import FIGURES
from helpers import copy_workflow, snakemake
from summary_sources import check_summary


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("wf"))


@pytest.mark.parametrize("args", [
    [],
    ["--configfile", "presets/quick.yaml"],
    ["--configfile", "presets/tiny.yaml"],
    ["--configfile", "presets/medium.yaml"],
    ["--configfile", "presets/cpu-paper.yaml"],
    ["fig_scaling", "--configfile", "presets/scaling.yaml"],
    ["fig_scaling"],
    ["--profile", "profiles/slurm"],
    ["--profile", "profiles/slurm", "--configfile", "presets/quick.yaml"],
], ids=["paper", "quick", "tiny", "medium", "cpu-paper", "scaling", "scaling-paper", "slurm-paper", "slurm-quick"])
def test_dry_run(workdir, args):
    run = snakemake(workdir, "-n", *args)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "simulate" in run.stdout


def test_paper_scale_dag_has_one_job_per_shard(workdir):
    run = snakemake(workdir, "-n", "data")
    assert run.returncode == 0, run.stderr[-3000:]
    # fixed 5 + 1 + 5 and variable 5 + 1 + 1 shards (METHODS §1)
    assert any(line.split() == ["simulate", "18"] for line in run.stdout.splitlines()), run.stdout


def test_one_figure_by_name(workdir):
    # Targets go before --configfile, which takes several files.
    run = snakemake(workdir, "-n", "fig_dataset_overview", "--configfile", "presets/quick.yaml")
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = {line.split()[0] for line in run.stdout.splitlines() if line.strip() and line.split()[-1].isdigit()}
    assert "fig_dataset_overview" in jobs and "all" not in jobs


@pytest.mark.slow
def test_data_do_not_depend_on_cores(tmp_path):
    """1 core and 2 cores produce byte-identical shard files."""
    outputs = []
    for cores in ("1", "2"):
        work = copy_workflow(tmp_path / f"cores{cores}")
        run = snakemake(work, "data", "--cores", cores, "--configfile", "presets/tiny.yaml")
        assert run.returncode == 0, run.stderr[-3000:]
        outputs.append(work / "results" / "data")
    files = sorted(p.relative_to(outputs[0]) for p in outputs[0].rglob("*.h5"))
    assert len(files) == 6
    match, mismatch, errors = filecmp.cmpfiles(outputs[0], outputs[1], [str(f) for f in files], shallow=False)
    assert not mismatch and not errors


# Every figure of `all`: the registry of `andicam plot` less the scaling study's own target.
FIGURE_NAMES = tuple(name for name in FIGURES if name != "scaling")


def test_every_figure_is_a_named_target(workdir):
    run = snakemake(workdir, "--list-rules")
    rules = set(run.stdout.split())
    assert {f"fig_{name}" for name in FIGURE_NAMES} <= rules


# The tiny run's targets: the whole DAG and the augmentation's and the explaining part's own pages, which are not
# part of `all`.
TINY_TARGETS = ("all", "augment_page", "explain_page")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny preset's whole DAG, run once, uninterrupted; the folder it ran in."""
    work = copy_workflow(tmp_path_factory.mktemp("tiny") / "wf")
    # Run as `.venv/bin/snakemake` from a shell without the venv on PATH: every job must still find the
    # interpreter (and its packages) that runs Snakemake.
    run = snakemake(work, *TINY_TARGETS, "--cores", "2", "--configfile", "presets/tiny.yaml", venv_on_path=False)
    assert run.returncode == 0, run.stderr[-5000:]
    return work


@pytest.mark.slow
def test_summary_and_docs_page_equal_their_sources(tiny_run):
    """Every number of the summary equals the file its row names; the docs page is its record rendered."""
    work = tiny_run
    summary = pd.read_csv(work / "results" / "tables" / "summary.csv")
    assert check_summary(work, summary) == summary["value"].notna().sum() > 60
    sections = {section.key: section for section in SECTIONS}
    augment_only, explain_only = {"augment_summary", "augment_claims"}, {"explain_summary", "explain_claims"}
    # the run's page holds every section but the stage pages' own; those pages, their stage's alone
    for name, keys in (("tiny", set(sections) - augment_only - explain_only),
                       ("tiny-augment", augment_only | {k for k in sections if k.startswith("augment_")}),
                       ("tiny-explain", explain_only | {"erasing_curves", "explained_seeds"})):
        record = read_record(work / "docs" / "runs" / f"{name}.json")
        assert (work / "docs" / "runs" / f"{name}.md").read_text() == render_page(record)
        assert record["run"]["presets"] == ["presets/tiny.yaml"] and record["run"]["master_seed"] == 2024
        assert set(record["tables"]) == keys, name
        for key in keys:  # the record holds each table exactly as the run wrote it
            table = pd.DataFrame(record["tables"][key]["data"], columns=record["tables"][key]["columns"])
            source = pd.read_csv(work / sections[key].source.split()[0])
            assert list(table.columns) == list(source.columns), key
            for column in source.columns:  # equal values; a missing value is None in JSON and NaN in the CSV
                mine, theirs = table[column].tolist(), source[column].tolist()
                assert [None if pd.isna(v) else v for v in mine] == [None if pd.isna(v) else v for v in theirs], column
    # the augmentation page: its claims are the full run's augmentation claims, and it shows no claim it did not run
    claims = pd.read_csv(work / "results" / "tables" / "claims.csv").set_index("claim")
    augment_claims = pd.read_csv(work / "results" / "tables" / "augment_claims.csv").set_index("claim")
    ran = augment_claims[augment_claims["verdict"] != "not run"]
    assert len(ran) >= 4 and ran.index.str.startswith("augment_").all()
    pd.testing.assert_frame_equal(ran, claims.loc[ran.index])
    page = (work / "docs" / "runs" / "tiny-augment.md").read_text()
    assert "| not run |" not in page and "| targeted-random |" in page
    # the explaining page: its claims are the full run's claims of the same rows, none of them a classifier's or
    # the augmentation's; its erasing table has a row per regime, positions mode and fill that ran
    explain_claims = pd.read_csv(work / "results" / "tables" / "explain_claims.csv").set_index("claim")
    ran = explain_claims[explain_claims["verdict"] != "not run"]
    assert len(ran) >= 10 and set(ran["group"]) >= {"erasing", "statistical relevance"}
    assert not ran.index.str.startswith(("augment_", "accuracy_", "recall_")).any()
    pd.testing.assert_frame_equal(ran, claims.loc[ran.index])
    curves = pd.read_csv(work / "results" / "tables" / "erasing_curves.csv")
    # eight numbers per run, and four shares of erased segments at a track end
    assert set(curves["regime"]) == {"fixed", "variable"} and curves.groupby("run").size().eq(12).all()
    ends = curves[curves["quantity"].str.startswith("erased segments at a track end")]
    assert ends["value"].between(0, 100).all() and len(ends) == 4 * curves["run"].nunique()
    assert "| not run |" not in (work / "docs" / "runs" / "tiny-explain.md").read_text()
    assert {t["jobs"] for t in record["timings"]} >= {"models/fixed/depth10/seed*", "data/fixed/train/shard*"}


def _tensors(obj: object, prefix: str = "") -> list[tuple[str, bytes]]:
    """Every tensor of a saved object (nested dicts and lists), by its path, as bytes."""
    if isinstance(obj, torch.Tensor):
        return [(prefix, obj.numpy().tobytes())]
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else []
    return [pair for key, value in items for pair in _tensors(value, f"{prefix}/{key}")]


def _outputs(work: Path) -> dict[str, object]:
    """What a run produced, comparable between runs: tables, data and maps byte for byte, models by weights.

    Left out: benchmarks, logs and training histories and metrics, which hold wall times."""
    out: dict[str, object] = {}
    for path in sorted((work / "results").rglob("*")):
        rel = path.relative_to(work).as_posix()
        if not path.is_file() or "/benchmarks/" in rel or "/predict/" in rel or path.name in {"history.csv", "metrics.json"} and (
                "/models/" in rel):
            continue
        if path.suffix == ".pt":  # weights and buffers; the metadata beside them holds wall times
            out[rel] = dict(_tensors(torch.load(path, map_location="cpu", weights_only=False)))
        elif path.suffix in {".csv", ".h5", ".npz", ".json", ".md"}:
            out[rel] = path.read_bytes()
    return out


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_outputs(tiny_run, tmp_path):
    """SIGKILL the whole Snakemake run (jobs included) mid-way, rerun it: the outputs equal an uninterrupted run's."""
    work = copy_workflow(tmp_path / "wf")
    args = [*TINY_TARGETS, "--cores", "2", "--configfile", "presets/tiny.yaml"]
    with subprocess.Popen([str(Path(sys.executable).parent / "snakemake"), *args], cwd=work,
                          env={**os.environ, "PYTHONHASHSEED": "0"}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True) as proc:
        # Mid-way: once the main models exist, while Grad-CAM, augmentation and robust training run.
        marker = work / "results" / "models" / "variable" / "depth10" / "seed0" / "model.pt"
        deadline = time.monotonic() + 900
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(3)
        os.killpg(proc.pid, signal.SIGKILL)
    unlock = snakemake(work, "--unlock", "--configfile", "presets/tiny.yaml")
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    again = snakemake(work, *args)
    assert again.returncode == 0, again.stderr[-5000:]
    mine, reference = _outputs(work), _outputs(tiny_run)
    assert sorted(mine) == sorted(reference)
    differ = [k for k in mine if mine[k] != reference[k]]
    assert not differ, differ


@pytest.mark.slow
def test_tiny_preset_end_to_end(tiny_run):
    work = tiny_run
    figures = work / "results" / "figures"
    for name in FIGURE_NAMES:
        for suffix in (".pdf", ".png"):
            assert (figures / f"{name}{suffix}").stat().st_size > 1000, name
    # set-up V retrains an arm beyond the paper's two in tiny, so it has an arms figure of its own; set-up F's
    # noise figure has no per-regime twin
    for name in ("augmentation_noise_variable", "augmentation_arms_variable"):
        assert (figures / f"{name}.pdf").stat().st_size > 1000, name
    assert not (figures / "augmentation_arms_fixed.pdf").exists()
    # Nothing half-written is left behind.
    assert not list((work / "results").rglob(".*.tmp*"))
    again = snakemake(work, "-n", "--configfile", "presets/tiny.yaml")
    assert "Nothing to be done" in again.stdout + again.stderr

    # The HTML report holds every figure with its caption, which names the config that made it.
    report = snakemake(work, "--report", "report.html", "--configfile", "presets/tiny.yaml")
    assert report.returncode == 0, report.stderr[-3000:]
    html = (work / "report.html").read_text(errors="replace")
    assert "dataset_overview.pdf" in html and "augmentation_noise.pdf" in html

    # The ranked arms' pools compared before any retraining, in every set-up: each against targeted, where
    # Grad-CAM points against the most probable. Least confident's pool is the bottom k of a class of n and
    # targeted's the top k, so with k >= n / 2 (p = 60 %) they share exactly the middle 2 k - n.
    for regime in ("fixed", "variable"):
        overlap = pd.read_csv(work / "results" / "augment" / regime / "selection_overlap.csv")
        assert len(overlap[overlap["class"] == "all"]) == 6 and overlap["share"].between(0, 1).all()
        least = overlap[(overlap["arm"] == "least_confident") & (overlap["class"] != "all")]
        assert len(least) == 8 and (least["shared"] == 2 * least["pool_size"] - least["n_class"]).all()

    # predict on a user's file, through the rule, with the trained main model.
    tracks = work / "tracks.csv"
    rows = ["track_id,frame,x,y"]
    rng = np.random.default_rng(0)
    for track in range(3):
        xy = rng.normal(size=(40 + 10 * track, 2)).cumsum(axis=0)
        rows += [f"{track},{t},{x:.4f},{y:.4f}" for t, (x, y) in enumerate(xy)]
    rows += ["9,0,1.0,1.0", "9,1,2.0,2.0"]  # too short: listed with its reason, not dropped
    tracks.write_text("\n".join(rows) + "\n")
    (work / "mine.yaml").write_text(f"predict:\n  input: {tracks}\n")
    pred = snakemake(work, "predict", "--cores", "1", "--configfile", "presets/tiny.yaml", "mine.yaml")
    assert pred.returncode == 0, pred.stderr[-3000:]
    table = pd.read_csv(work / "results" / "predict" / "predictions.csv")
    assert list(table["track_id"]) == [0, 1, 2, 9]
    assert list(table["status"]) == ["ok", "ok", "ok", "too short"]
    # By default the noise-robust model classifies the user's tracks, and the metadata says so.
    meta = json.loads((work / "results" / "predict" / "predictions.json").read_text())
    assert meta["model_kind"] == "robust" and meta["model"].startswith("results/robust/models/variable/")
    assert {"confidence", "second", "p_second", "noise_est"} <= set(table.columns)
    # The noise estimator's bias table, one per regime, with a row per class and noise level.
    bias = pd.read_csv(work / "results" / "tables" / "noise_estimator_bias_variable.csv")
    assert set(bias["class"]) >= {"BM", "SubFBM", "all"} and set(bias["sigma"]) == {0.0, 0.5}
    # The AnDi 2020 benchmark: the five-model classifier and the run's two folded models, scored on the same
    # 100 tracks overall, by length and by noise; the five-model classifier knows its classes.
    andi = pd.read_csv(work / "results" / "tables" / "andi2020_scores.csv")
    assert list(dict.fromkeys(andi["model"])) == ["andi2020_seed0", "robust_variable", "noiseless_variable"]
    assert set(andi.loc[andi["group"] == "all", "n"]) == {100}
    assert set(andi.loc[andi["group"] == "noise", "bin"]) == {"sigma 0.1", "sigma 0.5", "sigma 1"}
    five = torch.load(work / "results" / "andi2020" / "models" / "seed0" / "model.pt", weights_only=True)
    assert five["meta"]["class_names"] == ["ATTM", "CTRW", "FBM", "LW", "SBM"]
    assert five["meta"]["tags"] == {"regime": "andi2020", "kind": "andi2020"}


def _noise_eval_inputs(stdout: str, rule: str = "augment_noise_eval") -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"rule {rule}:")
    inputs = next(line for line in lines[start:] if line.strip().startswith("input:"))
    return [path.strip() for path in inputs.split(":", 1)[1].split(",")]


@pytest.mark.parametrize("rule, target, override, expected", [
    # config.yaml: the paper's first test file only, of the 5 fixed-length ones
    ("augment_noise_eval", "results/augment/fixed/noise/seed0.csv", None, 1),
    ("augment_noise_eval", "results/augment/fixed/noise/baseline.csv", "augment: {test_shards: 3}\n", 3),
    # config.yaml: one test file, of the 5 fixed-length ones: the seeds set the intervals' width
    ("robust_noise_eval", "results/robust/noise_fixed.csv", None, 1),
    ("robust_noise_eval", "results/robust/noise_fixed.csv", "robust: {test_shards: 5}\n", 5),
])
def test_noise_evaluations_use_the_first_test_shards(workdir, tmp_path, rule, target, override, expected):
    extra = []
    if override is not None:
        (tmp_path / "test_shards.yaml").write_text(override)
        extra = ["--configfile", str(tmp_path / "test_shards.yaml")]
    run = snakemake(workdir, "-n", target, *extra)
    assert run.returncode == 0, run.stderr[-3000:]
    test_files = [p for p in _noise_eval_inputs(run.stdout, rule) if "/test/" in p]
    assert test_files == [f"results/data/fixed/test/shard{i}.h5" for i in range(expected)]


def _tiny_commands(workdir, tmp_path, overlay_yaml: str) -> tuple[list[str], list[str]]:
    """(every andicam command, the training ones) of a dry run of tiny with the config ``overlay_yaml`` on top,
    on 4 cores, checked to include a robust and an augmentation training."""
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(overlay_yaml + "\n")
    run = snakemake(workdir, "-n", "-p", "--forceall", "--cores", "4", "--configfile", "presets/tiny.yaml",
                    str(overlay))
    assert run.returncode == 0, run.stderr[-3000:]
    commands = [line[line.index("python -m andicam "):] for line in run.stdout.splitlines()
                if "python -m andicam " in line]  # "Shell command: python -m andicam ..."
    training = [c for c in commands if c.split()[3] == "train"]
    assert len(training) >= 3 and any("kind=robust" in c for c in training)
    assert any("augment/" in c for c in training)
    return commands, training


@pytest.mark.parametrize("fp32_stem", [False, True])
def test_fp32_stem_reaches_every_training_rule_and_nothing_else(workdir, tmp_path, fp32_stem):
    """config train.fp32_stem adds --fp32-stem to train, augment_train and train_robust; off, no command has
    it, so the commands are those written before the key existed."""
    commands, training = _tiny_commands(workdir, tmp_path, f"train: {{fp32_stem: {str(fp32_stem).lower()}}}")
    assert all((" --fp32-stem" in c) is fp32_stem for c in training)
    assert not any("--fp32-stem" in c for c in commands if c not in training)


@pytest.mark.parametrize("threads", [1, 3])
def test_threads_reach_their_rules_and_nothing_else(workdir, tmp_path, threads):
    """config train.threads sets the threads of every training job (main, robust, augmentation), augment.threads
    (when not null) those of the retrainings and their noise evaluations, explain.threads those of Grad-CAM and
    erasing; the evaluations keep their own 2."""
    def threads_of(command: str) -> int:
        return int(command.split(" --threads ")[1].split()[0])

    _, training = _tiny_commands(workdir, tmp_path, f"train: {{threads: {threads}}}\naugment: {{threads: null}}")
    assert {threads_of(c) for c in training} == {threads}
    commands, training = _tiny_commands(workdir, tmp_path, f"train: {{threads: {threads}}}\n"
                                        f"explain: {{threads: {threads + 1}}}\naugment: {{threads: 4}}")
    retraining = [c for c in training if "augment/" in c]
    assert {threads_of(c) for c in retraining} == {4}
    noise_evals = [c for c in commands if c.split()[3] == "noise-eval"]
    assert noise_evals and {threads_of(c) for c in noise_evals} == {4}
    assert {threads_of(c) for c in training if c not in retraining} == {threads}
    explaining = [c for c in commands if c.split()[3] in ("gradcam", "erasing")]
    assert len(explaining) >= 4 and {threads_of(c) for c in explaining} == {threads + 1}
    evaluations = [c for c in commands if c.split()[3] == "evaluate"]
    assert evaluations and {threads_of(c) for c in evaluations} == {2}



def test_augment_test_trajectories_reach_every_noise_evaluation_of_the_set_up(workdir, tmp_path):
    """augment.test_trajectories: every augmentation noise evaluation of the set-ups it applies to scores that
    many test trajectories (by_regime overrides it per set-up); null, the default, scores them all."""
    commands, _ = _tiny_commands(workdir, tmp_path, "augment: {test_trajectories: 500, "
                                 "by_regime: {variable: {test_trajectories: null}}}")
    evals = {re.search(r"augment/(\w+)/noise/(\w+)\.csv", c).groups(): c for c in commands
             if c.split()[3] == "noise-eval"}
    assert {regime for regime, _ in evals} == {"fixed", "variable"}
    for (regime, _), command in evals.items():
        assert ("--max-trajectories 500" in command) is (regime == "fixed"), command
    commands, _ = _tiny_commands(workdir, tmp_path, "augment: {baseline: true}")
    assert not any("--max-trajectories" in c for c in commands if c.split()[3] == "noise-eval")


def test_augment_val_trajectories_reach_the_retrainings_only(workdir, tmp_path):
    """augment.val_trajectories: every retraining of the set-ups it applies to validates on that many
    trajectories (--max-val); the main, robust and AnDi models keep their whole validation set."""
    _, training = _tiny_commands(workdir, tmp_path, "augment: {val_trajectories: 30, "
                                 "by_regime: {variable: {val_trajectories: null}}}")
    for command in training:
        fixed_retraining = "results/augment/fixed/" in command
        assert ("--max-val 30" in command) is fixed_retraining, command
        assert command.count("--max-val") <= 1


def test_diagnostic_arms_retrain_their_first_seeds_only(workdir, tmp_path):
    """augment.diagnostic_seeds (tiny: 1): the paper's two arms retrain every seed, the others the first N; the
    noise evaluations score exactly the models retrained, a seed's paper arms in one job and its other arms in
    another, so the paper's comparison at every seed never waits for a diagnostic retraining."""
    commands, training = _tiny_commands(workdir, tmp_path, "augment: {diagnostic_seeds: 1}")
    retrained = {re.search(r"augment/fixed/models/(\w+)/seed(\d+)/", c).groups() for c in training
                 if "augment/fixed/" in c}
    assert retrained == {("targeted", "0"), ("random", "0"), ("targeted_peak", "0"), ("targeted", "1"), ("random", "1")}
    evaluated = {}
    for c in commands:
        if c.split()[3] == "noise-eval" and "augment/fixed/noise/" in c:
            part = re.search(r"augment/fixed/noise/(\w+)\.csv", c).group(1)
            evaluated[part] = sorted(re.findall(r"models/(\w+)/seed\d+/model\.pt", c))
    assert evaluated == {"baseline": [], "seed0": ["random", "targeted"], "diagnostic0": ["targeted_peak"],
                         "seed1": ["random", "targeted"]}


def test_robust_n_seeds_trains_and_compares_the_first_seeds_only(workdir, tmp_path):
    """robust.n_seeds 1 (tiny trains seeds 0 and 1): one robust model per regime, at seed 0, and the comparison
    pairs it with the noiseless model of the same seed, not with every noiseless model."""
    commands, training = _tiny_commands(workdir, tmp_path, "robust: {n_seeds: 1}")
    robust = {re.search(r"robust/models/(\w+)/seed(\d+)/", c).groups() for c in training if "kind=robust" in c}
    assert robust == {("fixed", "0"), ("variable", "0")}
    compare = [c for c in commands if c.split()[3] == "robust-eval"]
    assert len(compare) == 2
    for c in compare:
        assert re.findall(r"models/(?:\w+/)+seed(\d+)/model\.pt", c) == ["0", "0"]
        assert " --kinds noiseless robust " in c and " --seeds 0 0 " in c


@pytest.mark.parametrize("amp", [True, False])
def test_erasing_amp_reaches_every_erasing_job_and_nothing_else(workdir, tmp_path, amp):
    commands, _ = _tiny_commands(workdir, tmp_path, f"explain: {{erasing: {{amp: {str(amp).lower()}}}}}")
    erasing = [c for c in commands if c.split()[3] == "erasing"]
    assert len(erasing) >= 4
    assert all((" --amp " in c) is amp and (" --no-amp " in c) is not amp for c in erasing)
    assert not any(" --amp " in c for c in commands if c.split()[3] in ("gradcam", "evaluate"))  # fp32 as before

def _device_option(command: str) -> bool:
    """Whether ``andicam COMMAND`` takes --device (runs the network)."""
    from andicam.cli import build_parser

    parser = build_parser(command)
    sub = parser._subparsers._group_actions[0].choices[command]  # the one subcommand built
    return any("--device" in action.option_strings for action in sub._actions)


def _gpu_claims(workdir, tmp_path, predict_device: str) -> list[tuple[str, bool, bool]]:
    """(rule, whether its command may resolve to CUDA, whether it declares gpu=1) of every job of a dry run
    of the tiny DAG and predict, with config predict.device = ``predict_device``."""
    tracks = tmp_path / "tracks.csv"
    tracks.write_text("track_id,frame,x,y\n0,0,0,0\n0,1,1,1\n")
    overlay = tmp_path / "predict.yaml"
    overlay.write_text(f"predict: {{input: {tracks}, device: {predict_device}}}\n")
    run = snakemake(workdir, "-n", "-p", "--forceall", "all", "predict", "--configfile", "presets/tiny.yaml",
                    str(overlay))
    assert run.returncode == 0, run.stderr[-3000:]
    takes: dict[str, bool] = {}
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", run.stdout):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        command = re.search(r"Shell command: python -m andicam (\S+)(.*)", block)
        if not rule or not command:
            continue
        name = command.group(1)
        takes.setdefault(name, _device_option(name))
        device = re.search(r"--device (\S+)", command.group(2))
        may_use_gpu = takes[name] and (device is None or device.group(1) != "cpu")
        jobs.append((rule.group(1), may_use_gpu, re.search(r"resources: .*\bgpu=1\b", block) is not None))
    return jobs


@pytest.mark.parametrize("predict_device", ["cpu", "auto"])
def test_every_job_that_may_take_a_gpu_declares_one(workdir, tmp_path, nvidia_driver, predict_device):
    """Local Snakemake runs as many GPU jobs at once as --resources gpu=N allows, and each claims a card
    (andicam.device): on a machine with an NVIDIA driver (here a stand-in), a job whose command may resolve
    to CUDA (--device other than cpu) must declare gpu=1, or it would run beside them on a card it never
    claimed. Checked on every job of the tiny DAG and predict."""
    jobs = _gpu_claims(workdir, tmp_path, predict_device)
    for rule, may_use_gpu, declares in jobs:
        assert declares == may_use_gpu, rule
    seen = {(rule, may_use_gpu) for rule, may_use_gpu, _ in jobs}
    assert {("train", True), ("gradcam", True), ("layer_response", False)} <= seen
    assert ("predict", predict_device != "cpu") in seen


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has an NVIDIA driver")
def test_without_a_gpu_no_job_claims_one(workdir, tmp_path):
    """On a machine without an NVIDIA driver, no job declares gpu=1, so the default profile's gpu=1 limit
    does not run the network jobs one at a time on a CPU (train.threads: 1 runs two side by side)."""
    jobs = _gpu_claims(workdir, tmp_path, "auto")
    assert any(may_use_gpu for _, may_use_gpu, _ in jobs)
    assert not any(declares for _, _, declares in jobs)

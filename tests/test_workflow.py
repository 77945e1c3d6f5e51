"""The Snakemake workflow: dry runs of every config and profile, and the tiny preset end to end."""

from __future__ import annotations

import filecmp

import pytest

from helpers import copy_workflow, snakemake


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("wf"))


@pytest.mark.parametrize("args", [
    [],
    ["--configfile", "presets/quick.yaml"],
    ["--configfile", "presets/tiny.yaml"],
    ["--profile", "profiles/slurm"],
    ["--profile", "profiles/slurm", "--configfile", "presets/quick.yaml"],
], ids=["paper", "quick", "tiny", "slurm-paper", "slurm-quick"])
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


@pytest.mark.slow
def test_tiny_preset_end_to_end(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    run = snakemake(work, "--cores", "2", "--configfile", "presets/tiny.yaml")
    assert run.returncode == 0, run.stderr[-5000:]
    figures = work / "results" / "figures"
    for name in ("dataset_overview",):
        for suffix in (".pdf", ".png"):
            assert (figures / f"{name}{suffix}").stat().st_size > 1000
    # Nothing half-written is left behind.
    assert not list((work / "results").rglob(".*.tmp*"))
    again = snakemake(work, "-n", "--configfile", "presets/tiny.yaml")
    assert "Nothing to be done" in again.stdout + again.stderr

"""profiles/slurm asks a cluster only for what it accepts: GPU rules on the GPU partition, threads as CPUs.

The real submission runs in tests/slurm/run_slurm_test.sh (CI, after the test suite).
"""

from __future__ import annotations

import re

import pytest
import yaml

from helpers import REPO, copy_workflow, snakemake
from slurm.check_slurm_run import _sbatch_options, _rule_of, gpu_partitions, rule_requests

PROFILE = REPO / "profiles" / "slurm" / "config.yaml"


def test_rule_reader_sees_threads_and_gpu():
    rules = rule_requests()
    assert rules["train"] == {"threads": 2, "gpu": True}
    assert rules["simulate"] == {"threads": 1, "gpu": False}
    assert rules["train_robust"] == {"threads": 2, "gpu": True}  # from `train` through `use rule`
    assert rules["predict"]["gpu"] is False  # config predict.device: cpu
    # The rules that claim a card by `grep -n "gpu=gpu_claim" workflow/rules/*.smk`, less predict (on the CPU by
    # default), and four `use rule`s that keep their base's resources.
    lines = sum(p.read_text().count("gpu=gpu_claim(") for p in (REPO / "workflow" / "rules").glob("*.smk"))
    assert sum(r["gpu"] for r in rules.values()) == lines - 1 + 4 == 14
    tiny = rule_requests(presets=("tiny",))  # train.threads and explain.threads 1
    assert tiny["train"] == tiny["augment_train"] == {"threads": 1, "gpu": True}
    assert tiny["erasing"]["threads"] == 1 and tiny["evaluate"]["threads"] == 2


def test_profile_routes_every_gpu_rule_and_only_those():
    gpu_rules = {name for name, r in rule_requests().items() if r["gpu"]}
    routed = gpu_partitions()
    assert set(routed) == gpu_rules, f"unrouted: {gpu_rules - set(routed)}, not GPU rules: {set(routed) - gpu_rules}"
    assert set(routed.values()) == {"gpu"}


def test_profile_leaves_cpus_to_threads():
    config = yaml.safe_load(PROFILE.read_text())
    assert "cpus_per_task" not in (config.get("default-resources") or {})
    for rule, resources in (config.get("set-resources") or {}).items():
        assert "cpus_per_task" not in resources and "cpus_per_gpu" not in resources, rule


def test_profile_documents_clusters_without_accounting():
    text = PROFILE.read_text()
    assert "# slurm-status-command: squeue" in text and "# slurm-no-account: true" in text


def test_slurm_runs_leave_out_the_workstation_profile():
    # profiles/default caps gpu at 1, which would queue one GPU job at a time on a cluster.
    default = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert "gpu=1" in default["resources"]
    readme = (REPO / "README.md").read_text()
    assert "snakemake --profile profiles/slurm --workflow-profile none" in readme
    assert "--workflow-profile none" in PROFILE.read_text()
    assert "--workflow-profile none" in (REPO / "tests" / "slurm" / "run_slurm_test.sh").read_text()


def test_slurm_docs_have_no_rule_list_of_their_own():
    section = (REPO / "docs" / "slurm.md").read_text()
    assert "profiles/slurm/config.yaml" in section
    assert not re.search(r"^\s*(set-resources|slurm_partition|\w+:\s+\{slurm_partition)", section, re.MULTILINE)
    assert not re.search(r"augment_noise_eval|block_heads", section)


@pytest.mark.parametrize("preset", ["tiny", "paper"])
def test_dry_run_puts_each_gpu_job_on_the_gpu_partition(tmp_path, nvidia_driver, preset):
    """A dry run executes nothing, so its jobs claim a card as a local run on a machine with a driver would
    (the stand-in); a real submission claims one under the cluster executor wherever it is submitted from,
    which the SLURM run's check (tests/slurm/check_slurm_run.py) reads from the sbatch calls."""
    work = copy_workflow(tmp_path / "wf")
    args = ["-n", "all", "fig_scaling", "robust_models", "--profile", "profiles/slurm"]
    if preset != "paper":
        args += ["--configfile", f"presets/{preset}.yaml"]
    run = snakemake(work, *args)
    assert run.returncode == 0, run.stderr[-3000:]
    rules = rule_requests()
    jobs = re.findall(r"^(?:local)?rule (\w+):\n(.*?)(?=^\S|\Z)", run.stdout, re.MULTILINE | re.DOTALL)
    seen = set()
    for rule, block in jobs:
        resources = re.search(r"^\s+resources: (.*)$", block, re.MULTILINE)
        res = dict(kv.split("=", 1) for kv in resources.group(1).split(", ")) if resources else {}
        assert (res.get("gpu") == "1") == rules[rule]["gpu"], rule
        assert res.get("slurm_partition") == ("gpu" if rules[rule]["gpu"] else None), rule
        assert "cpus_per_task" not in res, rule
        seen.add(rule)
    # Every GPU rule is in the DAG of `all fig_scaling robust_models`, so each was checked above.
    assert {name for name, r in rules.items() if r["gpu"]} <= seen


def test_sbatch_options_and_job_comments_are_read():
    call = ("sbatch --parsable --job-name abc --output 'x/%j.log' --export=ALL --comment "
            "rule_train_robust_wildcards_fixed_0   -p gpu -t 720 --mem 32000 --gpus=1 --ntasks-per-gpu=1 "
            "--cpus-per-task=2 -D /w --wrap=\"python -m snakemake --cores 'all'\"")
    opts = _sbatch_options(call)
    assert opts["-p"] == "gpu" and opts["--gpus"] == "1" and opts["--cpus-per-task"] == "2"
    assert opts["--mem"] == "32000" and opts["--parsable"] == ""
    assert _rule_of(opts["--comment"], {"train", "train_robust"}) == "train_robust"
    assert _rule_of("rule_train", {"train", "train_robust"}) == "train"
    with pytest.raises(ValueError):
        _rule_of("rule_unknown_wildcards_1", {"train"})

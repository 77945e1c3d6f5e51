"""Checks a finished SLURM run of the tiny preset: every output, every job and what it asked for.

Also the one reader of the rules' requests (threads, GPU) that tests/test_slurm_profile.py uses.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
sys.path.insert(0, str(REPO / "workflow"))

from andicam.config import load_config  # noqa: E402

# `rule NAME:` or `use rule BASE as NAME with:` (a rule that repeats BASE, changing what the block names).
_RULE = re.compile(r"^(?:rule (\w+)|use rule (\w+) as (\w+)(?: with)?):", re.MULTILINE)


def rule_requests(root: Path = REPO, presets: tuple[str, ...] = ()) -> dict[str, dict]:
    """Every rule of the workflow in ``root`` with its `threads` (1 when unset) and whether it asks a cluster
    for a GPU, under config.yaml with ``presets`` merged over it.

    threads: a number or a config value (`TRAIN["threads"]`); the GPU: `gpu=gpu_claim(DEVICE)`, which under a
    cluster executor is 1 unless DEVICE (a config value) is "cpu". A `use rule` takes its base's threads and
    resources unless its block sets them (Snakemake replaces the whole `resources` of the base when the block
    has one)."""
    config = load_config([root / "config.yaml", *(root / "presets" / f"{name}.yaml" for name in presets)])
    names = {"config": config, "TRAIN": config["train"], "EXPLAIN": config["explain"]}

    def value(expression: str):
        return eval(expression, {"__builtins__": {}}, names)  # the workflow's own config lookups

    blocks: dict[str, tuple[str | None, str]] = {}  # name -> (base rule or None, text of its block)
    for path in [root / "Snakefile", *sorted((root / "workflow" / "rules").glob("*.smk"))]:
        text = path.read_text()
        starts = [(m.start(), m.group(1) or m.group(3), m.group(2)) for m in _RULE.finditer(text)]
        for i, (start, name, base) in enumerate(starts):
            blocks[name] = (base, text[start:starts[i + 1][0] if i + 1 < len(starts) else len(text)])

    def request(name: str) -> dict:
        base, block = blocks[name]
        inherited = request(base) if base else {"threads": 1, "gpu": False}
        threads = re.search(r"^\s+threads:\s*(.+?)\s*$", block, re.MULTILINE)
        claim = re.search(r"^\s+gpu\s*=\s*gpu_claim\((.+)\)\s*,?\s*$", block, re.MULTILINE)
        gpu = claim is not None and value(claim.group(1)) != "cpu"
        return {"threads": int(value(threads.group(1))) if threads else inherited["threads"],
                "gpu": gpu if re.search(r"^\s+resources:", block, re.MULTILINE) else inherited["gpu"]}

    return {name: request(name) for name in blocks}


def gpu_partitions(profile: Path = REPO / "profiles" / "slurm" / "config.yaml") -> dict[str, str]:
    """The partition each rule is routed to under the profile's set-resources."""
    config = yaml.safe_load(profile.read_text())
    return {rule: res["slurm_partition"] for rule, res in (config.get("set-resources") or {}).items()
            if "slurm_partition" in res}


def _rule_of(comment: str, names: set[str]) -> str:
    """The rule name in the plugin's job comment `rule_<name>` or `rule_<name>_wildcards_<values>`."""
    matches = [n for n in names if comment == f"rule_{n}" or comment.startswith(f"rule_{n}_wildcards_")]
    if not matches:
        raise ValueError(f"job comment {comment!r} names no rule of the workflow")
    return max(matches, key=len)


def _sbatch_options(call: str) -> dict[str, str]:
    """`--key value`, `--key=value` and `-k value` options of one sbatch command line."""
    words, opts, i = shlex.split(call), {}, 1
    while i < len(words):
        word = words[i]
        if word.startswith("-") and "=" in word:
            key, value = word.split("=", 1)
            opts[key] = value
        elif word.startswith("-") and i + 1 < len(words) and not words[i + 1].startswith("-"):
            opts[word] = words[i + 1]
            i += 1
        else:
            opts[word] = ""
        i += 1
    return opts


def _scontrol_jobs(text: str) -> dict[str, dict[str, str]]:
    jobs = {}
    for line in text.splitlines():
        fields = dict(re.findall(r"(?:^| )(JobId|JobState|Partition|NumCPUs|TresPerJob|Comment)=(\S*)", line))
        if "JobId" in fields:
            jobs[fields["JobId"]] = fields
    return jobs


def check(workdir: Path, jobs_text: str, calls_text: str) -> list[str]:
    """Every problem found (empty when the run is as expected); prints what it checked."""
    # The figure list of the tests copied with the workflow, so both come from the same tree.
    sys.path.insert(0, str(workdir / "tests"))
    from test_workflow import FIGURE_NAMES

    problems = []
    figures = workdir / "results" / "figures"
    for name in FIGURE_NAMES:
        for suffix in (".pdf", ".png"):
            path = figures / f"{name}{suffix}"
            if not path.is_file() or path.stat().st_size <= 1000:
                problems.append(f"missing or empty figure {path.name}")
    dry = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", "presets/tiny.yaml"],
                         cwd=workdir, capture_output=True, text=True)
    if "Nothing to be done" not in dry.stdout + dry.stderr:
        problems.append("a dry run after the SLURM run still has jobs to do:\n" + dry.stdout[-2000:])

    rules = rule_requests(workdir, ("tiny",))
    calls = [line.split("sbatch call: ", 1)[1] for line in calls_text.splitlines() if "sbatch call: " in line]
    if not calls:
        problems.append("no sbatch call in the Snakemake log")
    submitted = {}
    for call in calls:
        opts = _sbatch_options(call)
        rule = _rule_of(opts["--comment"], set(rules))
        submitted.setdefault(rule, opts)
        want = rules[rule]
        gpu = opts.get("--gpus") == "1"
        if gpu != want["gpu"]:
            problems.append(f"{rule}: rule asks gpu={int(want['gpu'])}, sbatch got --gpus={opts.get('--gpus')}")
        # CPU rules name no partition; the plugin then asks for the cluster's default one (cpu).
        if opts.get("-p") != ("gpu" if want["gpu"] else "cpu"):
            problems.append(f"{rule}: submitted to partition {opts.get('-p')!r}")
        if opts.get("--cpus-per-task") != str(want["threads"]):
            problems.append(f"{rule}: threads {want['threads']}, --cpus-per-task={opts.get('--cpus-per-task')}")

    jobs = _scontrol_jobs(jobs_text)
    if len(jobs) != len(calls):
        problems.append(f"{len(calls)} sbatch calls but SLURM knows {len(jobs)} jobs")
    counts: dict[str, int] = {}
    for job_id, job in sorted(jobs.items(), key=lambda kv: int(kv[0])):
        rule = _rule_of(job.get("Comment", ""), set(rules))
        counts[rule] = counts.get(rule, 0) + 1
        want = rules[rule]
        if job.get("JobState") != "COMPLETED":
            problems.append(f"job {job_id} ({rule}) ended {job.get('JobState')}")
        if job.get("Partition") != ("gpu" if want["gpu"] else "cpu"):
            problems.append(f"job {job_id} ({rule}) ran in partition {job.get('Partition')}")
        if (job.get("TresPerJob") == "gres:gpu:1") != want["gpu"]:
            problems.append(f"job {job_id} ({rule}) asked SLURM for {job.get('TresPerJob') or 'no TRES'}")
        if job.get("NumCPUs") != str(want["threads"]):
            problems.append(f"job {job_id} ({rule}) got {job.get('NumCPUs')} CPUs for {want['threads']} threads")

    print(f"{len(jobs)} SLURM jobs, {sum(rules[r]['gpu'] for r in counts)} GPU rules of {len(counts)}:")
    for rule, n in sorted(counts.items()):
        print(f"  {rule:28s} {n:3d}  {'gpu' if rules[rule]['gpu'] else 'cpu'}")
    for kind, pick in (("GPU", True), ("CPU", False)):
        rule = next((r for r in submitted if rules[r]["gpu"] == pick), None)
        if rule is None:
            problems.append(f"no {kind} job was submitted")
        else:
            shown = " ".join(k if not v else f"{k}={v}" if k.startswith("--") else f"{k} {v}"
                             for k, v in submitted[rule].items()
                             if k not in ("--job-name", "--output", "--comment", "--wrap"))
            print(f"sbatch options of a {kind} job ({rule}): {shown}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="the workflow copy that was run")
    parser.add_argument("--jobs", type=Path, required=True, help="`scontrol -o show job` after the run")
    parser.add_argument("--sbatch-calls", type=Path, required=True, help="the plugin's 'sbatch call:' lines")
    args = parser.parse_args()
    problems = check(args.workdir, args.jobs.read_text(), args.sbatch_calls.read_text())
    for problem in problems:
        print("PROBLEM:", problem, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

"""The results pages in docs/runs: rendered from a record of the run's tables, never edited by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from andicam.pages import FORMAT, SECTIONS, build_record, markdown_table, read_record, render_page, timings, write_page

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted((REPO / "docs" / "runs").glob("*.json"))


def _tables(tmp_path: Path) -> dict[str, Path]:
    summary = pd.DataFrame({"result": ["accuracy_fixed"], "description": ["fixed-length accuracy"],
                            "this_run": ["87.7 % [87.1, 88.3], 2 seeds"], "paper": ["94.89 %"]})
    robust = pd.DataFrame({"regime": ["fixed"] * 3, "kind": ["robust"] * 3, "sigma": [0.0, 0.5, 0.5],
                           "length_bin": ["all", "all", "10-49"], "metric": ["accuracy"] * 3,
                           "mean": [84.7, 84.2, 60.0], "low": [70.0, 78.4, 50.0], "high": [99.3, 89.9, 70.0],
                           "n_seeds": [2] * 3, "n_trajectories": [2000] * 3, "method": ["t"] * 3})
    bias = pd.DataFrame({"regime": "fixed", "class": ["BM", "BM", "SubFBM", "SubFBM"], "sigma": [0.0, 0.5] * 2,
                         "median": [0.0, 0.5012, 0.69, 1.02]})
    paths = {}
    for key, frame in {"summary": summary, "noise_robustness": robust, "noise_estimator_bias_fixed": bias}.items():
        paths[key] = tmp_path / f"{key}.csv"
        frame.to_csv(paths[key], index=False)
    return paths


def _record(tmp_path: Path) -> dict:
    bench = tmp_path / "benchmarks" / "models" / "fixed" / "depth10"
    bench.mkdir(parents=True)
    for seed, seconds in ((0, 100.0), (1, 50.0)):
        (bench / f"seed{seed}.tsv").write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:01:40\t{400 + seed}\n")
    config = {"seed": 2024, "model": {"width": 8, "depths": [10], "main_depth": 10}}
    return build_record("quick", config, _tables(tmp_path), tmp_path / "benchmarks", tmp_path,
                        ["presets/quick.yaml"], rendered="2026-01-01 00:00 UTC")


def test_page_shows_each_table_as_the_record_holds_it(tmp_path):
    page = render_page(_record(tmp_path))
    assert page.startswith("# Results of the run `quick`")
    assert "--configfile presets/quick.yaml" in page and "master seed 2024" in page
    assert "| fixed-length accuracy | 87.7 % [87.1, 88.3], 2 seeds | 94.89 % |" in page
    # Only the rows the section asks for (accuracy over all lengths), numbers as the CSV holds them.
    assert "| fixed | robust | 0.5 | 84.2 | 78.4 | 89.9 | 2 | 2000 |" in page and "60" not in page.split("## Noise")[1]
    # The long table spread as class x sigma.
    assert "| class | sigma 0 | sigma 0.5 |" in page and "| SubFBM | 0.69 | 1.02 |" in page
    # Timings grouped over seeds: two jobs, 150 s in all, the longest 100 s, peak 401 MB.
    assert "| models/fixed/depth10/seed* | 2 | 150 | 100 | 401 |" in page
    # Sections without a table are left out, not shown empty.
    assert "accuracy by depth" not in page.lower()


def test_a_single_stage_page_names_its_rule_and_its_target(tmp_path):
    """A page written by a rule that reuses docs_page names that rule, and its command builds that target."""
    record = _record(tmp_path)
    assert record["run"]["rule"] == "docs_page"
    assert "(rule `docs_page`)" in render_page(record)
    assert "- Command: `snakemake --cores all --configfile presets/quick.yaml`" in render_page(record)
    record["run"]["rule"] = "augment_page"
    page = render_page(record)
    assert "(rule `augment_page`)" in page and "docs_page" not in page
    assert "- Command: `snakemake --cores all augment_page --configfile presets/quick.yaml`" in page
    del record["run"]["rule"]  # a record written before the field existed: the run's own page
    assert "(rule `docs_page`)" in render_page(record)


def test_record_round_trips_and_a_hand_edit_is_caught(tmp_path):
    record = _record(tmp_path)
    write_page(record, tmp_path / "quick.json", tmp_path / "quick.md")
    assert read_record(tmp_path / "quick.json") == record
    cli = [sys.executable, "-m", "andicam", "render-page", "--check", "--out-record", str(tmp_path / "quick.json"),
           "--out-page", str(tmp_path / "quick.md")]
    env = {"PYTHONPATH": str(REPO / "workflow")}
    assert subprocess.run(cli, capture_output=True, env=env).returncode == 0
    page = tmp_path / "quick.md"
    page.write_text(page.read_text().replace("87.7 %", "88.7 %"))
    run = subprocess.run(cli, capture_output=True, text=True, env=env)
    assert run.returncode == 1 and "differs" in run.stdout


def test_bad_record_and_unknown_table_are_named(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not an andicam results record"):
        read_record(bad)
    bad.write_text("{")
    with pytest.raises(ValueError, match="not a readable results record"):
        read_record(bad)
    with pytest.raises(ValueError, match="no page section for table"):
        build_record("r", {}, {"nonsense": bad}, None, tmp_path)


def test_timings_skip_files_without_measurements(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "shard0.tsv").write_text("s\tmax_rss\n2.5\t100\n")
    (tmp_path / "a" / "shard1.tsv").write_text("s\tmax_rss\n")
    assert timings(tmp_path) == [{"jobs": "a/shard*", "n": 1, "seconds": 2.5, "longest_s": 2.5, "peak_rss_mb": 100.0}]


def test_timings_group_the_jobs_of_every_seed(tmp_path):
    """One row per kind of job: a noise evaluation's diagnostic<s> parts group as its seed<s> parts do."""
    (tmp_path / "noise").mkdir()
    for name, seconds in (("seed0", 1.0), ("seed1", 2.0), ("diagnostic0", 3.0), ("diagnostic1", 4.0)):
        (tmp_path / "noise" / f"{name}.tsv").write_text(f"s\tmax_rss\n{seconds}\t10\n")
    rows = {r["jobs"]: (r["n"], r["seconds"]) for r in timings(tmp_path)}
    assert rows == {"noise/diagnostic*": (2, 7.0), "noise/seed*": (2, 3.0)}


def test_markdown_numbers_keep_four_significant_digits():
    lines = markdown_table(pd.DataFrame({"a": [0.123456, 12345.0, 3.0], "b": ["x|y", None, "z"]}))
    assert lines[2:] == ["| 0.1235 | x\\|y |", "| 12,345 |  |", "| 3 | z |"]


def test_every_section_key_is_unique():
    keys = [s.key for s in SECTIONS]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("record", PAGES, ids=[p.stem for p in PAGES])
def test_committed_pages_equal_what_their_records_render(record):
    """A number edited by hand on a page in docs/runs fails here: pages are rendered, never typed."""
    assert read_record(record)["format"] == FORMAT
    assert record.with_suffix(".md").read_text() == render_page(read_record(record))

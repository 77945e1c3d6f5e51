"""``andicam plot NAME``: the registry of figures against the workflow's ``fig_`` rules, and its command line."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from andicam.cli import command_names, main
from andicam.dataio import write_trajectories
from andicam.files import write_json
from andicam.plots.registry import FIGURES
from andicam.scaling import scaling_records
from helpers import REPO, modules_loaded_by, random_walks


def rule_commands() -> dict[str, str]:
    """Per ``fig_NAME`` rule of the workflow, NAME -> the rule's text (from its ``rule`` line to the next)."""
    text = "\n".join(path.read_text() for path in sorted((REPO / "workflow" / "rules").glob("*.smk")))
    blocks = re.split(r"(?m)^(?=rule )", text)
    return {m.group(1): block for block in blocks if (m := re.match(r"rule fig_(\w+):", block))}


def test_every_rule_draws_its_own_registered_figure() -> None:
    rules = rule_commands()
    assert sorted(rules) == sorted(FIGURES)  # a rule per figure, a figure per rule
    for name, block in rules.items():
        assert re.findall(r"python -m andicam plot (\S+)", block) == [name], name
        assert f'"results/figures/{name}.pdf"' in block, name


def test_no_command_is_left_per_figure() -> None:
    assert "plot" in command_names()
    assert not [c for c in command_names() if c.startswith("plot-")]


def test_help_lists_every_figure(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one line per figure, whatever the terminal
    with pytest.raises(SystemExit) as exc:
        main(["plot", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name, figure in FIGURES.items():
        assert re.search(rf"\n    {name}\s+{re.escape(figure.help)}\n", out), name


@pytest.mark.parametrize("name", FIGURES)
def test_each_figure_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["plot", name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: andicam plot {name} ") and "--out OUT" in out


def test_unknown_figure_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["plot", "confusion", "--out", "x.pdf"])
    assert exc.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "invalid choice: 'confusion'" in errors[0] and "'confusion_fixed'" in errors[0]


def test_one_figure_imports_no_other() -> None:
    # A workflow job draws one figure: its options are added, and no other figure's code is imported.
    loaded, torch_loaded, mpl_loaded = modules_loaded_by(["plot", "scaling", "--help"],
                                                         ("andicam.commands.", "andicam.plots"))
    assert loaded == ["andicam.commands.plot", "andicam.plots", "andicam.plots.registry"]
    assert not torch_loaded and not mpl_loaded


def test_figures_no_other_test_draws(tmp_path: Path) -> None:
    """dataset_overview, training_curves, noise_robustness and scaling, drawn through the command line."""
    write_trajectories(tmp_path / "d.h5", random_walks([30] * 8, tmax=200, min_length=50, seed=3))
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [2.0, 1.0, 0.5], "train_acc": [0.2, 0.5, 0.8],
                            "val_loss": [2.1, 1.2, 0.9], "val_acc": [0.2, 0.4, 0.7], "lr": 1e-3, "seconds": 1.0})
    history.to_csv(tmp_path / "h.csv", index=False)
    write_json(tmp_path / "m.json", {"tags": {"regime": "fixed"}, "seed": 0, "config": {"depth": 10}})
    rng = np.random.default_rng(0)
    pd.DataFrame([{"regime": "variable", "kind": kind, "seed": seed, "sigma": sigma, "length_bin": bin_, "n": 100,
                   "accuracy": rng.uniform(0.5, 0.9), "macro_f1": rng.uniform(0.5, 0.9)}
                  for kind in ("noiseless", "robust") for seed in (0, 1) for sigma in (0.0, 1.0)
                  for bin_ in ("all", "10-499", "500-1000")]).to_csv(tmp_path / "noise.csv", index=False)
    scaling_records([({"tags": {"regime": "fixed", "per_class": str(n)}, "seed": 0, "n_train": 8 * n, "epochs_run": 4,
                       "best_epoch": 4, "train_seconds": 60.0, "samples_per_second": 32 * n / 60,
                       "config": {"width": 8, "depth": 10}, "used": {"amp": False, "precision": "fp32"}},
                      {"accuracy": acc, "macro_f1": acc, "n": 2000}) for n, acc in ((1000, 0.8), (4000, 0.9))]
                    ).to_csv(tmp_path / "scaling.csv", index=False)
    calls = {
        "dataset_overview": ["--data", str(tmp_path / "d.h5"), "--out-csv", str(tmp_path / "msd.csv")],
        "training_curves": ["--history", str(tmp_path / "h.csv"), "--metrics", str(tmp_path / "m.json")],
        "noise_robustness": ["--tables", str(tmp_path / "noise.csv"), "--out-csv", str(tmp_path / "robust.csv")],
        "scaling": ["--table", str(tmp_path / "scaling.csv")],
    }
    for name, options in calls.items():
        pdf = tmp_path / "figures" / f"{name}.pdf"
        assert main(["plot", name, *options, "--out", str(pdf)]) == 0, name
        assert pdf.stat().st_size > 0 and pdf.with_suffix(".png").stat().st_size > 0, name
    assert len(pd.read_csv(tmp_path / "msd.csv")) > 0 and len(pd.read_csv(tmp_path / "robust.csv")) > 0
    assert main(["plot", "training_curves", "--history", str(tmp_path / "h.csv"), "--metrics",
                 str(tmp_path / "m.json"), str(tmp_path / "m.json"), "--out", str(tmp_path / "x.pdf")]) == 2

"""The explaining results of several trained models side by side (andicam.model_spread, ``andicam model-spread``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from andicam import model_spread as ms
from andicam import summary as sm
from andicam.cli import main


def summary_of(values: dict[str, float]) -> pd.DataFrame:
    """A summary table (the columns 'andicam summarize' writes) with the given values by result id."""
    rows = []
    for result, value in values.items():
        unit = "r" if result.startswith("corr_") else "%"
        rows.append({"result": result, "description": f"about {result}", "this_run": f"{value}", "value": value,
                     "ci_low": value - 1, "ci_high": value + 1, "n": 10, "paper": "", "paper_value": math.nan,
                     "source": "x.csv", "unit": unit, "ci_method": "Wilson CI"})
    return pd.DataFrame(rows, columns=list(sm.COLUMNS))


MAIN = {"accuracy_fixed": 90.0, "erasing_none": 80.0, "block_layer1": 70.0, "corr_SubFBM_AC": -0.2,
        "augment_random_sigma0": 85.0, "ablation_SubATTM_VD_drop": 5.0, "response_layer4_width": 300.0}
SECOND = {**MAIN, "erasing_none": 76.0, "corr_SubFBM_AC": 0.1, "block_layer1": math.nan}


def test_explaining_rows_side_by_side_with_mean_and_spread() -> None:
    table = ms.seed_table({0: summary_of(MAIN), 1: summary_of(SECOND)})
    # Classification and augmentation rows score models; the explaining ones stay, in the summary's order.
    assert list(table["result"]) == ["erasing_none", "block_layer1", "corr_SubFBM_AC", "ablation_SubATTM_VD_drop",
                                     "response_layer4_width"]
    rows = table.set_index("result")
    assert rows.loc["erasing_none", ["seed0", "seed1", "mean", "spread"]].tolist() == [80.0, 76.0, 78.0, 4.0]
    assert rows.loc["corr_SubFBM_AC", "mean"] == pytest.approx(-0.05)
    assert rows.loc["corr_SubFBM_AC", "spread"] == pytest.approx(0.3)
    # A model without a value: the mean of those that have one, no spread from a single model.
    assert rows.loc["block_layer1", "mean"] == 70.0 and np.isnan(rows.loc["block_layer1", "spread"])
    assert rows.loc["block_layer1", "n_models"] == 1 and rows.loc["erasing_none", "n_models"] == 2
    assert rows.loc["corr_SubFBM_AC", "group"] == "statistical relevance"
    md = ms.seed_markdown(table, "tiny")
    assert md.startswith("# Explaining results per trained model (run tiny)")
    assert "| corr_SubFBM_AC | about corr_SubFBM_AC | r | -0.20 | +0.10 | -0.05 | +0.30 |" in md


def test_mismatched_summaries_are_named() -> None:
    with pytest.raises(ValueError, match="seeds 0 and 1 list different rows"):
        ms.seed_table({0: summary_of(MAIN), 1: summary_of({"erasing_none": 1.0})})
    with pytest.raises(ValueError, match="seed 1 is not a summary table"):
        ms.seed_table({0: summary_of(MAIN), 1: summary_of(MAIN).drop(columns="value")})
    with pytest.raises(ValueError, match="no summary"):
        ms.seed_table({})


def test_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    summary_of(MAIN).to_csv(tmp_path / "a.csv", index=False)
    summary_of(SECOND).to_csv(tmp_path / "b.csv", index=False)
    out = ["--out-csv", str(tmp_path / "t.csv"), "--out-md", str(tmp_path / "t.md")]
    assert main(["model-spread", "--summaries", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"),
                 "--seeds", "0", "1", *out]) == 0
    assert list(pd.read_csv(tmp_path / "t.csv").columns[-5:]) == ["seed0", "seed1", "mean", "spread", "n_models"]
    assert main(["model-spread", "--summaries", str(tmp_path / "a.csv"), "--seeds", "0", "1", *out]) == 2
    assert "one distinct seed per summary" in capsys.readouterr().err
    assert main(["model-spread", "--summaries", str(tmp_path / "nope.csv"), "--seeds", "0", *out]) == 2
    pd.DataFrame({"result": ["x"]}).to_csv(tmp_path / "odd.csv", index=False)
    capsys.readouterr()
    assert main(["model-spread", "--summaries", str(tmp_path / "odd.csv"), "--seeds", "0", *out]) == 2
    assert f"{tmp_path / 'odd.csv'}: not a summary table" in capsys.readouterr().err

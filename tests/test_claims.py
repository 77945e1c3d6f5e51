"""The paper's claims (andicam.claims, ``andicam claims``, ``andicam plot claims``): verdicts, grouping, outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from andicam import claims as cl
from andicam import summary as sm
from andicam.cli import main
from andicam.pages import SECTIONS
from andicam.paper import F1, PAPER, PERCENT, POINTS, R, STEPS

REPO = Path(__file__).resolve().parents[1]
NAN = math.nan

# (result, unit, paper text, paper value, value, ci_low, ci_high, ci_method, expected verdict), in an order that
# mixes the experiments. Margins: 2 for %, points and F1 x 100, 0.10 for r.
CASES = [
    ("corr_SubFBM_AC", R, "-0.20", -0.20, 0.05, 0.02, 0.08, "bootstrap", cl.CONTRADICTED),  # sign and margin
    ("accuracy_fixed", PERCENT, "90.0 %", 90.0, 89.5, 88.5, 91.0, "t", cl.REPRODUCED),  # inside [88, 92]
    ("accuracy_variable", PERCENT, "90.0 %", 90.0, 95.0, 93.0, 97.0, "t", cl.CONTRADICTED),  # above 92
    ("erasing_none", PERCENT, "", NAN, 78.0, 75.0, 81.0, "Wilson", None),  # no paper value: not a claim
    ("recall_fixed_BM", PERCENT, "80.0 %", 80.0, 70.0, 65.0, 75.0, "Wilson", cl.CONTRADICTED),  # below 78
    ("macro_f1_fixed", F1, "90.0", 90.0, 89.0, 87.0, 91.0, "t", cl.UNDECIDED),  # across 88
    ("corr_SupFBM_AC", R, "+0.05", 0.05, -0.03, -0.04, -0.02, "bootstrap", cl.CONTRADICTED),  # inside, sign wrong
    ("corr_SubCTRW_AC", R, "+0.05", 0.05, -0.01, -0.03, 0.01, "bootstrap", cl.REPRODUCED),  # 0 inside: no sign
    ("erasing_gradcam_bin0_trajectory", PERCENT, "not comparable: computed otherwise", NAN, 36.0, 33.0, 39.0,
     "Wilson", cl.NOT_COMPARABLE),
    ("block_layer1", PERCENT, "89.0 %", 89.0, 88.0, NAN, NAN, "", cl.UNDECIDED),  # a value without an interval
    ("augment_random_sigma0", PERCENT, "89.0 %", 89.0, NAN, NAN, NAN, "", cl.NOT_RUN),
    ("augment_targeted-random_sigma0.5", POINTS, "+4.0 points", 4.0, 4.5, 3.0, 6.0, "paired t", cl.REPRODUCED),
    # inside 3.8 +- 2 on its own, but the paper's own interval [-3.6, +11.3] (5 models) makes the difference's
    # MOVER interval 0.2 [-7.4, +7.7]: undecided
    ("augment_V_targeted-random_sigma0.742", POINTS, "+3.8 points", 3.8, 4.0, 3.0, 5.0, "paired t", cl.UNDECIDED),
    ("confusion_variable", PERCENT, "SubATTM -> BM 12.0 %", 12.0, 12.5, 11.0, 13.5, "Wilson", cl.REPRODUCED),
    ("ablation_SubATTM_VD_drop", POINTS, "13.5 points", 13.5, 3.0, 1.0, 5.0, "Newcombe", cl.CONTRADICTED),
    ("response_layer4_width", STEPS, "200-350 steps", 275.0, 300.0, 210.0, 340.0, "range", cl.REPRODUCED),
]


PAPER_INTERVALS = {"augment_V_targeted-random_sigma0.742": (-3.6, 11.3)}  # the paper's own, where it has one


def hand_summary() -> pd.DataFrame:
    rows = []
    for result, unit, paper, paper_value, value, lo, hi, method, _ in CASES:
        paper_low, paper_high = PAPER_INTERVALS.get(result, (NAN, NAN))
        this_run = "not run" if math.isnan(value) else ("SubATTM -> SubCTRW" if result.startswith("confusion")
                                                         else "") + f" {value}"
        rows.append({"result": result, "description": f"about {result}", "this_run": this_run.strip(),
                     "value": value, "ci_low": lo, "ci_high": hi, "n": 0 if math.isnan(value) else 100,
                     "paper": paper, "paper_value": paper_value, "paper_low": paper_low, "paper_high": paper_high,
                     "source": "x.csv", "unit": unit, "ci_method": method})
    return pd.DataFrame(rows, columns=list(sm.COLUMNS))


@pytest.fixture
def claims() -> pd.DataFrame:
    return cl.claims_table(hand_summary())


def test_each_verdict(claims: pd.DataFrame) -> None:
    expected = {case[0]: case[-1] for case in CASES if case[-1] is not None}
    assert dict(zip(claims["claim"], claims["verdict"])) == expected
    assert "erasing_none" not in set(claims["claim"])  # no paper value, not marked: not a claim
    assert list(claims.columns) == list(cl.COLUMNS)


def test_differences_and_their_intervals(claims: pd.DataFrame) -> None:
    diff = claims.set_index("claim")[["difference", "diff_low", "diff_high"]]
    assert diff.loc["accuracy_fixed"].tolist() == pytest.approx([-0.5, -1.5, 1.0])
    assert diff.loc["accuracy_variable"].tolist() == pytest.approx([5.0, 3.0, 7.0])
    assert diff.loc["recall_fixed_BM"].tolist() == pytest.approx([-10.0, -15.0, -5.0])
    assert diff.loc["corr_SubFBM_AC"].tolist() == pytest.approx([0.25, 0.22, 0.28])
    assert diff.loc["augment_targeted-random_sigma0.5"].tolist() == pytest.approx([0.5, -1.0, 2.0])
    assert diff.loc["block_layer1", "difference"] == pytest.approx(-1.0)
    assert diff.loc["block_layer1", ["diff_low", "diff_high"]].isna().all()
    assert diff.loc[["erasing_gradcam_bin0_trajectory", "augment_random_sigma0"]].isna().all().all()
    margin = claims.set_index("claim")["margin"]
    assert margin["corr_SubFBM_AC"] == 0.10 and margin["macro_f1_fixed"] == 2.0


def test_notes_say_why(claims: pd.DataFrame) -> None:
    note = claims.set_index("claim")["note"]
    assert note["erasing_gradcam_bin0_trajectory"] == "computed otherwise"
    assert note["augment_random_sigma0"] == "not part of this run"
    assert note["block_layer1"] == "no interval"
    assert note["confusion_variable"] == "the paper's pair is SubATTM -> BM, this run's largest SubATTM -> SubCTRW"
    assert note["accuracy_fixed"] == ""


def test_grouped_in_the_papers_order_keeping_the_summarys_within(claims: pd.DataFrame) -> None:
    assert list(claims["group"].unique()) == list(cl.GROUP_ORDER)
    assert list(claims["claim"]) == [
        "accuracy_fixed", "accuracy_variable", "recall_fixed_BM", "macro_f1_fixed", "confusion_variable",
        "erasing_gradcam_bin0_trajectory", "block_layer1", "augment_random_sigma0", "augment_targeted-random_sigma0.5",
        "augment_V_targeted-random_sigma0.742", "response_layer4_width", "corr_SubFBM_AC", "corr_SupFBM_AC", "corr_SubCTRW_AC", "ablation_SubATTM_VD_drop"]


def test_counts_per_verdict(claims: pd.DataFrame) -> None:
    assert cl.verdict_counts(claims) == {"reproduced": 5, "undecided": 3, "contradicted": 5, "not comparable": 1,
                                         "not run": 1}
    assert cl.verdict_counts(claims.iloc[:0]) == dict.fromkeys(cl.VERDICTS, 0)
    assert cl.group_counts(claims)["statistical relevance"] == {"reproduced": 1, "undecided": 0, "contradicted": 2,
                                                                "not comparable": 0, "not run": 0}


@pytest.mark.parametrize("lo, hi, expected", [
    (88.0, 92.0, cl.REPRODUCED),  # the edges belong to the margin
    (92.5, 93.0, cl.CONTRADICTED), (80.0, 87.9, cl.CONTRADICTED),
    (87.0, 93.0, cl.UNDECIDED), (91.0, 92.1, cl.UNDECIDED),
])
def test_verdict_at_the_edges(lo: float, hi: float, expected: str) -> None:
    assert cl.verdict(90.0, (lo + hi) / 2, lo, hi, 2.0) == expected


def test_the_papers_own_interval_widens_the_difference(claims: pd.DataFrame) -> None:
    """MOVER: 4.0 [3.0, 5.0] against 3.8 [-3.6, +11.3] gives 0.2 [0.2 - hypot(1.0, 7.5), 0.2 + hypot(1.0, 7.4)]."""
    row = claims.set_index("claim").loc["augment_V_targeted-random_sigma0.742"]
    assert (row["difference"], row["diff_low"], row["diff_high"]) == pytest.approx(
        (0.2, 0.2 - math.hypot(1.0, 7.5), 0.2 + math.hypot(1.0, 7.4)))
    assert (row["paper_low"], row["paper_high"]) == (-3.6, 11.3)
    # without the paper's interval the same row would read as reproduced
    assert cl.verdict(3.8, 4.0, 3.0, 5.0, 2.0) == cl.REPRODUCED
    assert cl.verdict(3.8, 4.0, 3.0, 5.0, 2.0, paper_low=-3.6, paper_high=11.3) == cl.UNDECIDED
    md = cl.claims_markdown(claims)
    assert "| +3.8 [-3.6, +11.3] | +4.0 [+3.0, +5.0] | +0.2 [-7.4, +7.7] | points | undecided |" in md
    legacy = cl.claims_table(hand_summary().drop(columns=["paper_low", "paper_high"]))  # an older summary
    assert legacy.set_index("claim").loc["augment_V_targeted-random_sigma0.742", "verdict"] == cl.REPRODUCED


def test_sign_counts_only_for_signed_units() -> None:
    assert cl.verdict(0.05, -0.03, -0.04, -0.02, 0.1, signed=True) == cl.CONTRADICTED
    assert cl.verdict(0.05, -0.03, -0.04, -0.02, 0.1) == cl.REPRODUCED


def test_every_published_value_belongs_to_an_experiment() -> None:
    assert {cl.group_of(key) for key in PAPER} == set(cl.GROUP_ORDER)
    assert cl.group_of("augment_targeted-random_sigma1") == "augmentation"
    assert cl.group_of("augment_V_targeted-random_sigma0.742") == "augmentation, set-up V"  # the longest prefix
    with pytest.raises(ValueError, match="'layerwidth_x' belongs to no experiment"):
        cl.group_of("layerwidth_x")
    assert set(PAPER[k].unit for k in PAPER) <= set(cl.MARGINS)
    assert sm.ERASING_NOT_COMPARABLE.startswith(cl.NOT_COMPARABLE_PREFIX)


def test_a_summary_lacking_a_column_or_margin_is_named() -> None:
    with pytest.raises(ValueError, match="column\\(s\\) ci_low missing"):
        cl.claims_table(hand_summary().drop(columns="ci_low"))
    odd = hand_summary()
    odd.loc[1, "unit"] = "furlongs"
    with pytest.raises(ValueError, match="accuracy_fixed: unit 'furlongs' has no margin"):
        cl.claims_table(odd)


def test_markdown_states_the_rule_and_counts(claims: pd.DataFrame) -> None:
    md = cl.claims_markdown(claims, run_name="tiny", seed=2024)
    lines = md.splitlines()
    assert lines[0] == "# The paper's claims against this run (run tiny, master seed 2024)"
    assert cl.RULE in md and "2.0 for %, points and F1 x 100; 0.10 for r" in md
    assert "Claims: 5 reproduced, 3 undecided, 5 contradicted, 1 not comparable, 1 not run (15 in all)." in md
    headings = [line for line in lines if line.startswith("## ")]
    assert headings[0] == "## classification (2 reproduced, 1 undecided, 2 contradicted)"
    assert [h.split(" (")[0][3:] for h in headings] == list(cl.GROUP_ORDER)
    assert ("| accuracy_fixed | about accuracy_fixed | 90.0 | 89.5 [88.5, 91.0] | -0.5 [-1.5, +1.0] | % "
            "| reproduced |") in lines
    assert "| corr_SubFBM_AC | about corr_SubFBM_AC | -0.20 | +0.05 [+0.02, +0.08] | +0.25 [+0.22, +0.28] | r " \
           "| contradicted |" in lines
    assert sum(line.startswith("| ") and not line.startswith("| claim") for line in lines) == len(claims)
    assert cl.claims_markdown(claims).splitlines()[0] == "# The paper's claims against this run"


def test_paper_values_keep_their_published_decimals_and_the_sign_of_a_difference() -> None:
    # set-up V's values have two decimals (85.77 %, a difference of 49.43 - 45.61 = 3.82 points), set-up F's one
    assert cl._paper_number(85.77, PERCENT) == "85.77" and cl._paper_number(89.2, PERCENT) == "89.2"
    assert cl._paper_number(3.82, POINTS) == "+3.82" and cl._paper_number(-1.0, POINTS) == "-1.0"
    assert cl._paper_number(0.11, POINTS) == "+0.11" and cl._paper_number(-0.2, R) == "-0.20"


def test_caption_and_page_state_the_margins() -> None:
    caption = (REPO / "workflow" / "report" / "claims.rst").read_text()
    assert f"delta = {cl.MARGINS[PERCENT]:g} points" in caption and f"{cl.MARGINS[R]:.2f} for Pearson r" in caption
    assert len({cl.MARGINS[u] for u in (PERCENT, POINTS, F1)}) == 1  # as the caption says: one margin for those
    for words in (*cl.VERDICTS, "opposite to the paper's sign", "no interval"):
        assert words in caption, words
    section = next(s for s in SECTIONS if s.key == "claims")
    assert set(section.columns) <= set(cl.COLUMNS)
    assert f"{cl.MARGINS[R]:.2f} for r" in section.about


def test_a_real_summary_holds_every_published_value() -> None:
    record = json.loads((REPO / "docs" / "runs" / "quick.json").read_text())["tables"]["summary"]
    claims = cl.claims_table(pd.DataFrame(record["data"], columns=record["columns"]))
    assert set(PAPER) <= set(claims["claim"])
    assert sum(cl.verdict_counts(claims).values()) == len(claims)
    assert (claims.loc[claims["verdict"] == cl.NOT_COMPARABLE, "note"] != "").all()


def _claims_argv(summary: Path, out: Path) -> list[str]:
    return ["claims", "--summary", str(summary), "--out-csv", str(out / "claims.csv"), "--out-md",
            str(out / "claims.md"), "--run-name", "test run", "--seed", "7"]


def test_command_writes_both_tables_and_names_a_bad_summary(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    summary, out = tmp_path / "summary.csv", tmp_path / "tables"
    hand_summary().to_csv(summary, index=False)
    assert main(_claims_argv(summary, out)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["claims.csv", "claims.md"]  # no temporary file left
    table = pd.read_csv(out / "claims.csv")
    assert list(table.columns) == list(cl.COLUMNS)
    assert table["verdict"].tolist() == cl.claims_table(hand_summary())["verdict"].tolist()
    assert (out / "claims.md").read_text().startswith(
        "# The paper's claims against this run (run test run, master seed 7)")
    capsys.readouterr()
    hand_summary().drop(columns="paper_value").to_csv(summary, index=False)
    assert main(_claims_argv(summary, tmp_path / "failed")) == 2
    err = capsys.readouterr().err
    assert str(summary) in err and "column(s) paper_value missing" in err
    assert not (tmp_path / "failed").exists()  # a failing run writes nothing
    assert main(_claims_argv(tmp_path / "absent.csv", tmp_path / "failed")) == 2
    assert "absent.csv: no such file" in capsys.readouterr().err


def test_plot_draws_from_a_claims_table(tmp_path: Path) -> None:
    csv = tmp_path / "claims.csv"
    cl.claims_table(hand_summary()).to_csv(csv, index=False)
    pdf = tmp_path / "figures" / "claims.pdf"
    assert main(["plot", "claims", "--claims", str(csv), "--out", str(pdf)]) == 0
    assert pdf.stat().st_size > 0 and pdf.with_suffix(".png").stat().st_size > 0
    pd.read_csv(csv).drop(columns="margin").to_csv(csv, index=False)
    assert main(["plot", "claims", "--claims", str(csv), "--out", str(tmp_path / "x.pdf")]) == 2

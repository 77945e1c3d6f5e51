"""The paper's claims, one verdict each: does this run reproduce the number the paper reports?

Reads the results summary (``andicam summarize``): every row that carries a paper value, and every row
the summary marks "not comparable", is a claim. Each gets the difference ours minus the paper's, with
the 95 % interval of our value shifted by the paper's value, and one verdict.

The verdict rule. Each unit has an equivalence margin delta (``MARGINS``, why in ``MARGINS_WHY``); a claim is

- **reproduced** when the whole 95 % interval of our value lies within [paper - delta, paper + delta];
- **contradicted** when the whole interval lies outside it (entirely above paper + delta or entirely
  below paper - delta); for a correlation also when the interval excludes 0 on the side opposite to the
  paper's sign, whatever the margin says (the paper's claim is the direction first);
- **undecided** otherwise: the interval straddles an edge of the margin, or our row has a value but no
  interval (e.g. a mean over a single seed), so its precision is unknown;
- **not comparable** when the summary says the paper computed its number differently;
- **not run** when this run has no value for the row (its input was not part of the run).

The rule reads the 95 % interval of the difference ours minus the paper's against [-delta, +delta]. Where
the paper gives a number alone, that is our interval shifted by the paper's value (the paper's value taken as
exact). Where its published spread implies an interval of its own (the augmentation arms, mean +- SE over
models, and their difference), the two intervals are combined by MOVER (``andicam.intervals``), so the
paper's own uncertainty widens the difference's interval. The layer response's row is of one fixed model, so
its "interval" is the range over the stage's positions: reproduced means every position lies within the margin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from andicam.intervals import mover_difference
from andicam.paper import F1, PAPER_RESPONSE_RANGE, PERCENT, POINTS, R, STEPS
from andicam.summary import markdown_cell

REPRODUCED, UNDECIDED, CONTRADICTED = "reproduced", "undecided", "contradicted"
NOT_COMPARABLE, NOT_RUN = "not comparable", "not run"
VERDICTS: tuple[str, ...] = (REPRODUCED, UNDECIDED, CONTRADICTED, NOT_COMPARABLE, NOT_RUN)

# The summary's paper text of a row whose number the paper computed differently starts so.
NOT_COMPARABLE_PREFIX = "not comparable"

# Equivalence margin delta per unit, and why (stated with the rule in the markdown).
MARGINS: dict[str, float] = {PERCENT: 2.0, POINTS: 2.0, F1: 2.0, R: 0.10,
                              STEPS: (PAPER_RESPONSE_RANGE[1] - PAPER_RESPONSE_RANGE[0]) / 2}
MARGINS_WHY = (
    "Two points (accuracies, recalls, shares, their differences, 100 x macro-F1) is about one standard deviation "
    "of accuracy between the paper's own retrained models (its standard error over 20 models per arm, times "
    "sqrt(20)): closer than that, a second training of the paper's model could not tell the two apart. 0.10 in r "
    "is half the |r| of 0.2 that sets the paper's highlighted correlations apart from the rest, and over three "
    "times its own train-test agreement. {steps:g} steps (the layer response) is half the paper's range of "
    "{low:g}-{high:g} steps around its middle, so that reproduced means every position's window lies within that "
    "range."
).format(steps=MARGINS[STEPS], low=PAPER_RESPONSE_RANGE[0], high=PAPER_RESPONSE_RANGE[1])
SIGNED_UNITS: frozenset[str] = frozenset({R})  # units whose sign is itself a claim (correlations)
SIGNED_DISPLAY: frozenset[str] = frozenset({R, POINTS})  # values written with their sign (differences, r)

# The paper's experiment of each claim, by the prefix of its summary key; the longest matching prefix wins.
GROUPS: dict[str, str] = {
    "accuracy_": "classification",
    "macro_f1_": "classification",
    "recall_": "classification",
    "confusion_": "classification",
    "erasing_": "erasing",
    "block_": "block heads",
    "augment_": "augmentation",
    "augment_V_": "augmentation, set-up V",
    "corr_": "statistical relevance",
    "response_": "layer response",
    "ablation_": "feature ablation",
}
GROUP_ORDER: tuple[str, ...] = ("classification", "erasing", "block heads", "augmentation", "augmentation, set-up V",
                                "layer response", "statistical relevance", "feature ablation")

SUMMARY_COLUMNS: tuple[str, ...] = ("result", "description", "this_run", "value", "ci_low", "ci_high", "n", "paper",
                                    "paper_value", "unit", "ci_method")
COLUMNS: tuple[str, ...] = ("claim", "group", "description", "paper_value", "paper_low", "paper_high", "value",
                            "ci_low", "ci_high", "unit", "margin", "ci_method", "n", "difference", "diff_low",
                            "diff_high", "verdict", "note")

RULE = (
    "A claim is **reproduced** when the whole 95 % interval of this run's value lies within the paper's value "
    "plus or minus a margin delta, **contradicted** when the whole interval lies outside it (entirely above or "
    "entirely below), and **undecided** when the interval straddles an edge of the margin or the row has no "
    "interval. A correlation whose interval excludes 0 on the side opposite to the paper's sign is contradicted "
    "whatever the margin. Where the paper's spread implies an interval of its own (the augmentation rows: mean "
    "+- SE over its models), the interval compared is that of the difference ours minus the paper's, both "
    "intervals combined by MOVER. **Not comparable**: the paper computed its number differently (the summary "
    "says how). **Not run**: this run has no value for the row."
)


def margin_text() -> str:
    """The margins, units of one margin together: '2.0 for %, points and F1 x 100; 0.10 for r'."""
    by_margin: dict[str, list[str]] = {}
    for unit, delta in MARGINS.items():
        by_margin.setdefault(_number(delta, unit), []).append(unit)
    return "; ".join(f"{delta} for " + (", ".join(units[:-1]) + " and " if len(units) > 1 else "") + units[-1]
                     for delta, units in by_margin.items())


def group_of(claim: str) -> str:
    """The paper's experiment a summary key belongs to (``GROUPS``, longest prefix); a key of none is an error."""
    matches = [prefix for prefix in GROUPS if claim.startswith(prefix)]
    if not matches:
        raise ValueError(f"claim {claim!r} belongs to no experiment: add its key's prefix to andicam.claims.GROUPS")
    return GROUPS[max(matches, key=len)]


def difference_interval(paper_value: float, value: float, ci_low: float, ci_high: float,
                        paper_low: float = math.nan, paper_high: float = math.nan) -> tuple[float, float, float]:
    """(ours - paper's, low, high): our interval shifted by the paper's value or, where the paper has an interval
    of its own, both combined by MOVER. NaN bounds where ours has no value or no interval."""
    if not (math.isfinite(value) and math.isfinite(ci_low) and math.isfinite(ci_high)):
        return value - paper_value, math.nan, math.nan
    if math.isfinite(paper_low) and math.isfinite(paper_high):
        return mover_difference(value, ci_low, ci_high, paper_value, paper_low, paper_high)
    return value - paper_value, ci_low - paper_value, ci_high - paper_value


def verdict(paper_value: float, value: float, ci_low: float, ci_high: float, margin: float,
            *, signed: bool = False, not_comparable: bool = False,
            paper_low: float = math.nan, paper_high: float = math.nan) -> str:
    """One claim's verdict by the rule of this module; ``signed``: the sign of the paper's value is a claim too;
    ``paper_low``/``paper_high``: the paper's own interval, where it has one."""
    if not_comparable or not math.isfinite(paper_value):
        return NOT_COMPARABLE
    if not math.isfinite(value):
        return NOT_RUN
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return UNDECIDED
    if signed and ((paper_value > 0 and ci_high < 0) or (paper_value < 0 and ci_low > 0)):
        return CONTRADICTED
    _, low, high = difference_interval(paper_value, value, ci_low, ci_high, paper_low, paper_high)
    if low >= -margin and high <= margin:
        return REPRODUCED
    if low > margin or high < -margin:
        return CONTRADICTED
    return UNDECIDED


def _pair(text: str) -> str:
    """'A -> B' at the start of a confusion's text ('A -> B 5.0 % ...'), else ''."""
    words = text.split()
    return " ".join(words[:3]) if len(words) >= 3 and words[1] == "->" else ""


def _note(verdict_: str, paper_text: str, this_run: str, has_interval: bool) -> str:
    """Why a claim has no verdict of its own, or what its number leaves out (a confusion of another pair)."""
    if verdict_ == NOT_COMPARABLE:
        return paper_text.removeprefix(NOT_COMPARABLE_PREFIX).lstrip(": ")
    if verdict_ == NOT_RUN:  # not part of the run, or run without a value (the summary says why)
        return "not part of this run" if this_run in ("", "not run") else this_run
    notes = []
    if _pair(paper_text) and _pair(this_run) != _pair(paper_text):
        notes.append(f"the paper's pair is {_pair(paper_text)}, this run's largest {_pair(this_run) or 'unknown'}")
    if not has_interval:
        notes.append("no interval")
    return "; ".join(notes)


def claims_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per claim of the paper the summary holds (``COLUMNS``), grouped by experiment in ``GROUP_ORDER``,
    in the summary's order within a group.

    ``difference`` is ours minus the paper's, ``diff_low``/``diff_high`` our interval minus the paper's value.
    """
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(f"not a summary table of 'andicam summarize': column(s) {', '.join(missing)} missing")
    rows = []
    for row in summary.itertuples(index=False):
        paper_text = "" if pd.isna(row.paper) else str(row.paper)
        not_comparable = paper_text.startswith(NOT_COMPARABLE_PREFIX)
        paper_value = float(row.paper_value)
        if not (math.isfinite(paper_value) or not_comparable):
            continue
        if row.unit not in MARGINS:
            raise ValueError(f"{row.result}: unit {row.unit!r} has no margin in andicam.claims.MARGINS")
        value, low, high = float(row.value), float(row.ci_low), float(row.ci_high)
        # summaries written before the paper's own intervals were stored lack the two columns
        paper_low, paper_high = (float(getattr(row, k, math.nan)) for k in ("paper_low", "paper_high"))
        margin = MARGINS[row.unit]
        ci_method = "" if pd.isna(row.ci_method) else str(row.ci_method)
        v = verdict(paper_value, value, low, high, margin, signed=row.unit in SIGNED_UNITS,
                    not_comparable=not_comparable, paper_low=paper_low, paper_high=paper_high)
        diff, diff_low, diff_high = difference_interval(paper_value, value, low, high, paper_low, paper_high)
        rows.append({
            "claim": row.result, "group": group_of(row.result), "description": row.description,
            "paper_value": paper_value, "paper_low": paper_low, "paper_high": paper_high, "value": value,
            "ci_low": low, "ci_high": high, "unit": row.unit,
            "margin": margin, "ci_method": ci_method, "n": int(row.n) if pd.notna(row.n) else 0,
            "difference": diff, "diff_low": diff_low, "diff_high": diff_high,
            "verdict": v, "note": _note(v, paper_text, str(row.this_run), math.isfinite(low) and math.isfinite(high)),
        })
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    order = table["group"].map({g: i for i, g in enumerate(GROUP_ORDER)})
    return table.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def verdict_counts(claims: pd.DataFrame) -> dict[str, int]:
    """Claims per verdict, every verdict of ``VERDICTS`` listed (zero where none), in that order."""
    counts = claims["verdict"].value_counts()
    unknown = sorted(set(counts.index) - set(VERDICTS))
    if unknown:
        raise ValueError(f"unknown verdict(s) {', '.join(unknown)}")
    return {v: int(counts.get(v, 0)) for v in VERDICTS}


def group_counts(claims: pd.DataFrame) -> Mapping[str, dict[str, int]]:
    """Claims per verdict within each experiment, in ``GROUP_ORDER`` (experiments without claims left out)."""
    return {g: verdict_counts(claims[claims["group"] == g]) for g in GROUP_ORDER if (claims["group"] == g).any()}


def _number(x: float, unit: str, signed: bool = False) -> str:
    if not math.isfinite(x):
        return ""
    digits = 2 if unit == R else 1
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _paper_number(x: float, unit: str) -> str:
    """The paper's value to the precision it was published with (two decimals at most)."""
    signed = unit in SIGNED_DISPLAY
    if math.isfinite(x) and unit != R and round(x, 1) != round(x, 2):
        return f"{x:+.2f}" if signed else f"{x:.2f}"
    return _number(x, unit, signed)


def _with_interval(x: float, low: float, high: float, unit: str, signed: bool) -> str:
    text = _number(x, unit, signed)
    if text and math.isfinite(low) and math.isfinite(high):
        text += f" [{_number(low, unit, signed)}, {_number(high, unit, signed)}]"
    return text


def claims_markdown(claims: pd.DataFrame, run_name: str | None = None, seed: int | None = None) -> str:
    """Markdown: the rule and its margins, the counts per verdict, then one table per experiment."""
    details = [d for d in (f"run {run_name}" if run_name else "", f"master seed {seed}" if seed is not None else "")
               if d]
    head = "# The paper's claims against this run" + (f" ({', '.join(details)})" if details else "")
    counts = verdict_counts(claims)
    lines = [head, "", "Paper values: Bae, Baek, Jeong 2024, as quoted in METHODS.md §6. Intervals are 95 %.", "",
             RULE, "", f"Margins delta: {margin_text()}. {MARGINS_WHY}", "",
             "Claims: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + f" ({len(claims)} in all).", ""]
    for group, per_verdict in group_counts(claims).items():
        rows = claims[claims["group"] == group]
        tally = ", ".join(f"{n} {v}" for v, n in per_verdict.items() if n)
        lines += [f"## {group} ({tally})", "",
                  "| claim | result | paper [its own 95 % CI] | this run [95 % CI] | ours - paper [95 % CI] | unit "
                  "| verdict |",
                  "|---|---|---|---|---|---|---|"]
        for r in rows.itertuples(index=False):
            verdict_ = r.verdict + (f" ({r.note})" if r.note else "")
            lines.append("| " + " | ".join(markdown_cell(c) for c in (
                r.claim, r.description, _paper_number(r.paper_value, r.unit) + (
                    f" [{_number(r.paper_low, r.unit, r.unit in SIGNED_DISPLAY)}, "
                    f"{_number(r.paper_high, r.unit, r.unit in SIGNED_DISPLAY)}]"
                    if math.isfinite(r.paper_low) and math.isfinite(r.paper_high) else ""),
                _with_interval(r.value, r.ci_low, r.ci_high, r.unit, r.unit in SIGNED_DISPLAY),
                _with_interval(r.difference, r.diff_low, r.diff_high, r.unit, True), r.unit, verdict_)) + " |")
        lines.append("")
    return "\n".join(lines)

"""How much an explanation depends on the model: the explaining rows of the results summary for every
explained training seed, side by side.

Every explaining number (erasing, block heads, layer response, correlations, feature ablation) is of one
trained network. The workflow explains the main model (first training seed) and, for each seed of
``explain.more_seeds``, the main-depth model of that seed with the same data and settings (results/seed<s>/).
This table puts their summary values next to each other with the mean over the models and the spread
(largest minus smallest), so a reader sees which explaining results another training seed would change. With
two models the spread is the only honest measure of the between-model variation; no interval over models is
drawn from so few.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from andicam.claims import SUMMARY_COLUMNS, group_of
from andicam.summary import markdown_cell

# The summary's experiments that explain a model (the others score models: classification, augmentation).
EXPLAINING_GROUPS: tuple[str, ...] = ("erasing", "block heads", "layer response", "statistical relevance",
                                      "feature ablation")


def _group(result: str) -> str:
    """The paper's experiment a summary row belongs to, '' for a row of none."""
    try:
        return group_of(result)
    except ValueError:
        return ""


def seed_table(summaries: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """One row per explaining summary row: its value for every model (column ``seed<s>``), their mean and
    spread over the models that have a value. ``summaries``: training seed -> that model's summary table, the
    main model first; every table must list the same rows."""
    if not summaries:
        raise ValueError("no summary to compare")
    for seed, table in summaries.items():
        missing = [c for c in SUMMARY_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"the summary of seed {seed} is not a summary table: column(s) {', '.join(missing)} "
                             "missing")
    seeds = list(summaries)
    first = summaries[seeds[0]]
    for seed in seeds[1:]:
        if list(summaries[seed]["result"]) != list(first["result"]):
            raise ValueError(f"the summaries of seeds {seeds[0]} and {seed} list different rows")
    groups = first["result"].map(_group)
    keep = groups.isin(EXPLAINING_GROUPS).to_numpy()
    out = first.loc[keep, ["result", "description", "unit", "paper_value"]].reset_index(drop=True)
    out.insert(1, "group", groups[keep].to_numpy())
    values = pd.DataFrame({f"seed{s}": summaries[s].loc[keep, "value"].to_numpy(dtype=float) for s in seeds})
    counts = values.notna().sum(axis=1)  # the models with a value; mean and spread skip the others
    return pd.concat([out, values], axis=1).assign(
        mean=values.mean(axis=1), spread=(values.max(axis=1) - values.min(axis=1)).where(counts > 1),
        n_models=counts)


def _cell(x: float, unit: str) -> str:
    if not np.isfinite(x):
        return ""
    return f"{x:+.2f}" if unit == "r" else f"{x:.1f}"


def seed_markdown(table: pd.DataFrame, run_name: str | None = None) -> str:
    """Markdown: what the table is, then one line per explaining row (value per model, mean, spread)."""
    seeds = [c for c in table.columns if c.startswith("seed")]
    head = "# Explaining results per trained model" + (f" (run {run_name})" if run_name else "")
    lines = [head, "",
             f"Each explaining number of the results summary for the main-depth model of every explained training "
             f"seed ({', '.join(s[4:] for s in seeds)}; the first is the main model), their mean and spread (largest "
             "minus smallest) over the models. Units as in the summary: % for accuracies and shares, points for "
             "differences, r for correlations, steps for the layer response.", "",
             "| result | description | unit | " + " | ".join(seeds) + " | mean | spread |",
             "|---|---|---|" + "---|" * len(seeds) + "---|---|"]
    for row in table.itertuples(index=False):
        r = row._asdict()
        cells = [_cell(r[s], row.unit) for s in seeds]
        lines.append(f"| {row.result} | {markdown_cell(row.description)} | {row.unit} | " + " | ".join(cells)
                     + f" | {_cell(row.mean, row.unit)} | {_cell(row.spread, row.unit)} |")
    return "\n".join(lines) + "\n"

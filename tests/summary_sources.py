"""Every number of a run's summary table, recomputed from the file its row names as its source.

Used by the end-to-end test of the tiny DAG: a summary number that no longer equals its source (a typo
in a formula, a wrong file, a unit mixed up) fails there. Kept apart from the package on purpose: it is
a second, independent reading of the run's outputs, not the code that wrote the summary.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd


def _metrics(work: Path, sources: str) -> list[dict]:
    return [json.loads((work / s.strip()).read_text()) for s in re.split(r"[;,] ", sources) if s.strip()]


def expected_value(work: Path, row: pd.Series) -> float | None:
    """The row's value recomputed from its source file(s); None for rows this reading does not cover."""
    result, source = str(row["result"]), str(row["source"])
    if m := re.fullmatch(r"accuracy_(fixed|variable)", result):
        return 100 * float(np.mean([d["accuracy"] for d in _metrics(work, source)]))
    if m := re.fullmatch(r"macro_f1_(fixed|variable)", result):
        return 100 * float(np.mean([d["macro_f1"] for d in _metrics(work, source)]))
    if m := re.fullmatch(r"recall_(fixed|variable)_(\w+)", result):
        return 100 * _metrics(work, source)[0]["per_class"][m.group(2)]["recall"]
    if m := re.fullmatch(r"confusion_(fixed|variable)", result):
        counts = np.asarray(_metrics(work, source)[0]["confusion_counts"], float)
        share = counts / counts.sum(axis=1, keepdims=True)
        np.fill_diagonal(share, -1.0)
        return 100 * float(share.max())
    if m := re.fullmatch(r"erasing_(uniform|run_length)_mean(_trajectory)?", result):
        table = pd.read_csv(work / source)
        sel = table[(table["class"] == "all") & (table["method"] == m.group(1)) & (table["stage"] == "layer4")]
        return 100 * float(sel.groupby("seed")["accuracy"].mean().mean())
    if m := re.fullmatch(r"erasing_minus_(uniform|run_length)_bin(\d+)(_trajectory)?", result):
        with np.load(work / source) as f:  # Grad-CAM (N, bins) minus the control averaged over its seeds
            diff = f["gradcam"][:, int(m.group(2))].astype(float) - f[m.group(1)][:, :, int(m.group(2))].mean(axis=0)
        return 100 * float(diff.mean())
    if m := re.fullmatch(r"erasing_(none|gradcam_bin(\d+))(_trajectory)?", result):
        table = pd.read_csv(work / source)
        sel = table[(table["class"] == "all")
                    & (table["method"] == ("none" if m.group(1) == "none" else "gradcam"))
                    & (table["bin"] == (-1 if m.group(1) == "none" else int(m.group(2))))]
        return 100 * float(sel["accuracy"].mean())
    if m := re.fullmatch(r"erasing_fill_(zero|hold|bridge)_random_loss", result):
        table = pd.read_csv(work / source)
        sel = table[(table["class"] == "all") & (table["stage"] == "layer4")]
        none = float(sel.loc[sel["method"] == "none", "accuracy"].iloc[0])
        return 100 * (none - float(sel.loc[sel["method"] == "uniform", "accuracy"].mean()))
    if m := re.fullmatch(r"block_(layer\d)(_all)?", result):
        table = pd.read_csv(work / source)
        sel = table[(table["cut"] == m.group(1)) & (table["balance"] == ("none" if m.group(2) else "undersample"))]
        return 100 * float(sel["eval_accuracy"].iloc[0])
    if m := re.fullmatch(r"ablation_(\w+)_(AC|CS|SG|VD)_to_(\w+)", result):
        table = pd.read_csv(work / source)
        names = ["SubATTM", "SubCTRW", "SubFBM", "SubSBM", "SupFBM", "SupLW", "SupSBM", "BM"]
        sel = table[(table["mode"] == "for") & (table["statistic"] == m.group(2))
                    & (table["label"] == names.index(m.group(1)))]
        new = sel[(sel["predicted_before"] == sel["label"]) & (sel["predicted_after"] != sel["label"])]
        return 100 * float((new["predicted_after"] == names.index(m.group(3))).mean())
    if m := re.fullmatch(r"ablation_(\w+)_(AC|CS|SG|VD)_drop", result):
        table = pd.read_csv(work / source)
        names = ["SubATTM", "SubCTRW", "SubFBM", "SubSBM", "SupFBM", "SupLW", "SupSBM", "BM"]
        sel = table[(table["mode"] == "for") & (table["statistic"] == m.group(2))
                    & (table["label"] == names.index(m.group(1)))]
        return 100 * float((sel["predicted_before"] == sel["label"]).mean()
                           - (sel["predicted_after"] == sel["label"]).mean())
    arms = "targeted_layer3|targeted_peak|most_probable|least_confident|targeted|random"
    # an arm, or an arm minus random or most_probable (the paired differences, diagnostic ones too)
    if m := re.fullmatch(rf"augment_(?:V_)?((?:{arms})(?:-(?:random|most_probable))?)_sigma([\d.]+)", result):
        table = pd.read_csv(work / source)
        assert ("/variable/" in source) == result.startswith("augment_V_"), (result, source)  # set-up V's own file
        sel = table[(table["arm"] == m.group(1)) & (table["metric"] == "accuracy")
                    & np.isclose(table["sigma"], float(m.group(2)), atol=5e-4)]
        return 100 * float(sel["mean"].iloc[0])
    if m := re.fullmatch(r"corr_(within_)?(\w+)_(AC|CS|SG|VD)", result):
        table = pd.read_csv(work / source)
        sel = table[(table["stage"] == "layer4") & (table["class"] == m.group(2)) & (table["statistic"] == m.group(3))
                    & (table["method"] == ("pearson_within" if m.group(1) else "pearson"))]
        return float(sel["r"].iloc[0])
    if result == "response_layer4_width":
        import h5py

        with h5py.File(work / source) as f:
            r = f["layer4"][...].astype(float)  # (steps, positions)
        cdf = np.cumsum(r, axis=0) / r.sum(axis=0)  # per position; the central 90 % of each position's response
        lo = (cdf < 0.05).sum(axis=0)
        hi = (cdf < 0.95).sum(axis=0)
        return float(np.median(hi - lo + 1))
    return None


def check_summary(work: Path, summary: pd.DataFrame) -> int:
    """Assert each covered row's value equals its source and its text shows that value; return rows checked."""
    checked = 0
    for _, row in summary.iterrows():
        if pd.isna(row["value"]):
            continue
        expected = expected_value(work, row)
        if expected is None:
            continue
        assert np.isclose(row["value"], expected, rtol=0, atol=1e-9), (row["result"], row["value"], expected)
        shown = {"r": f"{row['value']:.2f}", "steps": f"{row['value']:.0f}"}.get(row["unit"], f"{row['value']:.1f}")
        assert shown.lstrip("-") in str(row["this_run"]), (row["result"], shown, row["this_run"])
        checked += 1
    return checked

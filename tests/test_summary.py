"""Results summary (andicam.summary, ``andicam summarize``): rows, "not run", markdown, command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from andicam import claims as cl
from andicam import summary as sm
from andicam.cli import main
from andicam.dataio import CLASS_NAMES
from andicam.intervals import macro_f1_from_counts, t_interval, wilson_interval
from andicam.paper import CORRELATION_CELLS, PAPER


def confusion(correct: list[int], support: int = 10, wrong_to: dict[int, int] | None = None) -> np.ndarray:
    """8 x 8 counts, rows true: ``correct[k]`` right in class k, the rest to ``wrong_to[k]`` (default: next class)."""
    counts = np.zeros((8, 8), dtype=np.int64)
    for k, c in enumerate(correct):
        counts[k, k] = c
        counts[k, (wrong_to or {}).get(k, (k + 1) % 8)] += support - c
    return counts


def write_metrics(path: Path, regime: str, seed: int, counts: np.ndarray, depth: int = 18) -> Path:
    """A metrics.json laid out as 'andicam evaluate' writes it (only the keys the summary reads, plus a few)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(counts.sum())
    metrics = {
        "accuracy": float(np.trace(counts) / n),
        "class_names": list(CLASS_NAMES),
        "confusion_counts": counts.tolist(),
        "data": [f"results/data/{regime}/test/shard0.h5"],
        "macro_f1": float(macro_f1_from_counts(counts)),
        "model": {"best_epoch": 3, "depth": depth, "path": f"results/models/{regime}/depth{depth}/seed{seed}/model.pt",
                  "seed": seed, "tags": {"regime": regime}, "width": 4},
        "n": n,
    }
    path.write_text(json.dumps(metrics))
    return path


def write_erasing(path: Path) -> Path:
    rows = [{"stage": "layer4", "bin": -1, "method": "none", "seed": 0, "class": "all", "accuracy": 0.9, "n": 50,
             "segments": 0.0}]
    for b in range(10):
        rows.append({"stage": "layer4", "bin": b, "method": "gradcam", "seed": 0, "class": "all",
                     "accuracy": (40 - 2 * b) / 50, "n": 50, "segments": 3.0})
        rows.append({"stage": "layer4", "bin": b, "method": "gradcam", "seed": 0, "class": "SubATTM",
                     "accuracy": 0.0, "n": 6, "segments": 3.0})
        for seed, acc in ((0, 0.30), (1, 0.34), (2, 0.32)):
            rows.append({"stage": "layer4", "bin": b, "method": "uniform", "seed": seed, "class": "all",
                         "accuracy": acc, "n": 50, "segments": 3.0})
            rows.append({"stage": "layer4", "bin": b, "method": "run_length", "seed": seed, "class": "all",
                         "accuracy": acc + 0.1, "n": 50, "segments": 3.0})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def cam_correctness() -> np.ndarray:
    """Per-trajectory Grad-CAM results (50, 10) that give ``write_erasing``'s accuracies, (40 - 2 b) / 50."""
    gradcam = np.zeros((50, 10), dtype=np.int8)
    for b in range(10):
        gradcam[:40 - 2 * b, b] = 1
    return gradcam


def write_blocks(path: Path) -> Path:
    """Ours (balance none, every trajectory), then the heads on group-balanced undersamples."""
    pd.DataFrame({
        "cut": ["layer1", "layer2", "layer3"] * 2, "balance": ["none"] * 3 + ["undersample"] * 3,
        "n_groups": [4, 6, 8] * 2,
        "groups": ["SubFBM; SupFBM+SupLW; SubATTM+SubCTRW; SubSBM+SupSBM+BM", "a; b; c; d; e; f", "8 classes"] * 2,
        "train_accuracy": [0.9, 0.8, 0.95, 0.85, 0.8, 0.95], "eval_accuracy": [0.875, 0.5, 0.25, 0.8, 0.5, 0.25],
        "majority_baseline": [0.375, 0.375, 0.125, 0.25, 1 / 6, 0.125],
        "final_train_loss": [0.3, 0.5, 0.2] * 2, "n_train": [160, 160, 160, 80, 120, 160],
        "n_eval": [80, 80, 80, 40, 60, 80],
    }).to_csv(path, index=False)
    return path


def write_layer_response(path: Path) -> Path:
    """A layer-response file: layer4 positions whose response is a box of 200 steps around 31 j + 15."""
    from andicam.response import write_response

    steps = np.arange(1000)[:, None]
    centres = 31 * np.arange(32)[None, :] + 15
    write_response(str(path), {"layer4": (np.abs(steps - centres) < 100).astype(np.float32)}, {"model": "m.pt"})
    return path


def write_transplants(path: Path) -> Path:
    """An ablation transplant table: SupLW under SG 'for': 10 right before, 8 of them wrong after (6 to SupFBM,
    2 to BM); SubATTM under VD 'for': 20 trajectories, 16 right before, of which 4 turn wrong, 1 wrong turns right."""
    sup_lw, sup_fbm, bm, sub_attm = (CLASS_NAMES.index(c) for c in ("SupLW", "SupFBM", "BM", "SubATTM"))
    rows = [(sup_lw, "for", "SG", sup_lw, a) for a in [sup_fbm] * 6 + [bm] * 2 + [sup_lw] * 2]
    rows += [(sup_lw, "inverse", "SG", sup_lw, bm)] * 5  # another mode: not counted
    rows += [(sub_attm, "for", "VD", sub_attm, a) for a in [sub_attm] * 12 + [bm] * 4]
    rows += [(sub_attm, "for", "VD", bm, sub_attm)] + [(sub_attm, "for", "VD", bm, bm)] * 3
    frame = pd.DataFrame(rows, columns=["label", "mode", "statistic", "predicted_before", "predicted_after"])
    frame.insert(0, "index", np.arange(len(frame)))
    frame.to_csv(path, index=False)
    return path


def write_augment(path: Path, sigmas: tuple[float, ...] = (0.0, 0.5, 1.0)) -> Path:
    rows = []
    for s in sigmas:
        for arm, mean, lo, hi in (("targeted", 0.80 - s / 4, 0.78 - s / 4, 0.82 - s / 4),
                                  ("random", 0.76 - s / 4, 0.74 - s / 4, 0.79 - s / 4),
                                  ("targeted-random", 0.04, 0.01, 0.07)):
            method = ("paired " if arm == "targeted-random" else "") + "t interval over retraining seeds"
            rows.append({"arm": arm, "sigma": s, "metric": "accuracy", "n": 5, "mean": mean, "se": 0.01,
                         "ci_low": lo, "ci_high": hi, "ci_method": method})
            rows.append({"arm": arm, "sigma": s, "metric": "recall_BM", "n": 5, "mean": 0.5, "se": 0.01,
                         "ci_low": 0.4, "ci_high": 0.6, "ci_method": method})
        rows.append({"arm": "baseline", "sigma": s, "metric": "accuracy", "n": 1, "mean": 0.7, "se": math.nan,
                     "ci_low": math.nan, "ci_high": math.nan, "ci_method": "t interval over retraining seeds"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def write_relevance(path: Path) -> Path:
    rows = []
    for k, cls in enumerate(CLASS_NAMES):
        for j, statistic in enumerate(("AC", "CS", "SG", "VD")):
            for method in ("pearson", "pearson_within", "spearman"):
                r = 0.01 * (10 * k + j) * {"pearson": 1, "pearson_within": 0.5, "spearman": -1}[method]
                rows.append({"stage": "layer4", "statistic": statistic, "class": cls, "method": method, "r": r,
                             "ci_low": r - 0.05, "ci_high": r + 0.05, "n_traj": 40, "window": 225})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def inputs(tmp_path: Path) -> dict:
    """Three seeds per regime (seed 2 listed first: it is the main model), and one file of every other kind."""
    fixed = [write_metrics(tmp_path / f"eval/fixed/seed{s}/metrics.json", "fixed", s,
                           confusion([9, 10, 10, 10, 10, 10, 10, 8 - s]))
             for s in (2, 0, 1)]
    variable = [write_metrics(tmp_path / f"eval/variable/seed{s}/metrics.json", "variable", s,
                              confusion([7, 9, 10, 9 - s, 9, 10, 9, 8], wrong_to={0: 7}))
                for s in (2, 0, 1)]
    return {
        "eval_metrics": [*fixed, *variable],
        "erasing": write_erasing(tmp_path / "erasing.csv"),
        "blocks": write_blocks(tmp_path / "blocks.csv"),
        "augment": write_augment(tmp_path / "augment.csv"),
        "relevance": write_relevance(tmp_path / "relevance.csv"),
        "ablation": write_transplants(tmp_path / "transplants.csv"),
        "response": write_layer_response(tmp_path / "response.h5"),
    }


def by_result(rows: pd.DataFrame | list[dict]) -> dict[str, dict]:
    """Rows (a summary table or a list of row dicts) keyed by their result id."""
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
    return {r["result"]: r for r in records}


# --- rows ------------------------------------------------------------------------------------------------------


def test_accuracy_over_seeds_uses_the_t_interval(inputs: dict) -> None:
    rows = by_result(sm.summarize(inputs["eval_metrics"]))
    acc = rows["accuracy_fixed"]
    values = [100 * (77 - s) / 80 for s in (2, 0, 1)]  # SubATTM 9, six classes 10, BM 8 - s right of 10 each
    ci = t_interval(values)
    mean, lo, hi = ci.mean, ci.low, ci.high
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)
    assert (acc["value"], acc["ci_low"], acc["ci_high"]) == pytest.approx((mean, mean - half, mean + half))
    assert acc["n"] == 3 and acc["ci_method"] == "t CI over seeds"
    assert acc["description"].endswith("(mean over training seeds)")
    assert "3 seeds (2, 0, 1)" in acc["this_run"]
    assert acc["paper"] == "94.89 %" and acc["paper_value"] == 94.89
    assert rows["macro_f1_variable"]["n"] == 3 and rows["macro_f1_variable"]["unit"] == "F1 x 100"


def test_one_seed_falls_back_to_wilson_over_test_trajectories(tmp_path: Path) -> None:
    path = write_metrics(tmp_path / "m.json", "fixed", 0, confusion([9, 10, 10, 10, 10, 10, 10, 5]))
    rows = by_result(sm.summarize([path]))
    acc = rows["accuracy_fixed"]
    lo, hi = wilson_interval(74, 80)
    assert (acc["value"], acc["ci_low"], acc["ci_high"]) == pytest.approx((92.5, 100 * lo, 100 * hi))
    assert acc["n"] == 80 and "Wilson CI over 80 test trajectories" in acc["this_run"]
    assert acc["description"].endswith("(one training seed)")  # one model's accuracy, not a mean
    f1 = rows["macro_f1_fixed"]
    assert f1["ci_low"] < f1["value"] < f1["ci_high"] and "bootstrap CI over 80" in f1["this_run"]
    assert rows["accuracy_variable"]["this_run"] == sm.NOT_RUN


def test_recall_and_largest_confusion_of_the_main_model(inputs: dict) -> None:
    rows = by_result(sm.summarize(inputs["eval_metrics"]))
    # Main model = seed 2 (listed first): BM recall 6 of 10.
    bm = rows["recall_fixed_BM"]
    lo, hi = wilson_interval(6, 10)
    assert (bm["value"], bm["ci_low"], bm["ci_high"]) == pytest.approx((60.0, 100 * lo, 100 * hi))
    assert "seed 2" in bm["description"] and bm["paper_value"] == 90.3
    # Fixed seed 2: BM -> SubATTM 4 of 10 beats SubATTM -> SubCTRW 1 of 10.
    conf = rows["confusion_fixed"]
    assert conf["this_run"].startswith("BM -> SubATTM 40.0 %") and conf["value"] == pytest.approx(40.0)
    # Variable seed 2: SubATTM -> BM and SubSBM -> SupFBM are both 3 of 10; a tie goes to the first row.
    var = rows["confusion_variable"]
    assert var["this_run"].startswith("SubATTM -> BM 30.0 %") and var["paper"] == "SubATTM -> BM 12.5 %"


def test_largest_confusion_uses_shares_not_counts() -> None:
    counts = np.diag([20] * 8).astype(np.int64)
    counts[1, 2] = 5  # 5 of 25 SubCTRW: 20 %
    counts[0, 7] = 3  # 3 of 23 SubATTM: 13 %
    counts[3, 3] = 4
    counts[3, 6] = 2  # 2 of 6 SubSBM: 33 %, fewest trajectories but the largest share
    assert sm._largest_confusion(counts) == (3, 6)


def test_erasing_rows(inputs: dict, tmp_path: Path) -> None:
    rows = by_result(sm.erasing_rows(inputs["erasing"]))
    assert rows["erasing_gradcam_bin0"]["value"] == pytest.approx(80.0)
    assert rows["erasing_gradcam_bin9"]["value"] == pytest.approx(44.0)
    assert rows["erasing_gradcam_bin9"]["paper_value"] == 23.8 and rows["erasing_gradcam_bin9"]["n"] == 50
    assert "90-100 %" in rows["erasing_gradcam_bin9"]["description"]
    assert "padding included" in rows["erasing_none"]["description"]  # a table without a positions column
    table = pd.read_csv(inputs["erasing"]).assign(positions="trajectory")
    table.to_csv(tmp_path / "positions.csv", index=False)
    segments = by_result(sm.erasing_rows(tmp_path / "positions.csv"))
    assert "trajectory segments" in segments["erasing_none_trajectory"]["description"]
    # the paper's deciles only beside a run that erased padding as its code did
    assert segments["erasing_gradcam_bin9_trajectory"]["paper"] == sm.ERASING_NOT_COMPARABLE
    assert math.isnan(segments["erasing_gradcam_bin9_trajectory"]["paper_value"])
    assert math.isnan(segments["erasing_run_length_mean_trajectory"]["paper_value"])
    assert set(segments) == {f"{r}_trajectory" for r in rows}  # the same rows, named apart
    uni = rows["erasing_uniform_mean"]
    ci = t_interval([30.0, 34.0, 32.0])
    mean, lo, hi = ci.mean, ci.low, ci.high
    assert (uni["value"], uni["ci_low"], uni["ci_high"]) == pytest.approx((mean, lo, hi))
    # The paper's 27.2 % stands beside the run-length control, the only one the authors' code ran.
    assert uni["n"] == 3 and uni["paper"] == "" and rows["erasing_run_length_mean"]["paper_value"] == 27.2
    assert rows["erasing_run_length_mean"]["value"] == pytest.approx(42.0)
    # Grad-CAM 80 % (bin 0) and 44 % (bin 9) against the uniform control's 30/34/32 % per seed
    first, last = rows["erasing_minus_uniform_bin0"], rows["erasing_minus_uniform_bin9"]
    assert first["value"] == pytest.approx(48.0) and last["value"] == pytest.approx(12.0)
    assert first["unit"] == "points" and first["n"] == 3
    assert rows["erasing_minus_run_length_bin9"]["value"] == pytest.approx(2.0)
    assert rows["erasing_none"]["value"] == pytest.approx(90.0)


def test_both_erasing_modes_in_one_table(inputs: dict, tmp_path: Path) -> None:
    padded = pd.read_csv(inputs["erasing"]).assign(positions="all")
    padded.to_csv(tmp_path / "all.csv", index=False)
    segments = padded.assign(positions="trajectory", accuracy=padded["accuracy"] - 0.1)
    segments.to_csv(tmp_path / "trajectory.csv", index=False)
    table = sm.summarize(erasing=[tmp_path / "trajectory.csv", tmp_path / "all.csv"])
    rows = by_result(table.to_dict("records"))
    # the padding-included run carries the paper's deciles; the other one is named apart and says why not
    assert rows["erasing_gradcam_bin0"]["paper_value"] == 44.7
    assert rows["erasing_gradcam_bin0"]["value"] == pytest.approx(80.0)
    assert rows["erasing_gradcam_bin0_trajectory"]["value"] == pytest.approx(70.0)
    assert rows["erasing_gradcam_bin0_trajectory"]["paper"] == sm.ERASING_NOT_COMPARABLE
    results = list(table["result"])
    assert results.index("erasing_none") < results.index("erasing_none_trajectory")  # padded run first
    assert len(results) == len(set(results))
    with pytest.raises(ValueError, match="second erasing table"):
        sm.summarize(erasing=[tmp_path / "all.csv", tmp_path / "all.csv"])
    with pytest.raises(ValueError, match="2 erasing tables but 1 correctness"):
        sm.summarize(erasing=[tmp_path / "trajectory.csv", tmp_path / "all.csv"],
                     erasing_correctness=[tmp_path / "x.npz"])


def test_erasing_differences_bootstrap_over_trajectories(inputs: dict, tmp_path: Path) -> None:
    gradcam = cam_correctness()  # 80 % in bin 0, 44 % in bin 9, as the table
    uniform = np.zeros((3, 50, 10), dtype=np.int8)
    uniform[:, :16] = 1  # 32 % with every seed, in every bin
    npz = tmp_path / "correct.npz"
    np.savez(npz, labels=np.zeros(50, dtype=np.int8), gradcam=gradcam, uniform=uniform,
             run_length=np.zeros((3, 50, 10), dtype=np.int8))
    rows = by_result(sm.erasing_rows(inputs["erasing"], correctness=npz, n_boot=500))
    first = rows["erasing_minus_uniform_bin0"]
    assert first["value"] == pytest.approx(48.0) and rows["erasing_minus_uniform_bin9"]["value"] == pytest.approx(12.0)
    assert first["n"] == 50 and first["ci_low"] < 48.0 < first["ci_high"]
    # trajectories 16-39 differ by 1, the rest by 0: se = sqrt(0.48 * 0.52 / 50) = 7.1 points
    assert first["ci_high"] - first["ci_low"] == pytest.approx(2 * 1.96 * 100 * np.sqrt(0.48 * 0.52 / 50), rel=0.15)
    assert first["ci_method"] == "paired bootstrap over 50 trajectories"
    assert "paired bootstrap over 50 trajectories" in first["this_run"]
    plain = by_result(sm.erasing_rows(inputs["erasing"]))["erasing_minus_uniform_bin0"]
    assert plain["ci_method"] == "t CI over control seeds only (undercovers)"
    # a correctness file of another run (its Grad-CAM results give other accuracies) is refused by name
    other = tmp_path / "other.npz"
    np.savez(other, labels=np.zeros(50, dtype=np.int8), gradcam=np.roll(gradcam, 1, axis=1), uniform=uniform,
             run_length=np.zeros((3, 50, 10), dtype=np.int8))
    with pytest.raises(ValueError, match="other.npz: its Grad-CAM results do not give the accuracies of"):
        sm.erasing_rows(inputs["erasing"], correctness=other)
    with pytest.raises(ValueError, match="not of the same erasing run"):
        sm.erasing_fill_rows([inputs["erasing"]], correctness=[other])


def test_block_rows_wilson_over_evaluation_trajectories(inputs: dict, tmp_path: Path) -> None:
    rows = by_result(sm.block_rows(inputs["blocks"]))
    lo, hi = wilson_interval(70, 80)  # ours: every trajectory
    assert (rows["block_layer1_all"]["value"], rows["block_layer1_all"]["ci_low"],
            rows["block_layer1_all"]["ci_high"]) == pytest.approx((87.5, 100 * lo, 100 * hi))
    lo, hi = wilson_interval(32, 40)  # the balanced heads carry the paper's value
    assert (rows["block_layer1"]["value"], rows["block_layer1"]["ci_low"], rows["block_layer1"]["ci_high"]) == \
        pytest.approx((80.0, 100 * lo, 100 * hi))
    assert rows["block_layer3"]["paper_value"] == 93.2 and math.isnan(rows["block_layer3_all"]["paper_value"])
    assert "majority baseline 12.5 %" in rows["block_layer3"]["description"]
    assert "majority baseline 25.0 %" in rows["block_layer1"]["description"]
    # A table written before the balanced heads: ours only, the paper's rows not run.
    old = pd.read_csv(inputs["blocks"]).query("balance == 'none'").drop(columns="balance")
    old.to_csv(tmp_path / "old.csv", index=False)
    rows = by_result(sm.block_rows(tmp_path / "old.csv"))
    assert rows["block_layer1"]["this_run"] == sm.NOT_RUN and rows["block_layer1_all"]["value"] == 87.5


def test_ablation_rows_share_of_new_errors_and_paired_drop(inputs: dict) -> None:
    from andicam.intervals import paired_proportion_difference

    rows = by_result(sm.ablation_rows(inputs["ablation"]))
    share = rows["ablation_SupLW_SG_to_SupFBM"]
    lo, hi = wilson_interval(6, 8)
    assert (share["value"], share["ci_low"], share["ci_high"], share["n"]) == pytest.approx((75.0, 100 * lo, 100 * hi, 8))
    assert share["paper_value"] == 79.0 and "8 new errors of 10 trajectories" in share["this_run"]
    drop = rows["ablation_SubATTM_VD_drop"]
    # 16 right before, 13 right after: a drop of 3 / 20; pairs (both, before only, after only, neither) = 12, 4, 1, 3.
    diff, lo, hi = paired_proportion_difference(12, 4, 1, 3)
    assert (drop["value"], drop["ci_low"], drop["ci_high"]) == pytest.approx((15.0, 100 * lo, 100 * hi))
    assert drop["value"] == pytest.approx(100 * diff) and drop["unit"] == "points" and drop["paper_value"] == 13.5
    assert "Newcombe" in drop["ci_method"]
    assert all(r["this_run"] == sm.NOT_RUN for r in sm.ablation_rows(None))


def test_augmentation_rows_and_the_paired_difference(inputs: dict) -> None:
    rows = by_result(sm.augment_rows(inputs["augment"]))
    assert len(rows) == 9
    diff = rows["augment_targeted-random_sigma0.5"]
    assert (diff["value"], diff["ci_low"], diff["ci_high"]) == pytest.approx((4.0, 1.0, 7.0))
    assert diff["unit"] == "points" and diff["n"] == 5
    assert diff["this_run"] == "+4.0 points [+1.0, +7.0], 5 seed pairs; paired t interval over retraining seeds"
    assert diff["paper_value"] == pytest.approx(75.8 - 72.1)
    tgt = rows["augment_targeted_sigma1"]
    assert tgt["value"] == pytest.approx(55.0)
    assert tgt["paper"] == "46.2 +- 1.9 % (set-up F; 95 % t interval [42.2, 50.2] over its 20 models)"
    assert (tgt["paper_low"], tgt["paper_high"]) == pytest.approx((46.2 - 2.093 * 1.9, 46.2 + 2.093 * 1.9), abs=1e-3)
    assert "[+3.0, +13.4]" in rows["augment_targeted-random_sigma1"]["paper"]  # Welch, SE over 20 models


def test_set_up_v_rows_at_its_true_sigmas_beside_its_own_values(tmp_path: Path) -> None:
    """Set-up V (draw notebooks) gets keys of its own at the true sigmas of nominal 0, 0.5 and 1, the notebooks'
    values (5 models), and the paper's difference with the Welch interval its SEs imply."""
    from andicam.intervals import welch_interval_from_se

    path = write_augment(tmp_path / "v.csv", sigmas=(0.0, 0.374, 0.742, 1.962))
    rows = by_result(sm.augment_rows(path, "notebooks"))
    assert sorted(rows) == sorted(f"augment_V_{arm}_sigma{s}" for s in ("0", "0.742", "1.962")
                                  for arm in ("targeted", "random", "targeted-random"))
    diff = rows["augment_V_targeted-random_sigma0.742"]
    assert (diff["value"], diff["ci_low"], diff["ci_high"]) == pytest.approx((4.0, 1.0, 7.0))
    assert diff["paper_value"] == pytest.approx(49.43 - 45.61)
    _, low, high = welch_interval_from_se(49.43, 1.71, 5, 45.61, 2.63, 5)
    assert f"[{low:+.1f}, {high:+.1f}]" in diff["paper"] and "SE over 5 models" in diff["paper"]
    assert "nominal 0.5" in diff["description"] and "set-up V" in diff["description"]
    assert rows["augment_V_targeted_sigma1.962"]["paper_value"] == 14.99
    # a draw of neither of the authors' set-ups: rows of its own, no paper value
    ours = by_result(sm.augment_rows(write_augment(tmp_path / "w.csv"), "without_replacement"))
    assert "augment_without_replacement_targeted_sigma0.5" in ours
    assert all(math.isnan(r["paper_value"]) for r in ours.values())
    # both set-ups in one table, each once
    both = sm.summarize(augment=[write_augment(tmp_path / "f.csv"), path], augment_draws=["with_replacement",
                                                                                            "notebooks"])
    keys = set(both["result"])
    assert {"augment_targeted-random_sigma1", "augment_V_targeted-random_sigma0.742"} <= keys
    with pytest.raises(ValueError, match="2 augmentation summaries but 1 draws"):
        sm.summarize(augment=[path, path], augment_draws=["notebooks"])
    with pytest.raises(ValueError, match="repeat one"):
        sm.summarize(augment=[path, path], augment_draws=["notebooks", "notebooks"])


def test_every_difference_the_aggregation_writes_has_a_summary_description() -> None:
    from andicam.augment import DIFFERENCE, DIFFERENCE_PAIRS

    assert set(sm.AUGMENT_DIAGNOSTICS) == {f"{a}-{r}" for a, r in DIFFERENCE_PAIRS} - {DIFFERENCE}


def test_diagnostic_arms_get_rows_of_their_own_where_they_ran(tmp_path: Path) -> None:
    """The diagnostic differences of the aggregation become rows beyond the paper (no paper value), at the
    set-up's claimed levels, only for the arms that ran."""
    path = write_augment(tmp_path / "a.csv")
    frame = pd.read_csv(path)
    extra = [{"arm": arm, "sigma": s, "metric": "accuracy", "n": n, "mean": 0.02 + s / 100, "se": 0.01,
              "ci_low": -0.01, "ci_high": 0.05 + s / 100, "ci_method": "paired t interval over retraining seeds"}
             for s in (0.0, 0.5, 1.0) for arm, n in (("targeted_peak-random", 10), ("targeted_peak-most_probable", 10))]
    pd.concat([frame, pd.DataFrame(extra)]).to_csv(path, index=False)
    rows = by_result(sm.augment_rows(path))
    assert len(rows) == 9 + 6
    peak = rows["augment_targeted_peak-most_probable_sigma0.5"]
    assert (peak["value"], peak["ci_low"], peak["ci_high"]) == pytest.approx((2.5, -1.0, 5.5))
    assert peak["unit"] == "points" and peak["n"] == 10 and "10 seed pairs" in peak["this_run"]
    assert "beyond confidence" in peak["description"] and math.isnan(peak["paper_value"])
    assert "augment_targeted_layer3-random_sigma0.5" not in rows and "augment_most_probable-random_sigma0" not in rows
    claims = cl.claims_table(sm.summarize(augment=[path]))
    assert not claims["claim"].str.contains("targeted_peak").any()  # no claim of the paper: not in the verdicts


def test_an_augmentation_level_the_run_left_out_is_named(tmp_path: Path) -> None:
    rows = by_result(sm.augment_rows(write_augment(tmp_path / "a.csv", sigmas=(0.0, 1.0))))
    assert rows["augment_random_sigma0.5"]["this_run"] == "level not evaluated (levels: 0, 1)"
    assert math.isnan(rows["augment_random_sigma0.5"]["value"])
    assert rows["augment_random_sigma1"]["value"] == pytest.approx(51.0)


def test_correlation_rows_take_pearson_at_layer4(inputs: dict) -> None:
    rows = by_result(sm.correlation_rows(inputs["relevance"]))
    assert list(rows) == ([f"corr_{c}_{s}" for c, s in CORRELATION_CELLS]
                          + [f"corr_within_{c}_{s}" for c, s in CORRELATION_CELLS])
    r = rows["corr_SubSBM_VD"]  # class 3, statistic 3
    assert (r["value"], r["ci_low"], r["ci_high"], r["n"]) == pytest.approx((0.33, 0.28, 0.38, 40))
    assert r["paper_value"] == -0.37 and r["this_run"].startswith("+0.33 [+0.28, +0.38], 40 trajectories")
    w = rows["corr_within_SubSBM_VD"]
    assert (w["value"], w["ci_low"], w["ci_high"]) == pytest.approx((0.165, 0.115, 0.215))
    assert math.isnan(w["paper_value"])


def test_missing_inputs_give_not_run_rows_with_the_paper_values(inputs: dict, tmp_path: Path) -> None:
    both_set_ups = [inputs["augment"], write_augment(tmp_path / "v.csv", sigmas=(0.0, 0.742, 1.962))]
    full = sm.summarize(**{**inputs, "augment": both_set_ups}, augment_draws=["with_replacement", "notebooks"])
    empty = sm.summarize()
    assert list(empty["result"]) == list(full["result"])
    assert (empty["this_run"] == sm.NOT_RUN).all() and (full["this_run"] != sm.NOT_RUN).all()
    assert empty["value"].isna().all()
    assert list(empty["paper"]) == list(full["paper"])
    assert set(PAPER) <= set(full["result"])  # every published number has its row
    part = by_result(sm.summarize(erasing=inputs["erasing"]))
    assert part["erasing_gradcam_bin0"]["this_run"] != sm.NOT_RUN
    assert part["block_layer1"]["this_run"] == sm.NOT_RUN and part["accuracy_fixed"]["this_run"] == sm.NOT_RUN


def test_bad_inputs_are_named(inputs: dict, tmp_path: Path) -> None:
    again = write_metrics(tmp_path / "dup.json", "fixed", 0, confusion([10] * 8))
    with pytest.raises(ValueError, match="two metrics files.*seed 0"):
        sm.summarize([*inputs["eval_metrics"], again])
    deeper = write_metrics(tmp_path / "d34.json", "fixed", 0, confusion([10] * 8), depth=34)
    with pytest.raises(ValueError, match="several depths"):
        sm.summarize([*inputs["eval_metrics"], deeper])
    assert len(sm.summarize([*inputs["eval_metrics"], deeper], main_depth=18)) == len(sm.summarize())
    with pytest.raises(ValueError, match="column.*n_eval"):
        sm.block_rows(write_augment(tmp_path / "not_blocks.csv"))


def test_markdown_has_one_line_per_row(inputs: dict) -> None:
    df = sm.summarize(**inputs)
    md = sm.summary_markdown(df, run_name="tiny", seed=2024)
    lines = md.splitlines()
    assert lines[0] == "# andicam results summary (run tiny, master seed 2024)"
    table = [line for line in lines if line.startswith("| ")]
    assert len(table) == len(df) + 1  # the header line, then one per row
    assert table[0] == "| result | this run | paper |"
    assert all(line.count(" | ") == 2 for line in table)
    assert sm.summary_markdown(df).splitlines()[0] == "# andicam results summary"


def test_command_writes_csv_and_markdown(inputs: dict, tmp_path: Path) -> None:
    out_csv, out_md = tmp_path / "tables/summary.csv", tmp_path / "tables/summary.md"
    argv = ["summarize", "--eval-metrics", *map(str, inputs["eval_metrics"]), "--erasing", str(inputs["erasing"]),
            "--blocks", str(inputs["blocks"]), "--augment", str(inputs["augment"]),
            "--relevance", str(inputs["relevance"]), "--run-name", "test run", "--seed", "7",
            "--out-csv", str(out_csv), "--out-md", str(out_md)]
    assert main(argv) == 0
    table = pd.read_csv(out_csv)
    assert list(table.columns) == list(sm.COLUMNS)
    assert len(table) == len(sm.summarize())
    assert out_md.read_text().startswith("# andicam results summary (run test run, master seed 7)")
    assert main(["summarize", "--erasing", str(tmp_path / "absent.csv"), "--out-csv", str(out_csv),
                 "--out-md", str(out_md)]) == 2


def test_one_row_per_fill_the_accuracy_random_erasing_costs(inputs: dict, tmp_path: Path) -> None:
    # none 90 %, uniform 32 % on average: 58 points lost with the zero fill (a padding-included table)
    zero = by_result(sm.summarize(erasing=inputs["erasing"]))["erasing_fill_zero_random_loss"]
    assert zero["value"] == pytest.approx(58.0) and zero["unit"] == "points" and zero["n"] == 3
    assert zero["ci_method"].startswith("t CI over control seeds only")
    assert "set to 0" in zero["description"] and "padding included" in zero["description"]
    table = pd.read_csv(inputs["erasing"])
    table.assign(positions="trajectory").to_csv(tmp_path / "trajectory.csv", index=False)
    hold = table.assign(positions="trajectory", fill="hold")
    hold.loc[hold["method"] == "uniform", "accuracy"] += 0.5  # 82 %: 8 points lost
    hold.to_csv(tmp_path / "hold.csv", index=False)
    hold.assign(positions="all").to_csv(tmp_path / "hold_all.csv", index=False)
    uniform = np.zeros((3, 50, 10), dtype=np.int8)
    uniform[:, :41] = 1  # 82 % with every seed, in every bin
    npz = tmp_path / "hold.npz"
    np.savez(npz, labels=np.zeros(50, dtype=np.int8), gradcam=cam_correctness(), uniform=uniform,
             run_length=uniform)
    rows = sm.erasing_fill_rows([tmp_path / "trajectory.csv", tmp_path / "hold_all.csv", tmp_path / "hold.csv"],
                                correctness=[None, None, npz])
    assert [r["result"] for r in rows] == ["erasing_fill_zero_random_loss", "erasing_fill_hold_random_loss"]
    held = rows[1]
    assert held["value"] == pytest.approx(8.0) and held["n"] == 50
    assert "trajectory segments" in held["description"] and "last position held" in held["description"]
    # variances of both arms added: sqrt(0.9 * 0.1 / 50 + 0.82 * 0.18 * 50 / 49 / 50)
    se = np.sqrt(0.9 * 0.1 / 50 + 0.82 * 0.18 * 50 / 49 / 50)
    assert (held["ci_low"], held["ci_high"]) == pytest.approx((8.0 - 196 * se, 8.0 + 196 * se))
    assert held["source"] == str(tmp_path / "hold.csv")
    with pytest.raises(ValueError, match="second erasing table of the hold fill"):
        sm.erasing_fill_rows([tmp_path / "hold.csv", tmp_path / "hold.csv"])
    assert sm.erasing_fill_rows(None)[0]["this_run"] == sm.NOT_RUN


def test_erasing_curves_give_each_run_its_bins_controls_and_fill_cost(inputs: dict, tmp_path: Path) -> None:
    """One group of rows per run (regime x positions x fill), each number the summary row of the same id."""
    # the main run (no regime column: the main regime), and a hold-fill run of the fixed-length model
    table = pd.read_csv(inputs["erasing"])
    fixed = table.assign(positions="trajectory", fill="hold", regime="fixed")
    fixed.loc[fixed["method"] == "uniform", "accuracy"] += 0.5  # 82 %: 8 points lost to random segments
    fixed.to_csv(tmp_path / "fixed_hold.csv", index=False)
    curves = sm.erasing_curves([inputs["erasing"], tmp_path / "fixed_hold.csv"], main_regime="variable")
    assert list(curves.columns) == list(sm.CURVE_COLUMNS) and len(curves) == 2 * 8
    assert list(curves["run"].unique()) == ["variable length, padding included, set to 0",
                                            "fixed length, trajectory segments, last position held"]
    padded = curves[curves["regime"] == "variable"].set_index("quantity")
    # nothing erased 90 %; Grad-CAM (40 - 2 b) / 50: 80 % first, 44 % last; controls 32 % and 42 % over seeds
    assert padded.loc[["nothing erased", "Grad-CAM first bin", "Grad-CAM last bin", "uniform control",
                     "run-length control"], "value"].tolist() == pytest.approx([90.0, 80.0, 44.0, 32.0, 42.0])
    first = padded.loc["Grad-CAM - run-length, first bin"]
    assert first["value"] == pytest.approx(38.0) and first["unit"] == "points"
    assert first["estimate"].startswith("+38.0 points [")
    assert padded.loc["Grad-CAM - run-length, last bin", "value"] == pytest.approx(2.0)
    assert padded.loc["random-segment cost", "value"] == pytest.approx(58.0)
    held = curves[curves["fill"] == "hold"].set_index("quantity")
    assert held.loc["random-segment cost", "value"] == pytest.approx(8.0)
    assert (held["positions"] == "trajectory").all() and held["source"].eq(str(tmp_path / "fixed_hold.csv")).all()
    lo, hi = wilson_interval(45, 50)
    assert (padded.loc["nothing erased", "ci_low"], padded.loc["nothing erased", "ci_high"]) == \
        pytest.approx((100 * lo, 100 * hi))
    with pytest.raises(ValueError, match="a second erasing table of the fixed-length model"):
        sm.erasing_curves([tmp_path / "fixed_hold.csv", tmp_path / "fixed_hold.csv"])
    with pytest.raises(ValueError, match="no regime column"):
        sm.erasing_curves([inputs["erasing"]])
    with pytest.raises(ValueError, match="2 erasing tables but 1 correctness"):
        sm.erasing_curves([inputs["erasing"], tmp_path / "fixed_hold.csv"], [tmp_path / "x.npz"], "variable")
    out = tmp_path / "curves.csv"
    assert main(["erasing-curves", "--erasing", str(inputs["erasing"]), "--main-regime", "variable",
                     "--out", str(out)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out), sm.erasing_curves([inputs["erasing"]], main_regime="variable"),
                                  check_dtype=False)
    assert main(["erasing-curves", "--erasing", str(tmp_path / "absent.csv"), "--out", str(out)]) == 2


def test_erasing_curves_give_the_share_of_erased_segments_at_a_track_end(inputs: dict, tmp_path: Path) -> None:
    """Where a table counts the segments erased at an end (``ends``), four more rows per run: that share for
    Grad-CAM and the run-length control in the first and last bin, pooled over the control's seeds."""
    table = pd.read_csv(inputs["erasing"])  # 3 segments per bin and trajectory
    ends = np.where(table["method"] == "gradcam", np.where(table["bin"] == 0, 0.9, 0.15),
                    np.where(table["seed"] == 0, 0.3, 0.6))
    table.assign(ends=np.where(table["bin"] >= 0, ends, 0.0)).to_csv(tmp_path / "ends.csv", index=False)
    curves = sm.erasing_curves([tmp_path / "ends.csv"], main_regime="variable").set_index("quantity")
    assert len(curves) == 12
    share = curves.loc[curves.index.str.startswith("erased segments at a track end"), "value"]
    # Grad-CAM: 0.9 / 3 and 0.15 / 3; the control (seeds 0, 1, 2): (0.3 + 0.6 + 0.6) / 9 in both bins
    assert share.tolist() == pytest.approx([30.0, 5.0, 100 * 1.5 / 9, 100 * 1.5 / 9])
    assert curves.loc["erased segments at a track end, Grad-CAM, first bin", "unit"] == sm.PERCENT
    assert curves.loc["erased segments at a track end, Grad-CAM, first bin", "estimate"] == "30.0 %"
    assert "3 control seeds" in curves.loc["erased segments at a track end, run-length control, last bin", "ci_method"]


def test_response_row_is_the_mass_span_of_layer4_positions(tmp_path: Path) -> None:
    from andicam.response import position_windows, write_response

    steps = np.arange(1000)
    # 32 layer4 positions, triangles of half-width h peaking at 31 j + 15: the 90 % span of a triangle of
    # half-width h is about 2 h (1 - sqrt(0.1)) + 1 steps; the first and last are cut by the input's ends.
    half = np.linspace(150, 250, 32).round()
    centres = 31 * np.arange(32) + 15
    r4 = np.stack([np.maximum(0, h - np.abs(steps - c)) for h, c in zip(half, centres)], axis=1)
    write_response(str(tmp_path / "r.h5"), {"layer4": r4.astype(np.float32)}, {"model": "m.pt"})
    (row,) = sm.response_rows(tmp_path / "r.h5")
    widths = position_windows(r4, 0.9)["width_mass"]
    assert row["value"] == np.median(widths) and (row["ci_low"], row["ci_high"]) == (widths.min(), widths.max())
    assert row["n"] == 32 and row["unit"] == "steps" and row["paper_value"] == 275.0
    mid = 2 * half[16] * (1 - math.sqrt(0.1)) + 1  # the central position's triangle, cut by neither end
    assert abs(widths[16] - mid) <= 2 and f"{widths[16]} at the central one" in row["description"]
    assert "32 positions; range over positions (not a CI)" in row["this_run"] and " steps [" in row["this_run"]
    assert sm.response_rows(None)[0]["this_run"] == sm.NOT_RUN


def test_ablation_without_new_errors_says_so(tmp_path: Path) -> None:
    sup_lw = CLASS_NAMES.index("SupLW")
    pd.DataFrame({"index": [0, 1], "label": [sup_lw] * 2, "mode": ["for"] * 2, "statistic": ["SG"] * 2,
                  "predicted_before": [sup_lw] * 2, "predicted_after": [sup_lw] * 2}).to_csv(tmp_path / "t.csv",
                                                                                              index=False)
    rows = by_result(sm.ablation_rows(tmp_path / "t.csv"))
    assert rows["ablation_SupLW_SG_to_SupFBM"]["this_run"] == "no new errors among 2 trajectories"
    assert math.isnan(rows["ablation_SupLW_SG_to_SupFBM"]["value"])
    assert rows["ablation_SubATTM_VD_drop"]["this_run"] == sm.NOT_RUN  # no SubATTM in the table

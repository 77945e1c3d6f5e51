"""The merged config is validated before any job runs; each problem is one line naming the key."""

from __future__ import annotations

import copy

import pytest
import yaml

from andicam.config import ConfigError, load_config, validate
from helpers import REPO, copy_workflow, snakemake

BASE = load_config([REPO / "config.yaml"])


def test_shipped_configs_are_valid():
    for preset in ("quick", "tiny", "medium", "cpu-paper", "scaling"):
        load_config([REPO / "config.yaml", REPO / "presets" / f"{preset}.yaml"])
    for layer in ("andi2020",):  # presets layered on cpu-paper
        load_config([REPO / "config.yaml", REPO / "presets" / "cpu-paper.yaml", REPO / "presets" / f"{layer}.yaml"])


def _set(config, dotted, value):
    *path, last = dotted.split(".")
    node = config
    for key in path:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value


DELETE = object()

BAD = [
    ("unknown key", "data.n_per_clas", 5, "data.n_per_clas: unknown key"),
    ("wrong type", "train.epochs", "ten", "train.epochs: 'ten' is not of type 'integer'"),
    ("non-positive size", "data.n_per_class.train", 0, "data.n_per_class.train: 0 must be >= 1"),
    ("negative lr", "train.lr", -0.1, "train.lr: -0.1 must be > 0"),
    ("no training threads", "train.threads", 0, "train.threads: 0 must be >= 1"),
    ("no explaining threads", "explain.threads", 0, "explain.threads: 0 must be >= 1"),
    ("no retraining threads", "augment.threads", 0, "augment.threads: 0 must be >= 1"),
    ("retraining threads not a count", "augment.threads", "two", "augment.threads: 'two' is not of type"),
    ("no test trajectories", "augment.test_trajectories", 0, "augment.test_trajectories: 0 must be >= 1"),
    ("no set-up V test trajectories", "augment.by_regime.variable.test_trajectories", 0,
     "augment.by_regime.variable.test_trajectories: 0 must be >= 1"),
    ("no validation trajectories", "augment.val_trajectories", 0, "augment.val_trajectories: 0 must be >= 1"),
    ("no diagnostic seeds", "augment.diagnostic_seeds", 0, "augment.diagnostic_seeds: 0 must be >= 1"),
    ("no robust seeds", "robust.n_seeds", 0, "robust.n_seeds: 0 must be >= 1"),
    ("more robust than training seeds", "robust.n_seeds", 4, "robust.n_seeds: 4 exceeds the 3 training seeds"),
    ("stem precision not a switch", "train.fp32_stem", "yes", "train.fp32_stem: 'yes' is not of type 'boolean'"),
    ("alpha outside model", "data.alpha_sub", [0.1, 1.3], "data.alpha_sub: [0.1, 1.3] must lie strictly inside"),
    ("alpha for LW", "data.alpha_sup", [0.9, 1.5], "data.alpha_sup: [0.9, 1.5] must lie strictly inside"),
    ("alpha reversed", "data.alpha_sup", [1.8, 1.2], "data.alpha_sup: need low < high"),
    ("unknown depth", "model.depths", [18, 50], "model.depths.1: 50 is not one of [10, 18, 34]"),
    ("main depth not trained", "model.depths", [10, 34], "model.main_depth: 18 is not among model.depths"),
    ("split with no files", "data.regimes.fixed.shards.val", 0, "data.regimes.fixed.shards.val: 0 must be >= 1"),
    ("missing key", "train.seeds", DELETE, "train: 'seeds' is a required property"),
    ("no seeds", "train.seeds", [], "train.seeds: must not be empty"),
    ("explained seed not trained", "explain.more_seeds", [1, 5], "explain.more_seeds: [5] not among train.seeds"),
    ("main seed explained twice", "explain.more_seeds", [0], "explain.more_seeds: [0] not among train.seeds after"),
    ("lengths reversed", "data.regimes.fixed.max_length", 900, "min_length 1000 > max_length 900"),
    ("length beyond input", "data.regimes.fixed.max_length", 2000, "data.regimes.fixed.max_length: 2000"),
    ("augment without random", "augment.arms", ["targeted", "targeted_peak"], "augment.arms: ['targeted', "
     "'targeted_peak'] lacks 'random'"),
    ("unknown augment arm", "augment.arms", ["random", "best"], "augment.arms.1: 'best' is not one of"),
    ("unknown draw", "augment.draw", "bootstrap", "augment.draw: 'bootstrap' is not one of"),
    ("set-up V without random", "augment.by_regime.variable.arms", ["targeted", "most_probable"],
     "augment.by_regime.variable.arms: ['targeted', 'most_probable'] lacks 'random'"),
    ("set-up on a shard not simulated", "augment.by_regime.variable.shard", 5,
     "augment.by_regime.variable.shard: 5 but the variable regime has only 5 training shard(s)"),
    ("unknown set-up key", "augment.by_regime.variable.regime", "fixed",
     "augment.by_regime.variable.regime: unknown key"),
    ("main set-up run twice", "augment.more_regimes", ["fixed", "variable"],
     "augment.more_regimes: ['fixed', 'variable'] repeats augment.regime (fixed)"),
    ("unknown set-up regime", "augment.more_regimes", ["short"], "augment.more_regimes.0: 'short' is not one of"),
    ("no erasing mode", "explain.erasing.positions", [], "explain.erasing.positions: must not be empty"),
    ("erasing mode twice", "explain.erasing.positions", ["all", "all"], "has non-unique elements"),
    ("unknown erasing mode", "explain.erasing.positions", ["padding"], "positions.0: 'padding' is not one of"),
    ("unknown erasing fill", "explain.erasing.fill", ["zero", "mean"],
     "config: explain.erasing.fill.1: 'mean' is not one of ['zero', 'hold', 'bridge']"),
    ("no erasing fill", "explain.erasing.fill", [], "explain.erasing.fill: must not be empty"),
    ("erasing fill without zero", "explain.erasing.fill", ["hold", "bridge"],
     "explain.erasing.fill: ['hold', 'bridge'] lacks 'zero'"),
    ("old erasing regime key", "explain.erasing.regime", "variable",
     "explain.erasing.regime: unknown key; replaced by explain.erasing.regimes"),
    ("unknown erasing regime", "explain.erasing.regimes", ["variable", "short"], "regimes.1: 'short' is not one of"),
    ("old erasing key", "explain.erasing.include_padding", True,
     "explain.erasing.include_padding: unknown key; replaced by explain.erasing.positions"),
]


@pytest.mark.parametrize("case, key, value, message", BAD, ids=[b[0] for b in BAD])
def test_bad_config_names_the_key(case, key, value, message):
    config = copy.deepcopy(BASE)
    _set(config, key, value)
    with pytest.raises(ConfigError) as err:
        validate(config)
    text = str(err.value)
    assert message in text
    assert "\n" not in text


def test_robust_seeds_are_the_first_training_seeds():
    from andicam.config import robust_seeds

    assert robust_seeds(BASE) == BASE["train"]["seeds"]  # null: one robust model per training seed
    config = copy.deepcopy(BASE)
    config["train"]["seeds"], config["robust"]["n_seeds"] = [7, 3, 5], 2
    assert robust_seeds(config) == [7, 3]  # the first (main) seed always among them, as predict needs


def test_snakemake_stops_before_any_job(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    (work / "bad.yaml").write_text(yaml.safe_dump({"train": {"lr": -1}}))
    run = snakemake(work, "--cores", "1", "--configfile", "bad.yaml")
    assert run.returncode != 0
    assert "config: train.lr: -1 must be > 0" in run.stderr
    assert not (work / "results").exists() and not (work / "logs").exists()


def test_augment_set_ups_merge_each_regimes_overrides():
    """augment.by_regime.<regime> overrides augment's keys for that regime only; the main regime comes first."""
    from andicam.config import arm_seeds, augment_regimes, augment_setup

    config = load_config([REPO / "config.yaml", REPO / "presets" / "cpu-paper.yaml"])
    assert augment_regimes(config) == ["fixed", "variable"]
    fixed, variable = augment_setup(config, "fixed"), augment_setup(config, "variable")
    assert (fixed["draw"], fixed["seeds"], fixed["epochs"]) == ("with_replacement", list(range(20)), 5)
    # set-up F: the paper's n for its two arms, and only those
    assert arm_seeds(fixed) == {"targeted": list(range(20)), "random": list(range(20))}
    # set-up V carries the diagnostic arms (its targeted-minus-random gap at sigma >= 0.5 is the larger), all six
    # arms at the same 10 seeds
    assert arm_seeds(variable) == {arm: list(range(10)) for arm in (
        "targeted", "random", "targeted_layer3", "targeted_peak", "most_probable", "least_confident")}
    assert set(arm_seeds({"arms": ["random", "most_probable"], "seeds": [3, 5], "diagnostic_seeds": None})[
        "most_probable"]) == {3, 5}
    # cpu-paper's epochs for set-up V (its main models', not config.yaml's 100) and its arms layered on
    # config.yaml's notebooks draw and ten seeds
    assert (variable["draw"], variable["seeds"], variable["epochs"]) == (
        "notebooks", list(range(10)), config["train"]["epochs"])
    assert config["train"]["epochs"] != 100
    assert variable["percent"] == fixed["percent"] == 60 and variable["regime"] == "variable"
    quick = load_config([REPO / "config.yaml", REPO / "presets" / "quick.yaml"])
    assert augment_regimes(quick) == ["fixed"]

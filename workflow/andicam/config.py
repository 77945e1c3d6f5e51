"""Load and validate the workflow configuration.

The schema (``workflow/schemas/config.schema.yaml``) checks keys, types and
ranges; ``validate`` adds the checks a schema cannot express (alpha ranges the
generators allow, the main depth among the trained depths). Every problem is
reported as one line that names the key, e.g.
``config: train.lr: -1 is not positive``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

import jsonschema
import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """An invalid configuration; the message is one line naming the key."""


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge like Snakemake merges --configfile onto configfile: nested dicts key by key."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(paths: Iterable[str | Path]) -> dict[str, Any]:
    """config.yaml followed by presets, merged in order, then validated."""
    config: dict[str, Any] = {}
    for path in paths:
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"config: cannot read {path}: {exc}".replace("\n", " ")) from None
        if not isinstance(loaded, Mapping):
            raise ConfigError(f"config: {path} must hold a mapping of keys, not {type(loaded).__name__}")
        config = deep_merge(config, loaded)
    validate(config)
    return config


def augment_regimes(config: Mapping[str, Any]) -> list[str]:
    """The regimes whose augmentation set-up a run retrains: augment.regime (its figures are the main ones),
    then augment.more_regimes, each in results/augment/<regime>/."""
    aug = config["augment"]
    return [aug["regime"], *aug["more_regimes"]]


def augment_setup(config: Mapping[str, Any], regime: str) -> dict[str, Any]:
    """One regime's augmentation settings: augment's own keys, overridden by augment.by_regime[regime]."""
    aug = config["augment"]
    base = {k: v for k, v in aug.items() if k not in ("regime", "more_regimes", "by_regime")}
    return {**base, **aug["by_regime"].get(regime, {}), "regime": regime}


# The paper's two augmentation arms (andicam.augment takes them from here: this module is what Snakemake reads
# when it parses the workflow, and it imports nothing heavy).
PAPER_ARMS: tuple[str, ...] = ("targeted", "random")


def arm_seeds(setup: Mapping[str, Any]) -> dict[str, list[int]]:
    """The retraining seeds of each arm of a set-up (``augment_setup``): all of ``seeds`` for ``PAPER_ARMS``,
    the first ``diagnostic_seeds`` of them for every other arm (all if null)."""
    seeds, first = list(setup["seeds"]), _first(setup["seeds"], setup.get("diagnostic_seeds"))
    return {arm: seeds if arm in PAPER_ARMS else first for arm in setup["arms"]}


def robust_seeds(config: Mapping[str, Any]) -> list[int]:
    """The training seeds that get a noise-robust model: the first ``robust.n_seeds`` of ``train.seeds`` (all if
    null), so the first (the main seed, which ``predict`` and the AnDi benchmark use) is always among them."""
    return _first(config["train"]["seeds"], config["robust"].get("n_seeds"))


def _first(seeds: Iterable[int], n: int | None) -> list[int]:
    """The first ``n`` of ``seeds`` (all if ``n`` is None): how a key like ``diagnostic_seeds`` picks its seeds."""
    seeds = list(seeds)
    return seeds if n is None else seeds[:n]


def _key(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


# Keys an earlier version of the configuration had, and what took their place.
RENAMED = {"explain.erasing.include_padding": "explain.erasing.positions (a list of trajectory, all)",
           "explain.erasing.regime": "explain.erasing.regimes (a list, the main run first)"}


def _schema_message(err: jsonschema.ValidationError) -> str:
    where = _key(err.absolute_path)
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        key = _key([*err.absolute_path, extra[0]])
        return f"config: {key}: unknown key" + (f"; replaced by {RENAMED[key]}" if key in RENAMED else "")
    if err.validator == "required":
        return f"config: {where}: {err.message}"
    if err.validator == "minimum":
        return f"config: {where}: {err.instance!r} must be >= {err.validator_value}"
    if err.validator == "exclusiveMinimum":
        return f"config: {where}: {err.instance!r} must be > {err.validator_value}"
    if err.validator == "enum":
        return f"config: {where}: {err.instance!r} is not one of {err.validator_value}"
    if err.validator == "minItems" and err.validator_value == 1:
        return f"config: {where}: must not be empty"
    return f"config: {where}: {err.message}"


def _schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def validate(config: Mapping[str, Any]) -> None:
    """Raise ConfigError (one line, naming the key) on the first problem found."""
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        # The deepest error under the first failing key is the most specific one.
        first = errors[0]
        if first.context:
            first = min(first.context, key=lambda e: -len(e.absolute_path))
        raise ConfigError(_schema_message(first))
    _check_semantics(config)


def _check_semantics(config: Mapping[str, Any]) -> None:
    from andicam.simulate import CLASSES, MODEL_ALPHA_LIMITS

    data = config["data"]
    for regime, spec in data["regimes"].items():
        if spec["min_length"] > spec["max_length"]:
            raise ConfigError(
                f"config: data.regimes.{regime}: min_length {spec['min_length']} > max_length {spec['max_length']}"
            )
    for key, regime in (("alpha_sub", "sub"), ("alpha_sup", "sup")):
        low, high = data[key]
        if not low < high:
            raise ConfigError(f"config: data.{key}: need low < high, got [{low}, {high}]")
        for spec in CLASSES:
            if spec.regime != regime:
                continue
            lo, hi = MODEL_ALPHA_LIMITS[spec.model]
            side = (0.0, 1.0) if regime == "sub" else (1.0, 2.0)
            lo, hi = max(lo, side[0]), min(hi, side[1])
            if not (lo < low and high < hi):
                raise ConfigError(
                    f"config: data.{key}: [{low}, {high}] must lie strictly inside ({lo}, {hi}), "
                    f"the range of {spec.name} ({spec.model})"
                )
    aug = config["augment"]
    if aug["regime"] in aug["more_regimes"]:
        raise ConfigError(f"config: augment.more_regimes: {aug['more_regimes']} repeats augment.regime "
                          f"({aug['regime']}), whose set-up runs anyway")
    for regime in augment_regimes(config):
        setup = augment_setup(config, regime)
        key = f"augment.by_regime.{regime}" if regime in aug["by_regime"] else "augment"
        n_train = data["regimes"][regime]["shards"]["train"]
        if setup["shard"] >= n_train:
            raise ConfigError(f"config: {key}.shard: {setup['shard']} but the {regime} regime has only "
                              f"{n_train} training shard(s) (indices from 0)")
        if "random" not in setup["arms"]:
            raise ConfigError(f"config: {key}.arms: {setup['arms']} lacks 'random', the arm every other is "
                              "compared with")
    fills = config["explain"]["erasing"]["fill"]
    if "zero" not in fills:
        raise ConfigError(f"config: explain.erasing.fill: {fills} lacks 'zero', the paper's erasing, which the "
                          "summary's erasing rows and the other fills are read against")
    model = config["model"]
    more = config["explain"]["more_seeds"]
    strangers = [s for s in more if s not in config["train"]["seeds"][1:]]
    if strangers:
        raise ConfigError(f"config: explain.more_seeds: {strangers} not among train.seeds after the first "
                          f"{config['train']['seeds'][1:]} (the first seed's model is explained anyway)")
    if model["main_depth"] not in model["depths"]:
        raise ConfigError(f"config: model.main_depth: {model['main_depth']} is not among model.depths {model['depths']}")
    scaling = config["scaling"]
    twice = sorted(set(scaling["seeds"]) & set(scaling["largest_seeds"]))
    if twice:
        raise ConfigError(f"config: scaling.largest_seeds: {twice} already in scaling.seeds")
    robust = config["robust"]
    low, high = robust["noise"]
    if not low <= high:
        raise ConfigError(f"config: robust.noise: need low <= high, got [{low}, {high}]")
    n_robust, n_train = robust.get("n_seeds"), len(config["train"]["seeds"])
    if n_robust is not None and n_robust > n_train:
        raise ConfigError(f"config: robust.n_seeds: {n_robust} exceeds the {n_train} training seeds (train.seeds)")
    if list(robust["length_edges"]) != sorted(robust["length_edges"]):
        raise ConfigError(f"config: robust.length_edges: must increase, got {robust['length_edges']}")

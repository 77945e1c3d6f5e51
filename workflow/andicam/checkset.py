"""Check sets: small seeded test sets that a shipped model's manifest can regenerate and re-score.

A check set is named by a spec (``CheckSpec``: generator, trajectories per class, seed, noise levels and
the generator's options). The same spec gives the same inputs on any machine with the same pinned
libraries, so a shipped model must score its recorded check-set accuracy again; on another CPU or BLAS
the predictions of a few borderline inputs may flip, which ``tolerance`` allows for.

Generators are a registry keyed by name (``GENERATORS``). A generator that only makes noiseless sets
from ``(n_per_class, seed) -> (inputs, labels)`` plugs in through ``noiseless``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

# (n_per_class, seed, sigmas, options) -> (network input (N, C, 1000) for each sigma, labels (N,))
MakeSets = Callable[[int, int, Sequence[float], Mapping[str, Any]], tuple[list[np.ndarray], np.ndarray]]


def _no_options(config: Mapping[str, Any], regime: str | None) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Generator:
    """How a check set is made, and the options it takes from the workflow config that trained the model."""

    make: MakeSets
    options: Callable[[Mapping[str, Any], str | None], dict[str, Any]] = _no_options


@dataclass(frozen=True)
class CheckSpec:
    generator: str
    n_per_class: int
    seed: int
    sigmas: tuple[float, ...] = (0.0,)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.n_per_class < 1:
            raise ValueError(f"a check set needs at least 1 trajectory per class, got {self.n_per_class}")
        if not self.sigmas or len(set(self.sigmas)) != len(self.sigmas) or not all(
                math.isfinite(s) and s >= 0 for s in self.sigmas):
            raise ValueError(f"check-set noise levels must be distinct, finite and >= 0, got {list(self.sigmas)}")

    def as_dict(self) -> dict[str, Any]:
        return {"generator": self.generator, "n_per_class": self.n_per_class, "seed": self.seed,
                "sigmas": [float(s) for s in self.sigmas], "options": dict(self.options)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "CheckSpec":
        return cls(str(d["generator"]), int(d["n_per_class"]), int(d["seed"]),
                   tuple(float(s) for s in d["sigmas"]), dict(d.get("options", {})))


def paper8_options(config: Mapping[str, Any], regime: str | None) -> dict[str, Any]:
    """The lengths of the model's regime and the exponent ranges, from the workflow config."""
    data = config["data"]
    if regime not in data["regimes"]:
        raise ValueError(f"regime {regime!r} is not in the config's data.regimes ({', '.join(data['regimes'])})")
    lengths = data["regimes"][regime]
    return {"min_length": int(lengths["min_length"]), "max_length": int(lengths["max_length"]),
            "alpha_sub": [float(a) for a in data["alpha_sub"]], "alpha_sup": [float(a) for a in data["alpha_sup"]]}


def paper8_sets(n_per_class: int, seed: int, sigmas: Sequence[float],
                options: Mapping[str, Any]) -> tuple[list[np.ndarray], np.ndarray]:
    """The eight classes simulated as the training data (``andicam.simulate``), with the noise experiment's
    noise (``andicam.noise.noisy_inputs``, seed ``noise_seed(seed, sigma)``) at each level."""
    from andicam.noise import noise_seed, noisy_inputs
    from andicam.simulate import simulate

    data = simulate(n_per_class, int(options["min_length"]), int(options["max_length"]), seed,
                    tuple(options["alpha_sub"]), tuple(options["alpha_sup"]))
    return [noisy_inputs(data, s, noise_seed(seed, s)) for s in sigmas], data.labels.astype(np.int64)


def noiseless(make: Callable[[int, int], tuple[np.ndarray, np.ndarray]], why: str = "") -> Generator:
    """A generator from ``(n_per_class, seed) -> (inputs (N, C, 1000), labels (N,))``: noise level 0 only
    (nothing added to the inputs ``make`` returns; ``why`` says so in the error for other levels)."""
    def sets(n_per_class: int, seed: int, sigmas: Sequence[float],
             options: Mapping[str, Any]) -> tuple[list[np.ndarray], np.ndarray]:
        if list(sigmas) != [0.0] or options:
            raise ValueError(f"this check generator makes noiseless sets without options{why}; got sigmas "
                             f"{list(sigmas)} and options {dict(options)}")
        inputs, labels = make(n_per_class, seed)
        return [inputs], np.asarray(labels, dtype=np.int64)
    return Generator(sets)


def andi2020_inputs(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """AnDi 2020 Task 2 tracks made by the challenge's recipe (``andicam.andi2020``), 5 x ``n_per_class`` of
    them (the challenge balances the models only roughly), with the challenge's own localisation noise:
    noise level 0 of the check set means nothing added to it."""
    from andicam.andi2020 import generate_task2, to_trajectories
    from andicam.preprocess import to_model_input

    data = to_trajectories(generate_task2(5 * n_per_class, seed))
    return to_model_input(data.trajectories, data.lengths), data.labels.astype(np.int64)


GENERATORS: dict[str, Generator] = {
    "paper8": Generator(paper8_sets, paper8_options),
    "andi2020": noiseless(andi2020_inputs, " (AnDi tracks carry the challenge's own noise)"),
}


def generator(name: str) -> Generator:
    if name not in GENERATORS:
        raise ValueError(f"unknown check-set generator {name!r}; known: {', '.join(sorted(GENERATORS))}")
    return GENERATORS[name]


def make_check_sets(spec: CheckSpec) -> tuple[list[np.ndarray], np.ndarray]:
    """The network inputs of ``spec`` at each of its noise levels, and their labels."""
    return generator(spec.generator).make(spec.n_per_class, spec.seed, spec.sigmas, spec.options)


def check_scores(model: Any, spec: CheckSpec, batch_size: int = 512) -> list[dict[str, Any]]:
    """One row per noise level of ``spec``: sigma, n, correct, accuracy of ``model`` (eval mode)."""
    from andicam.noise import predict

    inputs, labels = make_check_sets(spec)
    rows = []
    for sigma, x in zip(spec.sigmas, inputs):
        correct = int((predict(model, x, batch_size) == labels).sum())
        rows.append({"sigma": float(sigma), "n": int(labels.size), "correct": correct,
                     "accuracy": correct / labels.size})
    return rows


def tolerance(accuracy: float, n: int) -> float:
    """How far a re-scored check-set accuracy may lie from the recorded one: 4 binomial standard errors
    plus one trajectory. The same spec regenerates the same set, so on the same platform the two are
    equal; the margin covers predictions that flip on another CPU or BLAS."""
    return 4 * math.sqrt(accuracy * (1 - accuracy) / n) + 1 / n

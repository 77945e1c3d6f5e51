"""Simulate the eight classes of 2-D anomalous-diffusion trajectories (METHODS §1).

The generators are those of ``andi_datasets.models_theory`` (AnDi 2020). They
draw from NumPy's legacy global state and, for FBM, from the ``stochastic``
package's generator; ``seeded_state`` points both at one seeded source so a block
of trajectories depends only on its seed. Each class gets its own seed, so
lengths and exponents are drawn independently per class (METHODS §5.2).
"""

from __future__ import annotations

import importlib.metadata
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from andicam.dataio import CLASS_NAMES, Trajectories
from andicam.seeding import derive_seed


@dataclass(frozen=True)
class ClassSpec:
    label: int
    name: str
    model: str  # andi-datasets generator, or "bm"
    regime: str  # "sub", "sup" or "normal": which alpha range applies


CLASSES: tuple[ClassSpec, ...] = (
    ClassSpec(0, "SubATTM", "attm", "sub"),
    ClassSpec(1, "SubCTRW", "ctrw", "sub"),
    ClassSpec(2, "SubFBM", "fbm", "sub"),
    ClassSpec(3, "SubSBM", "sbm", "sub"),
    ClassSpec(4, "SupFBM", "fbm", "sup"),
    ClassSpec(5, "SupLW", "lw", "sup"),
    ClassSpec(6, "SupSBM", "sbm", "sup"),
    ClassSpec(7, "BM", "bm", "normal"),
)
assert tuple(c.name for c in CLASSES) == CLASS_NAMES

# Exponents each generator accepts (andi-datasets raises outside them); the config is checked against these.
MODEL_ALPHA_LIMITS: dict[str, tuple[float, float]] = {
    "attm": (0.0, 1.0), "ctrw": (0.0, 1.0), "fbm": (0.0, 2.0), "sbm": (0.0, 2.0), "lw": (1.0, 2.0),
}
MAX_REDRAWS = 10_000
NORMALISATION = "andi-datasets: per axis, increments divided by their std, cumulative sum from 0"
# Steps whose spread is below this fraction of their mean size are one straight, even motion: a Levy
# flight spanning a short trajectory differs from step to step only by float rounding (~1e-16
# relative), and dividing by that spread blew such trajectories up to ~1e16. Real motion is far above.
STEP_SPREAD_RTOL = 1e-9


def steps_without_spread(d: np.ndarray) -> np.ndarray:
    """Per row of increments ``d`` (last axis): True where their std is 0 up to rounding."""
    d = np.asarray(d, dtype=np.float64)
    return d.std(axis=-1) <= STEP_SPREAD_RTOL * np.abs(d).mean(axis=-1)


def normalise(traj: np.ndarray) -> np.ndarray:
    """andi-datasets' normalisation along the last axis: unit-std increments, starting at 0.

    A coordinate whose increments are all equal, up to rounding, keeps std 1 (andi-datasets does
    this for exactly equal ones only).
    """
    traj = np.asarray(traj, dtype=np.float64)
    d = np.diff(traj, axis=-1)
    std = d.std(axis=-1, keepdims=True)
    std[steps_without_spread(d)[..., None]] = 1.0
    out = np.zeros_like(traj)
    out[..., 1:] = np.cumsum(d / std, axis=-1)
    return out


@contextmanager
def seeded_state(seed: int) -> Iterator[None]:
    """Route andi-datasets' and stochastic's randomness through one seeded legacy state."""
    import stochastic.random

    saved_np = np.random.get_state()
    saved_gen = stochastic.random.generator
    state = np.random.RandomState(seed % 2**32)
    np.random.set_state(state.get_state())
    stochastic.random.use_randomstate()  # stochastic now draws from np.random, seeded above
    try:
        yield
    finally:
        stochastic.random.generator = saved_gen
        np.random.set_state(saved_np)


def _generator(model: str) -> Callable[[int, float], np.ndarray]:
    """(T, alpha) -> flat array x(T) then y(T), as andi-datasets returns 2-D trajectories."""
    if model == "bm":
        return lambda T, alpha: np.concatenate(
            [np.concatenate([[0.0], np.cumsum(np.random.randn(T - 1))]) for _ in range(2)]
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from andi_datasets.models_theory import models_theory
    two_d = models_theory._twoD()
    if model == "attm":
        return lambda T, alpha: two_d.attm(T, alpha, regime=1)
    return getattr(two_d, model)


def _is_degenerate(xy: np.ndarray) -> bool:
    """No motion on an axis (e.g. a CTRW that never jumped), one even straight motion (a Levy flight
    spanning the whole trajectory) or a non-finite value."""
    if not np.isfinite(xy).all():
        return True
    return bool((np.ptp(xy, axis=-1) == 0).any() or steps_without_spread(np.diff(xy, axis=-1)).any())


def simulate_class(
    spec: ClassSpec, n: int, min_length: int, max_length: int, alpha_range: tuple[float, float], seed: int
) -> Trajectories:
    """``n`` normalised trajectories of one class, left-aligned in (n, 2, max_length)."""
    gen = _generator(spec.model)
    out = np.zeros((n, 2, max_length), dtype=np.float32)
    lengths = np.empty(n, dtype=np.int32)
    alphas = np.empty(n, dtype=np.float32)
    with seeded_state(seed):
        draws = np.random.RandomState(derive_seed(seed, "draws") % 2**32)
        lengths[:] = draws.randint(min_length, max_length + 1, size=n)
        alphas[:] = 1.0 if spec.regime == "normal" else draws.uniform(*alpha_range, size=n)
        for i in range(n):
            T = int(lengths[i])
            for _ in range(MAX_REDRAWS):
                xy = np.asarray(gen(T, float(alphas[i])), dtype=np.float64).reshape(2, -1)[:, :T]
                if xy.shape[1] == T and not _is_degenerate(xy):
                    break
            else:
                raise RuntimeError(
                    f"{spec.name}: no non-degenerate trajectory of length {T}, alpha {alphas[i]:.3f} "
                    f"in {MAX_REDRAWS} draws; raise the minimum length"
                )
            out[i, :, :T] = normalise(xy)
    labels = np.full(n, spec.label, dtype=np.int8)
    return Trajectories(out, lengths, labels, alphas)


def simulate(
    n_per_class: int,
    min_length: int,
    max_length: int,
    seed: int,
    alpha_sub: tuple[float, float] = (0.1, 0.9),
    alpha_sup: tuple[float, float] = (1.1, 1.9),
) -> Trajectories:
    """All eight classes, ``n_per_class`` each, shuffled by a seeded permutation."""
    if not 1 <= min_length <= max_length:
        raise ValueError(f"need 1 <= min_length <= max_length, got {min_length}, {max_length}")
    ranges = {"sub": alpha_sub, "sup": alpha_sup, "normal": (1.0, 1.0)}
    parts = [
        simulate_class(spec, n_per_class, min_length, max_length, ranges[spec.regime], derive_seed(seed, spec.name))
        for spec in CLASSES
    ]
    order = np.random.default_rng(derive_seed(seed, "order")).permutation(n_per_class * len(CLASSES))
    return Trajectories(
        np.concatenate([p.trajectories for p in parts])[order],
        np.concatenate([p.lengths for p in parts])[order],
        np.concatenate([p.labels for p in parts])[order],
        np.concatenate([p.alpha for p in parts])[order],
    )


def versions() -> dict[str, str]:
    """Versions of everything that determines the simulated numbers."""
    import andicam

    names = ("andi-datasets", "stochastic", "numpy", "scipy", "h5py")
    return {"andicam": andicam.__version__, **{n: importlib.metadata.version(n) for n in names}}

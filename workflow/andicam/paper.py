"""The paper's reference numbers (Bae, Baek, Jeong 2024), the one home of every value it reports.

Quoted from METHODS §6 (the paper's code and results) and, for the windows of the statistics, §4. They
are numbers to compare against, never results of this workflow: the summary table puts each beside
this run's value, the figures draw them as reference marks, the ablation and relevance analyses use
the paper's windows by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from andicam.dataio import CLASS_NAMES

# Units of the published values: percent, percentage points, 100 x F1, plain Pearson r, input steps.
PERCENT, POINTS, F1, R, STEPS = "%", "points", "F1 x 100", "r", "steps"


@dataclass(frozen=True)
class PaperValue:
    """One published number of Bae, Baek, Jeong 2024, as METHODS §6 quotes it."""

    result: str
    text: str
    value: float
    unit: str
    # The paper's own 95 % interval, where its published spread implies one (the augmentation arms'
    # mean +- SE over models); NaN where it gives the number alone.
    low: float = math.nan
    high: float = math.nan


# The paper's windows for layer4 (METHODS §4).
PAPER_WINDOW = 225
PAPER_STRIDE = 25

# The paper's erasing curve (METHODS §6): accuracy (%) after erasing each decile of the layer4 map, ranked over
# all 32 positions with the padding; and its uniform random control's mean. Comparable only to a "all" run.
PAPER_DECILES: tuple[float, ...] = (44.7, 42.7, 40.2, 36.3, 31.5, 29.0, 27.8, 26.4, 25.6, 23.8)
PAPER_RANDOM_CONTROL_MEAN = 27.2  # the authors' code ran only its run-length-preserving random control
PAPER_BINS = 10  # its erasing curve's bins: deciles of the map

# The layer response (METHODS §4): "each position of layer4 sees a window of roughly 200-350 steps", read as the
# span holding this share of a position's impulse response (the trained model in eval mode, every position).
PAPER_RESPONSE_MASS = 0.9
PAPER_RESPONSE_RANGE = (200.0, 350.0)

# (class, statistic) cells whose correlation the paper reports (METHODS §6); all others have |r| < 0.2 there.
CORRELATION_CELLS: tuple[tuple[str, str], ...] = (
    ("SubCTRW", "AC"), ("SubCTRW", "SG"), ("SubFBM", "AC"), ("SupFBM", "AC"), ("SubSBM", "VD"), ("SupSBM", "VD"),
)


def _recalls(regime: str, values: Sequence[float]) -> tuple[PaperValue, ...]:
    return tuple(PaperValue(f"recall_{regime}_{name}", f"{v:.1f} %", v, PERCENT)
                 for name, v in zip(CLASS_NAMES, values))


def _erasing_bins(values: Sequence[float]) -> tuple[PaperValue, ...]:
    return tuple(PaperValue(f"erasing_gradcam_bin{b}", f"{v:.1f} %", v, PERCENT) for b, v in enumerate(values))


# Two noise levels closer than this are the same level: set-up V's true sigmas are published to 3 decimals.
SIGMA_TOLERANCE = 5e-4


@dataclass(frozen=True)
class AugmentPoint:
    """The two arms of one of the authors' augmentation set-ups at one noise level: mean and SE (%) over models."""

    sigma: float           # true sigma, in step standard deviations
    nominal: float         # the level as the authors named it (set-up V's noise accumulated: METHODS §5.3)
    targeted: tuple[float, float]
    random: tuple[float, float]


@dataclass(frozen=True)
class AugmentSetup:
    """One of the authors' two augmentation set-ups (METHODS §6.1); ``draw`` is the andicam draw that runs it."""

    name: str
    draw: str
    n_models: int          # models per arm behind each mean +- SE
    points: tuple[AugmentPoint, ...]
    claims: tuple[float, ...]  # nominal levels whose arms and difference are claims (the summary's rows)
    prefix: str            # of the summary keys: augment_<prefix><arm>_sigma<true sigma>

    def point(self, sigma: float) -> AugmentPoint | None:
        """The point at true sigma ``sigma`` (to 3 decimals), or None."""
        return next((p for p in self.points if abs(p.sigma - sigma) < SIGMA_TOLERANCE), None)

    def claim_sigmas(self) -> tuple[float, ...]:
        """The true sigmas of the claimed levels."""
        return tuple(p.sigma for p in self.points if p.nominal in self.claims)


# Set-up F, the earlier code (the +- is the SE over 20 models per arm, fresh noise per level), and set-up V, the
# later notebooks (SE over the 5 models evaluated per arm; noise accumulated, so nominal 0.5 is true 0.742).
AUGMENT_SETUPS: dict[str, AugmentSetup] = {s.draw: s for s in (
    AugmentSetup("F", "with_replacement", 20, (
        AugmentPoint(0.0, 0.0, (88.2, 0.5), (89.2, 0.4)),
        AugmentPoint(0.5, 0.5, (75.8, 1.1), (72.1, 1.2)),
        AugmentPoint(1.0, 1.0, (46.2, 1.9), (38.0, 1.7)),
    ), (0.0, 0.5, 1.0), ""),
    AugmentSetup("V", "notebooks", 5, (
        AugmentPoint(0.0, 0.0, (85.77, 0.38), (85.66, 0.36)),
        AugmentPoint(0.374, 0.3, (73.42, 0.47), (72.21, 1.36)),
        AugmentPoint(0.548, 0.4, (64.87, 1.15), (62.00, 2.52)),
        AugmentPoint(0.742, 0.5, (49.43, 1.71), (45.61, 2.63)),
        AugmentPoint(0.954, 0.6, (33.35, 1.66), (30.39, 1.46)),
        AugmentPoint(1.962, 1.0, (14.99, 0.39), (14.44, 0.31)),
    ), (0.0, 0.5, 1.0), "V_"),
)}
AUGMENT_SIGMAS: tuple[float, ...] = AUGMENT_SETUPS["with_replacement"].claim_sigmas()


def augment_key(setup: AugmentSetup | None, arm: str, sigma: float, draw: str = "") -> str:
    """The summary key of an arm's row at true sigma in one of the authors' set-ups or, ``setup`` None, in the
    set-up of ``draw`` (neither of theirs)."""
    prefix = f"{draw}_" if setup is None else setup.prefix
    return f"augment_{prefix}{arm}_sigma{sigma:g}"


def _published(x: float) -> str:
    """A published value with its own decimals (one or two)."""
    return f"{x:.1f}" if round(x, 1) == x else f"{x:.2f}"


def _augment(setup: AugmentSetup) -> tuple[PaperValue, ...]:
    """The claimed levels' arms, and their difference with the Welch t interval its SEs imply."""
    from andicam.intervals import t_from_se, welch_interval_from_se

    values = []
    for p in (p for p in setup.points if p.nominal in setup.claims):
        where = f"set-up {setup.name}" + ("" if p.nominal == p.sigma else f", nominal {p.nominal:g}")
        (tm, ts), (rm, rs) = p.targeted, p.random
        diff, low, high = welch_interval_from_se(tm, ts, setup.n_models, rm, rs, setup.n_models)
        t_text, r_text = f"{_published(tm)} +- {_published(ts)}", f"{_published(rm)} +- {_published(rs)}"
        t_low, t_high = t_from_se(tm, ts, setup.n_models)
        r_low, r_high = t_from_se(rm, rs, setup.n_models)
        values += [
            PaperValue(augment_key(setup, "targeted", p.sigma),
                       f"{t_text} % ({where}; 95 % t interval [{t_low:.1f}, {t_high:.1f}] over its {setup.n_models} "
                       "models)", tm, PERCENT, t_low, t_high),
            PaperValue(augment_key(setup, "random", p.sigma),
                       f"{r_text} % ({where}; 95 % t interval [{r_low:.1f}, {r_high:.1f}] over its {setup.n_models} "
                       "models)", rm, PERCENT, r_low, r_high),
            # The paper gives the two arms; their difference and its interval are derived here, not published.
            PaperValue(augment_key(setup, "targeted-random", p.sigma),
                       f"{diff:+.1f} points ({_published(tm)} - {_published(rm)}; {where}; 95 % Welch t interval "
                       f"[{low:+.1f}, {high:+.1f}] from its +- read as SE over {setup.n_models} models per arm)",
                       round(diff, 2), POINTS, low, high),
        ]
    return tuple(values)


# The paper's published values, quoted from METHODS §6 (the paper's code and results). They are reference
# numbers to compare against, never results of this workflow. "+-" of the augmentation rows is the standard
# error over the models of each arm (AUGMENT_SETUPS).
PAPER_VALUES: tuple[PaperValue, ...] = (
    PaperValue("accuracy_fixed", "94.89 %", 94.89, PERCENT),
    PaperValue("macro_f1_fixed", "94.92", 94.92, F1),
    PaperValue("accuracy_variable", "90.36 %", 90.36, PERCENT),
    PaperValue("macro_f1_variable", "90.44", 90.44, F1),
    *_recalls("fixed", (85.0, 97.8, 96.6, 96.0, 98.4, 99.9, 94.9, 90.3)),
    *_recalls("variable", (75.5, 93.0, 96.2, 90.9, 90.1, 96.9, 92.7, 87.5)),
    PaperValue("confusion_fixed", "SubATTM -> BM 9.0 %", 9.0, PERCENT),
    PaperValue("confusion_variable", "SubATTM -> BM 12.5 %", 12.5, PERCENT),
    *_erasing_bins(PAPER_DECILES),
    # Beside the run-length-preserving control: the only random control the authors' code ran.
    PaperValue("erasing_run_length_mean", f"{PAPER_RANDOM_CONTROL_MEAN} % (its random control, run lengths kept)",
               PAPER_RANDOM_CONTROL_MEAN, PERCENT),
    PaperValue("block_layer1", "89.4 %", 89.4, PERCENT),
    PaperValue("block_layer2", "86.9 %", 86.9, PERCENT),
    PaperValue("block_layer3", "93.2 %", 93.2, PERCENT),
    *(value for setup in AUGMENT_SETUPS.values() for value in _augment(setup)),
    PaperValue("corr_SubCTRW_AC", "-0.38", -0.38, R),
    PaperValue("corr_SubCTRW_SG", "+0.36", 0.36, R),
    PaperValue("corr_SubFBM_AC", "-0.20", -0.20, R),
    PaperValue("corr_SupFBM_AC", "+0.34", 0.34, R),
    PaperValue("corr_SubSBM_VD", "-0.37", -0.37, R),
    PaperValue("corr_SupSBM_VD", "+0.33", 0.33, R),
    PaperValue("response_layer4_width", "200-350 steps (every layer4 position)", sum(PAPER_RESPONSE_RANGE) / 2,
               STEPS),
    PaperValue("ablation_SupLW_SG_to_SupFBM", "79 % of the new errors", 79.0, PERCENT),
    PaperValue("ablation_SubATTM_VD_drop", "13.5 points", 13.5, POINTS),
)
PAPER: dict[str, PaperValue] = {p.result: p for p in PAPER_VALUES}


# The paper's noiseless test accuracy (%) per regime, with its full training set (400,000 trajectories).
PAPER_ACCURACY: dict[str, float] = {v.result.removeprefix("accuracy_"): v.value for v in PAPER_VALUES
                                    if v.result in ("accuracy_fixed", "accuracy_variable")}

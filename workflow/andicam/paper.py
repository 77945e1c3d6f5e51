"""The paper's reference numbers (Bae, Baek, Jeong 2024), the one home of every value it reports.

Quoted from METHODS §6 (the paper's code and results) and, for the windows of the statistics, §4. They
are numbers to compare against, never results of this workflow: the summary table puts each beside
this run's value, the figures draw them as reference marks, the ablation and relevance analyses use
the paper's windows by default.
"""

from __future__ import annotations

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

# The noise levels (true sigma) at which it reports the augmentation arms.
AUGMENT_SIGMAS: tuple[float, ...] = (0.0, 0.5, 1.0)
# (class, statistic) cells whose correlation the paper reports (METHODS §6); all others have |r| < 0.2 there.
CORRELATION_CELLS: tuple[tuple[str, str], ...] = (
    ("SubCTRW", "AC"), ("SubCTRW", "SG"), ("SubFBM", "AC"), ("SupFBM", "AC"), ("SubSBM", "VD"), ("SupSBM", "VD"),
)


def _recalls(regime: str, values: Sequence[float]) -> tuple[PaperValue, ...]:
    return tuple(PaperValue(f"recall_{regime}_{name}", f"{v:.1f} %", v, PERCENT)
                 for name, v in zip(CLASS_NAMES, values))


def _erasing_bins(values: Sequence[float]) -> tuple[PaperValue, ...]:
    return tuple(PaperValue(f"erasing_gradcam_bin{b}", f"{v:.1f} %", v, PERCENT) for b, v in enumerate(values))


def _augment(sigma: float, targeted: tuple[float, float], random: tuple[float, float]) -> tuple[PaperValue, ...]:
    diff = targeted[0] - random[0]
    return (
        PaperValue(f"augment_targeted_sigma{sigma:g}", f"{targeted[0]:.1f} +- {targeted[1]:.1f} %", targeted[0],
                   PERCENT),
        PaperValue(f"augment_random_sigma{sigma:g}", f"{random[0]:.1f} +- {random[1]:.1f} %", random[0], PERCENT),
        # The paper gives the two arms; their difference is derived here, not published as such.
        PaperValue(f"augment_targeted-random_sigma{sigma:g}",
                   f"{diff:+.1f} points ({targeted[0]:.1f} - {random[0]:.1f})", diff, POINTS),
    )


# The paper's published values, quoted from METHODS §6 (the paper's code and results). They are reference
# numbers to compare against, never results of this workflow. "+-" of the augmentation rows is the paper's
# own spread over its 20 models per arm.
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
    *_augment(0.0, (88.2, 0.5), (89.2, 0.4)),
    *_augment(0.5, (75.8, 1.1), (72.1, 1.2)),
    *_augment(1.0, (46.2, 1.9), (38.0, 1.7)),
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

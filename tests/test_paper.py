"""The paper's reference numbers: one home (andicam.paper), each as METHODS §6 quotes it."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from andicam import paper
from andicam.dataio import CLASS_NAMES

REPO = Path(__file__).resolve().parents[1]
METHODS = (REPO / "docs" / "METHODS.md").read_text()
SECTION6 = METHODS[METHODS.index("## 6."):]
SECTION4 = METHODS[METHODS.index("## 4."):METHODS.index("## 5.")]


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?", text)]


def _row(label: str) -> list[float]:
    """The numbers of the §6 table row whose first cell starts with ``label``."""
    line = next(line for line in SECTION6.splitlines() if line.startswith(f"| {label}"))
    return _numbers(line.split("|")[2])


def test_every_published_value_is_quoted_in_methods_section_6():
    quoted = {round(abs(v), 2) for v in _numbers(SECTION6)}
    for value in paper.PAPER_VALUES:
        if "targeted-random" in value.result:  # derived here (targeted minus random), not published as such
            continue
        if value.result == "response_layer4_width":  # the middle of the range METHODS §4 quotes
            assert value.value == sum(paper.PAPER_RESPONSE_RANGE) / 2
            assert "{:.0f}-{:.0f} steps".format(*paper.PAPER_RESPONSE_RANGE) in SECTION4
            continue
        assert round(abs(value.value), 2) in quoted, value


@pytest.mark.parametrize("regime, label", [("fixed", "per-class recall, fixed"),
                                           ("variable", "per-class recall, variable")])
def test_recalls_follow_the_class_order_of_section_6(regime, label):
    published = [paper.PAPER[f"recall_{regime}_{c}"].value for c in CLASS_NAMES]
    assert published == _row(label)


def test_erasing_curve_block_heads_and_augmentation_match_their_rows():
    assert list(paper.PAPER_DECILES) == _row("erasing, Grad-CAM bins")
    assert paper.PAPER_RANDOM_CONTROL_MEAN == _row("erasing, random control")[0]
    assert [paper.PAPER[f"block_layer{i}"].value for i in (1, 2, 3)] == _row("block heads")
    for sigma, label in ((0.0, "augmentation, noise 0 "), (0.5, "augmentation, noise 0.5"),
                         (1.0, "augmentation, noise 1.0")):
        targeted, t_spread, random, r_spread = _row(label)
        assert paper.PAPER[f"augment_targeted_sigma{sigma:g}"].value == targeted
        assert paper.PAPER[f"augment_random_sigma{sigma:g}"].value == random
        point = paper.AUGMENT_SETUPS["with_replacement"].point(sigma)
        assert (point.targeted, point.random) == ((targeted, t_spread), (random, r_spread))


def test_set_up_v_points_are_those_of_section_6_1_at_their_true_sigma():
    """Each nominal level of the notebooks at the true sigma of accumulated noise, sqrt(sum of (0.1 j)^2)."""
    text = METHODS[METHODS.index("Set-up V results"):]
    setup = paper.AUGMENT_SETUPS["notebooks"]
    assert setup.n_models == 5 and "mean +- SE over 5 models" in text
    for p in setup.points:
        true = math.sqrt(sum((0.1 * j) ** 2 for j in range(1, round(10 * p.nominal) + 1)))
        assert p.sigma == pytest.approx(true, abs=5e-4)
        numbers = [f"{v:.2f}" for v in (*p.targeted, *p.random)]
        assert f"{numbers[0]} +- {numbers[1]} vs {numbers[2]} +- {numbers[3]}" in " ".join(text.split()), p
    assert setup.claim_sigmas() == pytest.approx((0.0, 0.742, 1.962), abs=5e-4)


def test_windows_are_those_of_section_4():
    assert f"{paper.PAPER_WINDOW}" in SECTION4 and f"{paper.PAPER_STRIDE}" in SECTION4


DISTINCT = ("94.89", "90.36", "94.92", "90.44", "44.7", "42.7", "40.2", "36.3", "31.5", "27.2", "89.4", "86.9",
            "93.2", "75.8", "72.1", "46.2", "88.2", "89.2")


def test_no_other_module_types_a_paper_number():
    """Every use of a published number goes through andicam.paper: a second copy would drift."""
    offenders = []
    for path in (REPO / "workflow" / "andicam").rglob("*.py"):
        if path.name == "paper.py":
            continue
        code = "\n".join(line.split("#")[0] for line in path.read_text().splitlines())
        offenders += [f"{path.name}: {n}" for n in DISTINCT if re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", code)]
    assert not offenders, offenders

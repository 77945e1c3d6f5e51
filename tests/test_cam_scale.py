"""Autocorrelation length of maps: known signals, strides and the per-class table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from andicam.cam_scale import autocorrelation, correlation_length, scale_table, stride
from andicam.cli import main as cli_main
from andicam.gradcam import write_gradcam
from andicam.plots.gradcam import plot_gradcam_scale


def _ar1(n: int, p: int, phi: float, seed: int) -> np.ndarray:
    """Stationary AR(1) rows: autocorrelation phi^k, so the 1/e length is -1/ln(phi)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, p))
    out[:, 0] = rng.normal(size=n) / math.sqrt(1 - phi**2)
    for t in range(1, p):
        out[:, t] = phi * out[:, t - 1] + rng.normal(size=n)
    return out


def test_length_of_a_known_autocorrelation() -> None:
    # 1/e = 0.3679 lies between lag 1 (0.5) and lag 2 (0.2): 1 + (0.5 - 0.3679) / 0.3
    assert math.isclose(correlation_length(np.array([1.0, 0.5, 0.2])), 1 + (0.5 - 1 / math.e) / 0.3)
    assert math.isnan(correlation_length(np.array([1.0, 0.9, 0.8])))


def test_white_noise_and_ar1() -> None:
    acf, n = autocorrelation(np.random.default_rng(0).normal(size=(400, 250)))
    assert n == 400 and acf[0] == 1.0
    assert abs(correlation_length(acf) - (1 - 1 / math.e)) < 0.02  # acf[1] ~ 0: interpolation from (0, 1)
    acf, _ = autocorrelation(_ar1(100, 2000, 0.8, 1))
    assert abs(correlation_length(acf) / (-1 / math.log(0.8)) - 1) < 0.05
    short, long = (correlation_length(autocorrelation(_ar1(300, 250, phi, 2))[0]) for phi in (0.5, 0.9))
    assert short < long


def test_autocorrelation_matches_a_direct_sum() -> None:
    maps = np.random.default_rng(3).normal(size=(5, 20)).cumsum(1)
    z = (maps - maps.mean(1, keepdims=True)) / maps.std(1, keepdims=True)
    direct = [np.mean([np.mean(r[: 20 - k] * r[k:]) for r in z]) for k in range(20)]
    np.testing.assert_allclose(autocorrelation(maps)[0], direct, atol=1e-12)


def test_strides_and_table() -> None:
    assert [stride(p) for p in (250, 125, 63, 32)] == [4, 8, 16, 32]
    labels = np.repeat(np.arange(8), 20)
    maps = {"layer1": _ar1(160, 250, 0.5, 4), "layer4": _ar1(160, 32, 0.5, 5)}
    maps["layer4"][:20] = 1.0  # constant maps (class 0) carry no scale and are left out
    table = scale_table(maps, labels).set_index(["stage", "class"])
    np.testing.assert_allclose(table["length_steps"], table["length_positions"] * table["stride"])
    assert table.loc[("layer4", "all"), "n"] == 140 and table.loc[("layer1", "all"), "n"] == 160
    assert table.loc[("layer4", "SubATTM"), "n"] == 0 and math.isnan(table.loc[("layer4", "SubATTM"), "length_steps"])
    assert table.loc[("layer1", "BM"), "stride"] == 4 and table.loc[("layer4", "BM"), "stride"] == 32


def test_command_and_figure(tmp_path) -> None:
    labels = np.repeat(np.arange(8), 5).astype(np.int8)
    maps = {s: _ar1(40, p, 0.7, i).astype(np.float32)
            for i, (s, p) in enumerate({"layer1": 250, "layer2": 125, "layer3": 63, "layer4": 32}.items())}
    write_gradcam(tmp_path / "g.h5", maps, labels, labels, labels, {"target": "true", "relu": False})
    out = tmp_path / "scale.csv"
    assert cli_main(["gradcam-scale", "--gradcam", str(tmp_path / "g.h5"), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 4 * 9
    pdf = tmp_path / "gradcam_scale.pdf"
    assert cli_main(["plot", "gradcam_scale", "--scale", str(out), "--out", str(pdf)]) == 0
    assert pdf.with_suffix(".png").is_file()
    assert len(plot_gradcam_scale(table).axes) == 2

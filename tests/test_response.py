"""Layer response: the measured window against the theoretical receptive field, and its growth with stage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from andicam.cli import main as cli_main
from andicam.model import STAGES, build_model, save_model
from andicam.plots.gradcam import plot_layer_response
from andicam.response import layer_response, read_response, receptive_field, window, window_table, write_response


def _linear_positive(depth: int) -> nn.Module:
    """ReLUs removed, every conv weight positive, BatchNorm the identity: the response of a position is
    non-zero exactly on its theoretical receptive field (max-pooling non-negative values keeps the support)."""
    model = build_model(depth=depth, width=4)
    for m in model.modules():
        if isinstance(m, nn.Conv1d):
            nn.init.constant_(m.weight, 1.0 / (m.kernel_size[0] * m.in_channels))
    model.relu = nn.Identity()
    for stage in STAGES:
        for block in getattr(model, stage):
            block.relu = nn.Identity()
    return model.eval()


def test_theoretical_receptive_field() -> None:
    # stem: 35 (jump 2), max-pool +2*2 = 39 (jump 4); every k=15 conv adds 14 x jump, stride-2 convs double it.
    assert receptive_field(build_model(10, 4)) == {"layer1": 151, "layer2": 319, "layer3": 655, "layer4": 1327}
    assert receptive_field(build_model(18, 4)) == {"layer1": 263, "layer2": 655, "layer3": 1439, "layer4": 3007}


@pytest.mark.parametrize("depth", [10, 18])
def test_hand_built_conv_only_network_sees_its_receptive_field(depth: int) -> None:
    model = _linear_positive(depth)
    table = window_table(layer_response(model, batch_size=250), model, threshold=0.0).set_index("stage")
    rf = receptive_field(model)
    for stage in STAGES:
        expected = min(rf[stage], 1000)  # windows wider than the input are cut at its ends
        assert table.loc[stage, "width"] == expected, stage


def test_window_grows_with_stage() -> None:
    torch.manual_seed(0)
    model = build_model(depth=10, width=4).eval()
    # An untrained network's response peaks sharply on the central taps, so its half-maximum width hardly
    # grows (why METHODS §5.6 asks for the trained model); its 5 %-of-maximum width and 90 % mass do.
    table = window_table(layer_response(model, batch_size=500), model, threshold=0.05)
    assert table["width"].is_monotonic_increasing and 2 * table["width"].iloc[0] < table["width"].iloc[-1]
    assert table["width_mass"].is_monotonic_increasing
    assert (table["width"] <= table["receptive_field"]).all()
    assert table["positions"].tolist() == [250, 125, 63, 32] and table["position"].tolist() == [125, 62, 31, 16]


def test_responses_shape_baseline_and_channels() -> None:
    torch.manual_seed(0)
    model = build_model(depth=10, width=4).eval()
    both = layer_response(model, length=200, batch_size=64)
    assert {s: r.shape for s, r in both.items()} == {"layer1": (200, 50), "layer2": (200, 25),
                                                     "layer3": (200, 13), "layer4": (200, 7)}
    x_only = layer_response(model, length=200, channels="x", batch_size=64)
    assert all((r >= 0).all() for r in both.values())
    assert not np.allclose(both["layer1"], x_only["layer1"])
    # a position far from the impulse does not move: the zero input's activation is subtracted
    assert both["layer1"][0, 40:].max() == 0
    with pytest.raises(ValueError, match="channels"):
        layer_response(model, channels="z")
    with pytest.raises(ValueError, match="eval mode"):
        layer_response(model.train())


def test_window_of_a_known_response() -> None:
    r = np.maximum(0, 10 - np.abs(np.arange(100) - 50)).astype(float)  # triangle, peak 10 at step 50
    # cumulative mass reaches 5 % at step 43 (6 %) and 95 % at step 57 (97 %)
    assert window(r, threshold=0.5) == {"width": 9, "start": 46, "end": 54, "width_mass": 15}
    assert window(r, threshold=0.0)["width"] == 19
    assert window(np.zeros(10))["width"] == 0


def test_round_trip_command_and_figure(tmp_path) -> None:
    torch.manual_seed(0)
    model = build_model(depth=10, width=4).eval()
    save_model(str(tmp_path / "m.pt"), model)
    out, csv = tmp_path / "r.h5", tmp_path / "w.csv"
    assert cli_main(["layer-response", "--model", str(tmp_path / "m.pt"), "--out", str(out), "--out-csv", str(csv),
                     "--device", "cpu", "--batch-size", "500"]) == 0
    responses, attrs = read_response(str(out))
    np.testing.assert_allclose(responses["layer2"], layer_response(model, batch_size=500)["layer2"], rtol=1e-6)
    assert attrs["channels"] == "both" and attrs["threshold"] == 0.5
    table = pd.read_csv(csv)
    assert table["stage"].tolist() == list(STAGES)
    write_response(str(tmp_path / "r2.h5"), responses, {"model": "m"})
    pdf = tmp_path / "layer_response.pdf"
    assert cli_main(["plot", "layer_response", "--response", str(out), "--windows", str(csv), "--out", str(pdf)]) == 0
    assert pdf.with_suffix(".png").is_file()
    assert len(plot_layer_response(responses, table).axes) == 5  # four heatmaps and a colour bar


def test_layer_response_figure_defines_its_window() -> None:
    responses = {"layer1": np.eye(16), "layer2": np.eye(16)[:, ::2]}
    table = window_table(responses, threshold=0.5)
    notes = [t.get_text() for t in plot_layer_response(responses, table).texts]
    assert any("exceeds 50 % of its largest value" in n and "half maximum" in n for n in notes)


def test_every_positions_mass_span() -> None:
    from andicam.response import position_windows

    steps = np.arange(100)
    # Three positions: triangles of half-width 10 peaking at steps 3 (cut by the input's start), 50 and 97.
    r = np.stack([np.maximum(0, 10 - np.abs(steps - c)) for c in (3, 50, 97)], axis=1).astype(float)
    table = position_windows(r, mass=0.9)
    assert table.loc[1, "width_mass"] == 15  # as window() gives for the same triangle
    assert (table.loc[1, "mass_start"], table.loc[1, "mass_end"]) == (43, 57)
    assert table.loc[0, "mass_start"] == 0 and table.loc[2, "mass_end"] == 99
    assert table.loc[0, "width_mass"] < 15 and table.loc[2, "width_mass"] < 15  # cut by the ends
    assert position_windows(np.zeros((10, 2)))["width_mass"].tolist() == [0, 0]
    with pytest.raises(ValueError, match="steps, positions"):
        position_windows(np.zeros(10))

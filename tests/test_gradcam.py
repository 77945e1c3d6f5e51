"""Grad-CAM of all stages against captum, its invariants, and its file format."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from captum.attr import LayerGradCam
from torch import nn

from andicam.cli import main as cli_main
from andicam.dataio import DataFileError, Trajectories, write_trajectories
from andicam.gradcam import (
    compute_gradcam,
    gradcam_all_stages,
    log_probabilities,
    pick_examples,
    predict,
    read_gradcam,
    read_gradcams,
    target_labels,
    trajectory_maps,
    upsample_nearest,
    write_gradcam,
)
from andicam.model import STAGES, save_model
from andicam.preprocess import to_model_input
from helpers import andi_model, andi_walks, trained_like_model

POSITIONS = {"layer1": 250, "layer2": 125, "layer3": 63, "layer4": 32}


def _inputs(n: int = 12, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(n, 2, 1000, generator=torch.Generator().manual_seed(3), dtype=dtype)


def _close(ours: np.ndarray, ref: np.ndarray, rtol: float = 1e-5, floor: float = 1e-7) -> None:
    # Entries near 0 come from cancelling sums, where a relative error means nothing:
    # there the tolerance is `floor` times the map's largest magnitude.
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=floor * np.abs(ref).max())


@pytest.mark.parametrize("relu", [False, True])
def test_matches_captum_stage_by_stage(relu: bool) -> None:
    model, x = trained_like_model(), _inputs()
    targets = torch.arange(12) % 8
    ours = gradcam_all_stages(model, x, targets, relu=relu, batch_size=5)
    for stage in STAGES:
        ref = LayerGradCam(model, getattr(model, stage)).attribute(x, target=targets, relu_attributions=relu)
        ref = ref.detach().numpy()[:, 0]  # (N, 1, P) -> (N, P)
        assert ours[stage].dtype == np.float32
        _close(ours[stage], ref)


def test_shapes_at_1000_steps_and_relu_clips() -> None:
    model, x = trained_like_model(), _inputs(4)
    raw = gradcam_all_stages(model, x, torch.zeros(4, dtype=torch.long))
    clipped = gradcam_all_stages(model, x, torch.zeros(4, dtype=torch.long), relu=True)
    assert {s: m.shape for s, m in raw.items()} == {s: (4, p) for s, p in POSITIONS.items()}
    for stage in STAGES:
        assert (raw[stage] < 0).any()  # the sign is kept by default
        np.testing.assert_array_equal(clipped[stage], np.maximum(raw[stage], 0))


def test_layer4_map_sums_to_logit_minus_bias() -> None:
    # layer4 feeds average pooling then fc: dy/dA_c[t] = W[k, c] / P, so sum_t map[t] = y_k - b_k.
    model, x = trained_like_model(dtype=torch.float64), _inputs(6, torch.float64)
    targets = torch.tensor([0, 1, 2, 5, 7, 3])
    maps = gradcam_all_stages(model, x, targets, stages=("layer4",))
    with torch.no_grad():
        logits = model(x).gather(1, targets[:, None])[:, 0] - model.fc.bias[targets]
    np.testing.assert_allclose(maps["layer4"].sum(1), logits.numpy(), rtol=1e-5)


def test_independent_of_batch_size_and_input_type() -> None:
    model, x = trained_like_model(), _inputs(7)
    t = torch.arange(7)
    one = gradcam_all_stages(model, x, t, batch_size=1)
    many = gradcam_all_stages(model, x.numpy(), t.numpy(), batch_size=256)
    for stage in STAGES:
        # float32 convolutions pick different summation orders for different batch sizes
        _close(one[stage], many[stage], floor=1e-5)


class _AddAfter(nn.Module):
    def __init__(self, inplace: bool) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.add_(0.5) if self.inplace else x + 0.5


class _TwoStage(nn.Module):
    def __init__(self, inplace: bool) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.layer1 = nn.Sequential(nn.Conv1d(2, 3, 5, padding=2), nn.ReLU(inplace=True))
        self.after = _AddAfter(inplace)
        self.layer2 = nn.Sequential(nn.Conv1d(3, 4, 5, padding=2, stride=2), nn.ReLU(inplace=True))
        self.fc = nn.Linear(4, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.layer2(self.after(self.layer1(x))).mean(2))


def test_inplace_op_after_a_stage_does_not_corrupt_its_map() -> None:
    x, t = _inputs(3), torch.tensor([1, 2, 3])
    inplace = gradcam_all_stages(_TwoStage(True).eval(), x, t, stages=("layer1", "layer2"))
    plain = gradcam_all_stages(_TwoStage(False).eval(), x, t, stages=("layer1", "layer2"))
    for stage in ("layer1", "layer2"):
        np.testing.assert_allclose(inplace[stage], plain[stage], rtol=1e-6)


def test_frozen_parameters_still_give_maps() -> None:
    model, x, t = trained_like_model(), _inputs(3), torch.tensor([0, 4, 7])
    ref = gradcam_all_stages(model, x, t)
    for p in model.parameters():
        p.requires_grad_(False)
    frozen = gradcam_all_stages(model, x, t)
    for stage in STAGES:
        np.testing.assert_array_equal(frozen[stage], ref[stage])


def test_bad_calls_are_refused() -> None:
    model, x = trained_like_model(), _inputs(2)
    with pytest.raises(ValueError, match="eval mode"):
        gradcam_all_stages(model.train(), x, torch.zeros(2, dtype=torch.long))
    model.eval()
    with pytest.raises(ValueError, match="targets has shape"):
        gradcam_all_stages(model, x, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="no stage 'layer5'"):
        gradcam_all_stages(model, x, torch.zeros(2, dtype=torch.long), stages=("layer4", "layer5"))
    two = _TwoStage(False).eval()
    two.unused = nn.Conv1d(2, 2, 3)
    with pytest.raises(ValueError, match="did not run"):
        gradcam_all_stages(two, x, torch.zeros(2, dtype=torch.long), stages=("layer1", "unused"))


def test_true_and_predicted_targets() -> None:
    model, x = trained_like_model(), _inputs(10)
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, 0, 1], dtype=np.int8)
    pred = predict(model, x)
    with torch.no_grad():
        np.testing.assert_array_equal(pred, model(x).argmax(1).numpy())
    np.testing.assert_array_equal(target_labels(model, x, labels, "true").numpy(), labels)
    np.testing.assert_array_equal(target_labels(model, x, labels, "predicted").numpy(), pred)
    true = compute_gradcam(model, x, labels, "true", batch_size=4)
    predicted = compute_gradcam(model, x, labels, "predicted", batch_size=4)
    np.testing.assert_array_equal(true.targets, labels)
    np.testing.assert_array_equal(predicted.targets, pred)
    np.testing.assert_array_equal(true.predictions, pred)
    ref = gradcam_all_stages(model, x, torch.from_numpy(pred))
    differ = pred != labels
    assert differ.any()
    for stage in STAGES:
        _close(predicted.maps[stage], ref[stage])
        assert not np.allclose(true.maps[stage][differ], predicted.maps[stage][differ])
    with pytest.raises(ValueError, match="target"):
        target_labels(model, x, labels, "guess")


def test_upsample_nearest_is_torch_nearest() -> None:
    for p in POSITIONS.values():
        maps = np.random.default_rng(p).normal(size=(3, p)).astype(np.float32)
        ref = F.interpolate(torch.from_numpy(maps)[:, None], size=1000, mode="nearest")[:, 0].numpy()
        np.testing.assert_array_equal(upsample_nearest(maps), ref)
    assert np.bincount(upsample_nearest(np.arange(32)[None])[0]).tolist() == [32, 31, 31, 31] * 8


def test_hdf5_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(5)
    maps = {s: rng.normal(size=(9, p)).astype(np.float32) for s, p in POSITIONS.items()}
    labels, targets, preds = (rng.integers(0, 8, 9).astype(np.int8) for _ in range(3))
    attrs = {"model": "m.pt", "data": ["a.h5", "b.h5"], "target": "true", "relu": False}
    path = tmp_path / "g.h5"
    write_gradcam(path, maps, labels, targets, preds, attrs)
    arrays, got = read_gradcam(path)
    for s in STAGES:
        assert arrays[s].dtype == np.float32
        np.testing.assert_array_equal(arrays[s], maps[s])
    for name, ref in (("labels", labels), ("targets", targets), ("predictions", preds)):
        assert arrays[name].dtype == np.int8
        np.testing.assert_array_equal(arrays[name], ref)
    assert got["format"] == "andicam-gradcam/1"
    assert (got["model"], got["data"], got["target"], got["relu"]) == ("m.pt", ["a.h5", "b.h5"], "true", False)
    with h5py.File(path) as f:
        assert f["layer1"].compression == "gzip" and f["layer1"].chunks is not None
    assert [p.name for p in tmp_path.iterdir()] == ["g.h5"]  # no temporary left behind
    write_gradcam(tmp_path / "h.h5", {"layer4": maps["layer4"][:4]}, labels[:4], targets[:4], preds[:4], attrs)
    both, both_attrs = read_gradcams([path, tmp_path / "h.h5"])
    assert sorted(both) == ["labels", "layer4", "predictions", "targets"] and len(both_attrs) == 2
    np.testing.assert_array_equal(both["layer4"], np.concatenate([maps["layer4"], maps["layer4"][:4]]))
    np.testing.assert_array_equal(both["labels"], np.concatenate([labels, labels[:4]]))


def test_log_probabilities_keep_confidence_that_softmax_rounds_away(tmp_path) -> None:
    """A margin of 40 logits makes the probability 1 - 4e-18: 1.0 in float32 and float64, and so is
    z - logsumexp(z) 0; the stored log-probability keeps -4e-18, so confident trajectories stay ordered."""
    z = torch.tensor([[40.0, 0, 0, 0, 0, 0, 0, 0], [41.0, 0, 0, 0, 0, 0, 0, 0], [1.0, 2.0, 0, 0, 0, 0, 0, 0]])
    got = log_probabilities(z).numpy().astype(np.float64)
    assert torch.log_softmax(z.double(), 1)[0, 0] == 0.0  # what the plain log-softmax gives
    np.testing.assert_allclose(got[:2, 0], [-7 * math.exp(-40), -7 * math.exp(-41)], rtol=1e-6)
    zz = z.double().numpy()
    ref = zz - np.log(np.exp(zz).sum(axis=1, keepdims=True))  # fine where no class dominates
    np.testing.assert_allclose(got[2], ref[2], rtol=1e-6)
    np.testing.assert_allclose(got[:2, 1:], ref[:2, 1:], rtol=1e-6)
    model, x = trained_like_model(), _inputs(6)
    with torch.no_grad():
        logits = model(x)
    result = compute_gradcam(model, x, logits.argmax(1).numpy())
    np.testing.assert_allclose(result.log_probabilities, torch.log_softmax(logits.double(), 1).numpy(), rtol=1e-5)
    labels = np.zeros(6, np.int8)
    path = tmp_path / "g.h5"
    write_gradcam(path, result.maps, labels, labels, labels, {"target": "true", "relu": False},
                  result.log_probabilities)
    np.testing.assert_array_equal(read_gradcam(path)[0]["log_probabilities"], result.log_probabilities)
    with pytest.raises(ValueError, match="log_probabilities must have shape"):
        write_gradcam(path, result.maps, labels, labels, labels, {"target": "true", "relu": False},
                      result.log_probabilities[:, :4])
    with h5py.File(path, "a") as f:
        f["log_probabilities"][0, 0] = 0.5  # a log-probability above 0
    with pytest.raises(DataFileError, match="g.h5: 'log_probabilities' must be"):
        read_gradcam(path)


def test_reader_names_the_file_and_problem(tmp_path) -> None:
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f.attrs["format"] = "something/1"
    with pytest.raises(DataFileError, match="bad.h5: format"):
        read_gradcam(bad)
    with pytest.raises(DataFileError, match="no such file"):
        read_gradcam(tmp_path / "missing.h5")
    with pytest.raises(ValueError, match="rows"):
        write_gradcam(tmp_path / "x.h5", {"layer4": np.zeros((3, 32))}, np.zeros(2), np.zeros(2), np.zeros(2),
                      {"target": "true", "relu": False})


def test_command_writes_a_file_that_matches_the_function(tmp_path) -> None:
    rng = np.random.default_rng(6)
    n, tmax = 10, 300
    lengths = rng.integers(50, tmax + 1, n).astype(np.int32)
    traj = np.cumsum(rng.normal(size=(n, 2, tmax)), axis=2).astype(np.float32)
    traj *= np.arange(tmax)[None, None] < lengths[:, None, None]
    data = Trajectories(traj, lengths, (np.arange(n) % 8).astype(np.int8), np.ones(n, np.float32))
    write_trajectories(tmp_path / "d.h5", data)
    model = trained_like_model()
    save_model(str(tmp_path / "m.pt"), model)
    out = tmp_path / "g.h5"
    assert cli_main(["gradcam", "--model", str(tmp_path / "m.pt"), "--data", str(tmp_path / "d.h5"),
                     "--out", str(out), "--target", "predicted", "--batch-size", "4", "--device", "cpu"]) == 0
    arrays, attrs = read_gradcam(out)
    assert attrs["target"] == "predicted" and attrs["relu"] is False
    x = to_model_input(traj, lengths)
    ref = compute_gradcam(model, x, data.labels, "predicted")
    for s in STAGES:
        _close(arrays[s], ref.maps[s])
    np.testing.assert_array_equal(arrays["predictions"], ref.predictions)
    # the log-probabilities are the model's log-softmax, stored for a ranking by confidence
    with torch.no_grad():
        log_p = torch.log_softmax(model(torch.from_numpy(x)), dim=1).numpy()
    np.testing.assert_allclose(arrays["log_probabilities"], log_p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.exp(arrays["log_probabilities"]).sum(axis=1), 1.0, rtol=1e-5)
    assert cli_main(["gradcam", "--model", str(tmp_path / "m.pt"), "--data", str(tmp_path / "d.h5"),
                     "--out", str(tmp_path / "g.txt")]) == 2


def test_per_class_gradcam_refuses_a_model_without_the_papers_classes(tmp_path, capsys) -> None:
    model = andi_model()
    save_model(str(tmp_path / "andi.pt"), model, model.meta)
    write_trajectories(tmp_path / "d.h5", andi_walks(1))
    assert cli_main(["gradcam", "--model", str(tmp_path / "andi.pt"), "--data", str(tmp_path / "d.h5"),
                     "--out", str(tmp_path / "g.h5"), "--device", "cpu"]) == 2
    assert "the model classifies [ATTM, CTRW, FBM, LW, SBM]; this analysis follows the paper" in capsys.readouterr().err
    assert not (tmp_path / "g.h5").exists()


def test_examples_are_seeded_correct_picks_with_maps_cut_to_the_trajectory() -> None:
    labels = np.repeat(np.arange(8), 4)
    preds = labels.copy()
    preds[::4] = (labels[::4] + 1) % 8  # the first of each class is wrong
    idx = pick_examples(labels, preds, seed=1, per_class=2)
    assert labels[idx].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]
    assert (preds[idx] == labels[idx]).all()
    np.testing.assert_array_equal(idx, pick_examples(labels, preds, seed=1, per_class=2))
    assert labels[pick_examples(labels, preds, seed=1, per_class=4)].tolist() == np.repeat(np.arange(8), 4).tolist()
    maps = {"layer4": np.arange(64, dtype=np.float32).reshape(2, 32)}
    cut = trajectory_maps(maps, np.array([1000, 40]))
    np.testing.assert_array_equal(cut[0]["layer4"], upsample_nearest(maps["layer4"])[0])
    assert cut[1]["layer4"].tolist() == [62.0] * 9 + [63.0] * 31  # the last 40 steps: positions 30 and 31


def test_examples_figure_command(tmp_path) -> None:
    rng = np.random.default_rng(7)
    n = 16
    lengths = np.full(n, 1000, np.int32)
    lengths[1] = 120
    traj = np.cumsum(rng.normal(size=(n, 2, 1000)), axis=2).astype(np.float32)
    traj *= np.arange(1000)[None, None] < lengths[:, None, None]
    data = Trajectories(traj, lengths, (np.arange(n) % 8).astype(np.int8), np.ones(n, np.float32))
    write_trajectories(tmp_path / "d.h5", data)
    model = trained_like_model()
    res = compute_gradcam(model, to_model_input(traj, lengths), data.labels)
    write_gradcam(tmp_path / "g.h5", res.maps, data.labels, res.targets, res.predictions,
                  {"target": "true", "relu": False})
    pdf = tmp_path / "gradcam_examples.pdf"
    assert cli_main(["plot", "gradcam_examples", "--data", str(tmp_path / "d.h5"), "--gradcam", str(tmp_path / "g.h5"),
                     "--master-seed", "3", "--out", str(pdf)]) == 0
    assert pdf.stat().st_size > 0 and pdf.with_suffix(".png").stat().st_size > 0

"""Block-wise heads: groups, closed-form Grad-CAM, seeded head training, files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from andicam import blocks
from andicam.dataio import CLASS_NAMES, Trajectories, write_trajectories
from andicam.device import resolve_device
from andicam.gradcam import gradcam_all_stages, model_input
from andicam.model import build_model



pytestmark = pytest.mark.usefixtures("one_thread")

def test_groups_follow_the_paper() -> None:
    name = dict(enumerate(CLASS_NAMES))
    g1 = blocks.group_map("layer1")
    assert len(set(g1)) == 4
    same = lambda a, b: g1[CLASS_NAMES.index(a)] == g1[CLASS_NAMES.index(b)]  # noqa: E731
    assert same("SupFBM", "SupLW") and same("SubATTM", "SubCTRW") and same("SubSBM", "BM") and same("SupSBM", "BM")
    assert not same("SubFBM", "SupFBM") and not same("SubATTM", "BM")
    g2 = blocks.group_map("layer2")
    assert len(set(g2)) == 6
    merged = {name[i] for i in range(8) if g2[i] == g2[CLASS_NAMES.index("BM")]}
    assert merged == {"SubSBM", "SupSBM", "BM"}
    assert np.array_equal(blocks.group_map("layer3"), np.arange(8))
    assert blocks.group_names("layer1")[1] == "SupFBM+SupLW"
    with pytest.raises(ValueError, match="unknown cut"):
        blocks.group_map("layer4")


def _inputs(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=(n, 2, 1000)), axis=-1)
    lo, hi = x.min(-1, keepdims=True), x.max(-1, keepdims=True)
    return ((x - lo) / (hi - lo)).astype(np.float32)


@pytest.mark.parametrize("cut", blocks.CUTS)
def test_closed_form_gradcam_equals_autograd(cut: str) -> None:
    torch.manual_seed(0)
    model = build_model(depth=10, width=4).eval()
    n_groups = len(blocks.GROUPS[cut])
    head = torch.nn.Linear(4 * 2 ** blocks.CUTS.index(cut), n_groups).eval()
    x = _inputs(5)
    targets = np.arange(5) % n_groups
    other = torch.nn.Linear(head.in_features, n_groups).eval()
    outputs, also = blocks.head_outputs(model, {cut: head}, x, {cut: targets}, also={cut: other})
    maps, preds = outputs[cut]
    net = blocks.CutNetwork(model, cut, head).eval()
    ref = gradcam_all_stages(net, x, targets, stages=[f"backbone.{cut}"])[f"backbone.{cut}"]
    np.testing.assert_allclose(maps, ref, rtol=1e-4, atol=1e-6)
    with torch.no_grad():
        assert np.array_equal(preds, net(torch.from_numpy(x)).argmax(1).numpy())
        # A head of 'also' predicts from the same pooled features, as if it were the only head.
        assert np.array_equal(also[cut], blocks.CutNetwork(model, cut, other)(torch.from_numpy(x)).argmax(1).numpy())


def test_head_learns_separable_groups_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    targets = np.repeat(np.arange(4), 50)
    centres = rng.normal(scale=3.0, size=(4, 6))
    feats = (np.abs(centres[targets] + rng.normal(size=(200, 6))) * 5 + 2).astype(np.float32)
    cfg = blocks.HeadConfig(epochs=20, batch_size=32, lr=1e-2, seed=3)
    head, losses = blocks.train_head(feats, targets, 4, cfg)
    assert losses[-1] < losses[0]
    assert blocks.head_accuracy(head, feats, targets) > 0.9
    again, _ = blocks.train_head(feats, targets, 4, cfg)
    assert torch.equal(head.weight, again.weight) and torch.equal(head.bias, again.bias)
    other, _ = blocks.train_head(feats, targets, 4, blocks.HeadConfig(20, 32, 1e-2, seed=4))
    assert not torch.equal(head.weight, other.weight)


def test_pipeline_on_files(tmp_path) -> None:
    rng = np.random.default_rng(1)
    n = 16
    traj = np.cumsum(rng.normal(size=(n, 2, 1000)), axis=-1).astype(np.float32)
    labels = np.repeat(np.arange(8), 2).astype(np.int8)
    data = Trajectories(traj, np.full(n, 1000, np.int32), labels, np.ones(n, np.float32), {})
    write_trajectories(tmp_path / "d.h5", data)
    torch.manual_seed(0)
    model = build_model(depth=10, width=4).eval()
    feats, y = blocks.features_from_files(model, [str(tmp_path / "d.h5")], batch_size=5)
    assert {c: f.shape for c, f in feats.items()} == {"layer1": (n, 4), "layer2": (n, 8), "layer3": (n, 16)}
    assert np.array_equal(y, labels)
    direct = blocks.pooled_features(model, model_input(data))
    for c in blocks.CUTS:
        np.testing.assert_allclose(feats[c], direct[c], rtol=1e-5, atol=1e-6)
    heads, losses = blocks.train_heads(feats, y, blocks.HeadConfig(epochs=3, batch_size=8), master_seed=5)
    balanced, b_losses = blocks.train_heads(feats, y, blocks.HeadConfig(epochs=3, batch_size=8), master_seed=5,
                                            balance="undersample")
    ev_labels, outputs, b_preds = blocks.evaluate_heads(model, heads, [str(tmp_path / "d.h5")], batch_size=7,
                                                        also=balanced)
    assert {c: m.shape for c, (m, _) in outputs.items()} == {"layer1": (n, 250), "layer2": (n, 125), "layer3": (n, 63)}
    table = blocks.accuracy_table(heads, feats, y, ev_labels, {c: p for c, (_, p) in outputs.items()}, losses)
    assert list(table["n_groups"]) == [4, 6, 8] and set(table["balance"]) == {"none"}
    # Evaluated on the training file itself, both accuracies must agree.
    np.testing.assert_allclose(table["train_accuracy"], table["eval_accuracy"])
    # Balanced: 2 trajectories per class; the smallest group (one class) has 2, so every group keeps 2 (8 for
    # layer1's 4 groups, 12 for layer2's 6, all 16 at layer3), chance 1 / groups.
    b_table = blocks.accuracy_table(balanced, feats, y, ev_labels, b_preds, b_losses, "undersample", master_seed=5)
    assert list(b_table["n_train"]) == [8, 12, 16] and list(b_table["n_eval"]) == [8, 12, 16]
    np.testing.assert_allclose(b_table["majority_baseline"], [1 / 4, 1 / 6, 1 / 8])
    # At layer3 every trajectory is kept in both subsets, so the two accuracies must agree there.
    assert b_table["train_accuracy"].iloc[2] == b_table["eval_accuracy"].iloc[2]
    with pytest.raises(ValueError, match="balance"):
        blocks.train_heads(feats, y, blocks.HeadConfig(epochs=1), master_seed=5, balance="oversample")
    blocks.save_heads(str(tmp_path / "heads.pt"), heads, {"model": "m.pt"})
    loaded = blocks.load_heads(str(tmp_path / "heads.pt"))
    assert all(torch.equal(loaded[c].weight, heads[c].weight) for c in blocks.CUTS)


def test_cli_block_heads_and_figure(tmp_path) -> None:
    import pandas as pd

    from andicam.cli import main
    from andicam.gradcam import read_gradcam
    from andicam.model import save_model

    rng = np.random.default_rng(2)
    n = 16
    traj = np.cumsum(rng.normal(size=(n, 2, 1000)), axis=-1).astype(np.float32)
    labels = np.repeat(np.arange(8), 2).astype(np.int8)
    write_trajectories(tmp_path / "d.h5", Trajectories(traj, np.full(n, 1000, np.int32), labels,
                                                       np.ones(n, np.float32), {}))
    torch.manual_seed(0)
    save_model(str(tmp_path / "m.pt"), build_model(depth=10, width=4))
    cams = [str(tmp_path / f"g_{c}.h5") for c in blocks.CUTS]
    assert main(["block-heads", "--model", str(tmp_path / "m.pt"), "--train", str(tmp_path / "d.h5"),
                 "--eval", str(tmp_path / "d.h5"), "--seed", "3", "--epochs", "2", "--out-heads",
                 str(tmp_path / "h.pt"), "--out-accuracy", str(tmp_path / "acc.csv"), "--out-gradcam", *cams,
                 "--device", "cpu"]) == 0
    arrays, attrs = read_gradcam(cams[0])
    assert arrays["layer1"].shape == (n, 250) and attrs["groups"] == blocks.group_names("layer1")
    assert np.array_equal(arrays["targets"], blocks.group_map("layer1")[labels])
    rel = []
    for cut, cam in zip(blocks.CUTS, cams):
        rel.append(str(tmp_path / f"r_{cut}.csv"))
        assert main(["relevance", "--data", str(tmp_path / "d.h5"), "--gradcam", cam, "--stages", cut,
                     "--n-boot", "10", "--seed", "1", "--out", rel[-1]]) == 0
    assert set(pd.read_csv(rel[2])["stage"]) == {"layer3"}
    pdf = tmp_path / "blocks.pdf"
    assert main(["plot", "relevance_blocks", "--relevance", *rel, "--accuracy", str(tmp_path / "acc.csv"),
                 "--out", str(pdf)]) == 0
    assert pdf.with_suffix(".png").is_file()
    assert main(["block-heads", "--model", str(tmp_path / "m.pt"), "--train", str(tmp_path / "d.h5"),
                 "--eval", str(tmp_path / "d.h5"), "--seed", "3", "--out-heads", str(tmp_path / "h.pt"),
                 "--out-accuracy", str(tmp_path / "acc.csv"), "--out-gradcam", cams[0]]) == 2


@pytest.mark.gpu
def test_heads_on_cuda_match_cpu() -> None:
    torch.manual_seed(0)
    model = build_model(depth=10, width=4).eval()
    heads = {c: torch.nn.Linear(4 * 2 ** i, len(blocks.GROUPS[c])).eval() for i, c in enumerate(blocks.CUTS)}
    x = _inputs(6)
    targets = {c: np.arange(6) % len(blocks.GROUPS[c]) for c in blocks.CUTS}
    cpu, _ = blocks.head_outputs(model, heads, x, targets)
    gpu, _ = blocks.head_outputs(model.to(resolve_device("cuda")), heads, x, targets)  # IEEE fp32 on the card
    assert all(h.weight.device.type == "cpu" for h in heads.values())  # the caller's heads stay where they were
    for c in blocks.CUTS:
        np.testing.assert_allclose(gpu[c][0], cpu[c][0], rtol=1e-3, atol=1e-5)


def test_undersampling_equalises_the_groups_without_replacement() -> None:
    groups = np.repeat([0, 1, 2], [5, 20, 9])
    idx = blocks.undersample(groups, np.random.default_rng(0))
    assert np.bincount(groups[idx]).tolist() == [5, 5, 5]
    assert np.unique(idx).size == idx.size and np.all(np.diff(idx) > 0)
    assert np.array_equal(idx, blocks.undersample(groups, np.random.default_rng(0)))  # seeded
    assert not np.array_equal(idx, blocks.undersample(groups, np.random.default_rng(1)))
    labels = np.repeat(np.arange(8), [3, 4, 5, 6, 7, 8, 9, 10])
    sub = blocks.balanced_index(labels, "layer1", 2024, "train")  # groups: 5 (SubFBM), 15, 7, 19
    assert np.bincount(blocks.group_map("layer1")[labels[sub]]).tolist() == [5, 5, 5, 5]
    assert not np.array_equal(sub, blocks.balanced_index(labels, "layer1", 2024, "eval"))

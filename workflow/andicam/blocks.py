"""Block-wise heads (METHODS §4): what each stage of a frozen network already separates.

A trained ResNet1d is frozen and cut after layer1, layer2 or layer3; the
stage's activations are averaged over positions and a new linear head is
trained on merged labels (the groups below, as in the paper). Only the head
learns, so the pooled features are computed once and the head is trained on
them with a small seeded Adam loop. The features are standardised while the
head trains (it converges in a few epochs that way); the standardisation is
then folded into the head, which is saved as a plain ``Linear`` on the pooled
features.

Two sets of heads are trained. Ours learn from every training trajectory and are scored on every evaluation
trajectory, so a group of three classes outnumbers a group of one (the layer1 head's majority baseline is
3/8). The authors balanced the groups by undersampling, as ``balance="undersample"`` does here: every group
is cut, by a seeded draw without replacement, to the size of the smallest, in the training set and again in
the evaluation set, so chance is 1 / (number of groups). The paper's accuracies are compared with those.
Grad-CAM and relevance use ours.

Grad-CAM of a head at its cut stage has a closed form: the head's score of
group g is y = W_g . mean_t A[:, t] + b_g, so dy/dA_c[t] = W_gc / P for every
t, the Grad-CAM weight is w_c = W_gc / P and the map is
map[t] = sum_c W_gc A_c[t] / P. ``head_gradcam`` computes that (no backward
pass); the tests check it against the generic ``andicam.gradcam`` on the cut
network.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from andicam.dataio import CLASS_NAMES, read_trajectories
from andicam.files import atomic_output
from andicam.gradcam import model_input
from andicam.model import ResNet1d, pooled_features
from andicam.seeding import derive_seed

CUTS: tuple[str, ...] = ("layer1", "layer2", "layer3")
HEADS_FORMAT = "andicam-block-heads/1"
BALANCES: tuple[str, ...] = ("none", "undersample")  # ours, and the authors' group-balanced undersampling

# Merged labels per cut (METHODS §4), each group a tuple of class names; group index = position.
GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "layer1": (("SubFBM",), ("SupFBM", "SupLW"), ("SubATTM", "SubCTRW"), ("SubSBM", "SupSBM", "BM")),
    "layer2": (("SubATTM",), ("SubCTRW",), ("SubFBM",), ("SubSBM", "SupSBM", "BM"), ("SupFBM",), ("SupLW",)),
    "layer3": tuple((name,) for name in CLASS_NAMES),
}


def group_names(cut: str) -> list[str]:
    return ["+".join(g) for g in GROUPS[cut]]


def group_map(cut: str) -> np.ndarray:
    """(8,) group index of every class label for a cut."""
    if cut not in GROUPS:
        raise ValueError(f"unknown cut {cut!r}; expected one of {list(GROUPS)}")
    out = np.full(len(CLASS_NAMES), -1, dtype=np.int64)
    for g, members in enumerate(GROUPS[cut]):
        for name in members:
            out[CLASS_NAMES.index(name)] = g
    assert (out >= 0).all(), f"every class must belong to a group of {cut}"
    return out


@dataclass(frozen=True)
class HeadConfig:
    epochs: int = 30
    batch_size: int = 256
    lr: float = 1e-2
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be positive, got {self.epochs}, {self.batch_size}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


def train_head(
    features: np.ndarray, targets: np.ndarray, n_groups: int, cfg: HeadConfig
) -> tuple[nn.Linear, list[float]]:
    """A Linear(C, n_groups) on pooled features (N, C), trained with seeded Adam; returns it and the loss per epoch."""
    if features.ndim != 2 or features.shape[0] != targets.shape[0] or features.shape[0] == 0:
        raise ValueError(f"features {features.shape} and targets {targets.shape} do not match or are empty")
    if targets.min() < 0 or targets.max() >= n_groups:
        raise ValueError(f"targets must lie in [0, {n_groups - 1}]")
    gen = torch.Generator().manual_seed(cfg.seed)
    f = torch.from_numpy(features.astype(np.float64))
    mean = f.mean(0)
    std = f.std(0, unbiased=False)
    std = torch.where(std > 0, std, torch.ones_like(std))  # a dead channel stays 0 after centring
    z = ((f - mean) / std).float()  # (N, C)
    y = torch.from_numpy(targets.astype(np.int64))
    head = nn.Linear(features.shape[1], n_groups)
    with torch.no_grad():  # default init, but drawn from the seeded generator
        bound = 1.0 / np.sqrt(features.shape[1])
        head.weight.uniform_(-bound, bound, generator=gen)
        head.bias.uniform_(-bound, bound, generator=gen)
    opt = torch.optim.Adam(head.parameters(), lr=cfg.lr)
    losses: list[float] = []
    for _ in range(cfg.epochs):
        order = torch.randperm(z.shape[0], generator=gen)
        total = 0.0
        for lo in range(0, z.shape[0], cfg.batch_size):
            idx = order[lo:lo + cfg.batch_size]
            loss = nn.functional.cross_entropy(head(z[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
        losses.append(total / z.shape[0])
    # Fold the standardisation in: W z + b = (W / std) f + (b - (W / std) . mean).
    folded = nn.Linear(features.shape[1], n_groups)
    with torch.no_grad():
        w = head.weight.double() / std  # (G, C)
        folded.weight.copy_(w.float())
        folded.bias.copy_((head.bias.double() - w @ mean).float())
    return folded.eval(), losses


class CutNetwork(nn.Module):
    """The frozen backbone up to a cut stage, average pooling and a head: a classifier of merged labels."""

    def __init__(self, backbone: ResNet1d, cut: str, head: nn.Linear) -> None:
        super().__init__()
        self.backbone = backbone
        self.cut = cut
        self.head = head

    def forward(self, x: Tensor) -> Tensor:
        (_, h), = self.backbone.stage_outputs(x, [self.cut])
        return self.head(h.mean(dim=2))  # (B, C, P) -> (B, groups)


@torch.no_grad()
def head_outputs(model: ResNet1d, heads: dict[str, nn.Linear], x: np.ndarray, targets: dict[str, np.ndarray],
                 batch_size: int = 256, also: dict[str, nn.Linear] | None = None
                 ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, np.ndarray]]:
    """For every cut: (Grad-CAM maps (N, P) of the target group, predicted group (N,)) in one forward pass; and
    the predicted groups (N,) of the heads of ``also`` (more heads on the same cuts, no maps)."""
    also = also or {}
    if set(also) - set(heads):
        raise ValueError(f"heads in 'also' need a head of the same cut: {sorted(set(also) - set(heads))}")
    p = next(model.parameters())
    on_device = {c: copy.deepcopy(h).to(p.device, p.dtype) for c, h in heads.items()}  # callers keep CPU heads
    also_on_device = {c: copy.deepcopy(h).to(p.device, p.dtype) for c, h in also.items()}
    maps: dict[str, list[np.ndarray]] = {c: [] for c in heads}
    preds: dict[str, list[np.ndarray]] = {c: [] for c in heads}
    also_preds: dict[str, list[np.ndarray]] = {c: [] for c in also}
    for lo in range(0, x.shape[0], batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(x[lo:lo + batch_size])).to(p.device, p.dtype)
        for cut, h in model.stage_outputs(xb, list(heads)):
            head = on_device[cut]
            pooled = h.mean(dim=2)
            preds[cut].append(head(pooled).argmax(1).cpu().numpy())
            if cut in also_on_device:
                also_preds[cut].append(also_on_device[cut](pooled).argmax(1).cpu().numpy())
            t = torch.from_numpy(targets[cut][lo:lo + batch_size]).to(p.device)
            maps[cut].append(head_gradcam(head, h, t).float().cpu().numpy())
    return ({c: (np.concatenate(maps[c]), np.concatenate(preds[c])) for c in heads},
            {c: np.concatenate(v) for c, v in also_preds.items()})


def head_gradcam(head: nn.Linear, activations: Tensor, targets: Tensor) -> Tensor:
    """Closed-form Grad-CAM (B, P) of a pooled linear head: sum_c W[target, c] A_c[t] / P."""
    w = head.weight[targets] / activations.shape[2]  # (B, C)
    return torch.einsum("bc,bcp->bp", w, activations)


def save_heads(path: str, heads: dict[str, nn.Linear], meta: dict) -> None:
    blob = {"format": HEADS_FORMAT, "meta": meta,
            "heads": {c: {"state_dict": h.state_dict(), "groups": group_names(c)} for c, h in heads.items()}}
    with atomic_output(path) as tmp:
        torch.save(blob, tmp)


def load_heads(path: str) -> dict[str, nn.Linear]:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if blob.get("format") != HEADS_FORMAT:
        raise ValueError(f"{path}: format is {blob.get('format')!r}, expected {HEADS_FORMAT!r}")
    heads = {}
    for cut, entry in blob["heads"].items():
        w = entry["state_dict"]["weight"]
        head = nn.Linear(w.shape[1], w.shape[0])
        head.load_state_dict(entry["state_dict"])
        heads[cut] = head.eval()
    return heads


def features_from_files(model: ResNet1d, paths: Sequence[str], cuts: Sequence[str] = CUTS,
                        batch_size: int = 256) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Pooled features {cut: (N, C)} and labels (N,) of trajectory shards, one shard in memory at a time."""
    feats: dict[str, list[np.ndarray]] = {c: [] for c in cuts}
    labels: list[np.ndarray] = []
    for path in paths:
        data = read_trajectories(path)
        for c, f in pooled_features(model, model_input(data), cuts, batch_size).items():
            feats[c].append(f)
        labels.append(data.labels.astype(np.int64))
    return {c: np.concatenate(v) for c, v in feats.items()}, np.concatenate(labels)


def head_accuracy(head: nn.Linear, features: np.ndarray, targets: np.ndarray) -> float:
    with torch.no_grad():
        pred = head(torch.from_numpy(features)).argmax(1).numpy()
    return float((pred == targets).mean())


def undersample(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of as many items of every group present as the smallest group has, drawn without replacement."""
    groups = np.asarray(groups)
    present = np.unique(groups)
    if present.size == 0:
        raise ValueError("undersampling needs at least one item")
    members = [np.flatnonzero(groups == g) for g in present]
    size = min(m.size for m in members)
    return np.sort(np.concatenate([rng.choice(m, size, replace=False) for m in members]))


def balanced_index(labels: np.ndarray, cut: str, master_seed: int, split: str) -> np.ndarray:
    """The group-balanced subset of ``labels`` (class labels) for a cut's groups; seeded by cut and split."""
    rng = np.random.default_rng(derive_seed(master_seed, "block-head-undersample", cut, split))
    return undersample(group_map(cut)[labels], rng)


def train_heads(features: dict[str, np.ndarray], labels: np.ndarray, cfg: HeadConfig, master_seed: int,
                balance: str = "none") -> tuple[dict[str, nn.Linear], dict[str, list[float]]]:
    """One head per cut on merged labels; each head's seed is derive_seed(master_seed, "block-head", cut) (and
    "undersample" after the cut for the balanced heads, which learn from ``balanced_index(..., "train")``)."""
    if balance not in BALANCES:
        raise ValueError(f"balance must be one of {BALANCES}, got {balance!r}")
    heads: dict[str, nn.Linear] = {}
    losses: dict[str, list[float]] = {}
    for cut, f in features.items():
        key = ("block-head", cut) if balance == "none" else ("block-head", cut, balance)
        head_cfg = HeadConfig(cfg.epochs, cfg.batch_size, cfg.lr, derive_seed(master_seed, *key))
        idx = np.arange(labels.size) if balance == "none" else balanced_index(labels, cut, master_seed, "train")
        heads[cut], losses[cut] = train_head(f[idx], group_map(cut)[labels[idx]], len(GROUPS[cut]), head_cfg)
    return heads, losses


def evaluate_heads(model: ResNet1d, heads: dict[str, nn.Linear], paths: Sequence[str], batch_size: int = 256,
                   also: dict[str, nn.Linear] | None = None
                   ) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]], dict[str, np.ndarray]]:
    """Labels (N,), per cut (Grad-CAM maps (N, P) of the true group, predicted group (N,)) on shards, and the
    predicted groups (N,) of the heads of ``also``, from the same forward passes."""
    labels: list[np.ndarray] = []
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {c: [] for c in heads}
    also_parts: dict[str, list[np.ndarray]] = {c: [] for c in also or {}}
    for path in paths:
        data = read_trajectories(path)
        y = data.labels.astype(np.int64)
        targets = {c: group_map(c)[y] for c in heads}
        outputs, also_preds = head_outputs(model, heads, model_input(data), targets, batch_size, also)
        for c, out in outputs.items():
            parts[c].append(out)
        for c, pred in also_preds.items():
            also_parts[c].append(pred)
        labels.append(y)
    return (np.concatenate(labels),
            {c: (np.concatenate([m for m, _ in v]), np.concatenate([p for _, p in v])) for c, v in parts.items()},
            {c: np.concatenate(v) for c, v in also_parts.items()})


def accuracy_table(heads: dict[str, nn.Linear], train_features: dict[str, np.ndarray], train_labels: np.ndarray,
                   eval_labels: np.ndarray, eval_preds: dict[str, np.ndarray],
                   losses: dict[str, list[float]], balance: str = "none", master_seed: int = 0) -> pd.DataFrame:
    """One row per head: train and evaluation accuracy on merged labels, and the majority-group baseline.

    ``balance="undersample"``: the heads were trained on ``balanced_index(..., "train")`` and are scored there and
    on the group-balanced evaluation subset ``balanced_index(..., "eval")``; ``eval_preds`` holds the predicted
    groups of every evaluation trajectory either way.
    """
    rows = []
    for cut, head in heads.items():
        gm = group_map(cut)
        tr = np.arange(train_labels.size) if balance == "none" else balanced_index(train_labels, cut, master_seed,
                                                                                    "train")
        ev = np.arange(eval_labels.size) if balance == "none" else balanced_index(eval_labels, cut, master_seed,
                                                                                   "eval")
        eval_targets = gm[eval_labels[ev]]
        shares = np.bincount(eval_targets, minlength=len(GROUPS[cut])) / max(eval_targets.size, 1)
        rows.append({
            "cut": cut, "balance": balance, "n_groups": len(GROUPS[cut]), "groups": "; ".join(group_names(cut)),
            "train_accuracy": head_accuracy(head, train_features[cut][tr], gm[train_labels[tr]]),
            "eval_accuracy": float((eval_preds[cut][ev] == eval_targets).mean()),
            "majority_baseline": float(shares.max()), "final_train_loss": losses[cut][-1],
            "n_train": int(tr.size), "n_eval": int(ev.size),
        })
    return pd.DataFrame(rows)

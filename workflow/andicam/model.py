"""The paper's ResNet, written as the one-dimensional network it is.

The authors used 2-D convolutions with 1 x k kernels on inputs of height 1;
Conv1d computes the same function. Layout and names follow torchvision's
``resnet.py`` (``conv1 bn1 relu maxpool layer1..layer4 avgpool fc``) so that
Grad-CAM and the block-wise heads can address stages by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor, nn

STAGES: tuple[str, ...] = ("layer1", "layer2", "layer3", "layer4")

# depth -> BasicBlocks per stage, as torchvision does it.
BLOCKS_PER_STAGE: dict[int, tuple[int, int, int, int]] = {
    10: (1, 1, 1, 1),
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
}

STEM_KERNEL = 35
BLOCK_KERNEL = 15


@dataclass(frozen=True)
class ModelConfig:
    depth: int = 18
    width: int = 64  # channels of layer1; later stages double it (64 -> 512 in the paper)
    in_channels: int = 2
    num_classes: int = 8
    # The stem (first convolution, its batch norm) in fp32 also under bf16 autocast. bf16 would round the
    # min-max scaled positions to 8 bits of mantissa: an error of about 5 % of the increments' standard
    # deviation, 18 % for the superdiffusive classes (benchmarks/bench_inference.py). Costs <= 8 % of
    # bf16's speed; without autocast it changes nothing.
    fp32_stem: bool = False

    def __post_init__(self) -> None:
        if self.depth not in BLOCKS_PER_STAGE:
            raise ValueError(f"model depth must be one of {sorted(BLOCKS_PER_STAGE)}, got {self.depth}")
        if self.width < 1:
            raise ValueError(f"model width must be positive, got {self.width}")


class BasicBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        pad = BLOCK_KERNEL // 2
        self.conv1 = nn.Conv1d(in_ch, out_ch, BLOCK_KERNEL, stride=stride, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv1d(out_ch, out_ch, BLOCK_KERNEL, stride=1, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(out_ch)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv1d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm1d(out_ch)
            )

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet1d(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.conv1 = nn.Conv1d(cfg.in_channels, w, STEM_KERNEL, stride=2, padding=STEM_KERNEL // 2, bias=False)
        self.bn1 = nn.BatchNorm1d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool1d(kernel_size=3, stride=2, padding=1)
        widths = (w, 2 * w, 4 * w, 8 * w)
        strides = (1, 2, 2, 2)
        in_ch = w
        for name, n_blocks, out_ch, stride in zip(STAGES, BLOCKS_PER_STAGE[cfg.depth], widths, strides):
            setattr(self, name, self._make_layer(in_ch, out_ch, n_blocks, stride))
            in_ch = out_ch
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(widths[-1], cfg.num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm1d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @staticmethod
    def _make_layer(in_ch: int, out_ch: int, n_blocks: int, stride: int) -> nn.Sequential:
        blocks = [BasicBlock(in_ch, out_ch, stride)]
        blocks += [BasicBlock(out_ch, out_ch, 1) for _ in range(n_blocks - 1)]
        return nn.Sequential(*blocks)

    def stem(self, x: Tensor) -> Tensor:
        """(B, 2, 1000) -> (B, w, 250); in the input's precision when ``cfg.fp32_stem``, whatever autocast says."""
        if self.cfg.fp32_stem:
            with torch.autocast(device_type=x.device.type, enabled=False):
                x = self.relu(self.bn1(self.conv1(x)))  # (B, w, 500)
        else:
            x = self.relu(self.bn1(self.conv1(x)))
        return self.maxpool(x)

    def forward_stages(self, x: Tensor) -> dict[str, Tensor]:
        """Activations after every stage: layer1 (B, w, 250) ... layer4 (B, 8w, 32) for 1000 steps."""
        feats: dict[str, Tensor] = {}
        x = self.stem(x)
        for name in STAGES:
            x = getattr(self, name)(x)
            feats[name] = x
        return feats

    def stage_outputs(self, x: Tensor, stages: Sequence[str]) -> Iterator[tuple[str, Tensor]]:
        """(name, activation) for each of ``stages``, running the network only as deep as the deepest one."""
        last = max(STAGES.index(s) for s in stages)
        x = self.stem(x)
        for name in STAGES[: last + 1]:
            x = getattr(self, name)(x)  # (B, C, P)
            if name in stages:
                yield name, x

    def forward(self, x: Tensor) -> Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))  # (B, 8w, 32) -> (B, num_classes)


def build_model(depth: int = 18, width: int = 64, num_classes: int = 8, fp32_stem: bool = False) -> ResNet1d:
    return ResNet1d(ModelConfig(depth=depth, width=width, num_classes=num_classes, fp32_stem=fp32_stem))


@torch.no_grad()
def pooled_features(model: ResNet1d, x: np.ndarray, stages: Sequence[str] = STAGES,
                    batch_size: int = 256) -> dict[str, np.ndarray]:
    """{stage: (N, channels) float32}: activations after each stage averaged over positions (eval mode)."""
    if model.training:
        raise ValueError("features need the model in eval mode (BatchNorm running statistics)")
    param = next(model.parameters())
    chunks: dict[str, list[np.ndarray]] = {s: [] for s in stages}
    for start in range(0, x.shape[0], batch_size):
        xb = torch.from_numpy(np.ascontiguousarray(x[start : start + batch_size])).to(param.device, param.dtype)
        for name, h in model.stage_outputs(xb, stages):
            chunks[name].append(h.mean(dim=2).to("cpu", torch.float32).numpy())  # (B, C, P) -> (B, C)
    return {s: np.concatenate(c) for s, c in chunks.items()}


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save_model(path: str, model: ResNet1d, meta: dict | None = None) -> None:
    """Weights plus the architecture, so a model file is usable on its own."""
    from dataclasses import asdict

    from andicam.files import atomic_output

    with atomic_output(path) as tmp:
        torch.save({"model_config": asdict(model.cfg), "state_dict": model.state_dict(), "meta": meta or {}}, tmp)


def load_model(path: str, device: str | torch.device = "cpu") -> ResNet1d:
    """A model file written by ``save_model``, on ``device``, in eval mode (``model.meta`` holds its metadata).

    Raises DataFileError naming the file when it is missing, truncated or not an andicam model.
    """
    from andicam.dataio import DataFileError

    try:
        blob = torch.load(path, map_location=device, weights_only=True)
        model = ResNet1d(ModelConfig(**blob["model_config"]))
        model.load_state_dict(blob["state_dict"])
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such model file") from None
    except Exception as exc:  # torch.load raises many types for a bad file (pickle, zip, key, shape errors)
        first = (str(exc).strip().splitlines() or [""])[0][:200]  # torch's messages run to many lines
        raise DataFileError(f"{path}: not a usable andicam model file ({type(exc).__name__}: {first})") from None
    model.meta = blob.get("meta", {})
    return model.to(device).eval()


def model_class_names(model: ResNet1d) -> tuple[str, ...]:
    """The classes of the model's outputs, in output order: its metadata's ``class_names``; a model saved
    without them (before class sets were recorded) is the paper's 8-class classifier when it has 8 outputs.

    Raises ValueError when the names are missing for another number of outputs, or do not match it.
    """
    from andicam.dataio import CLASS_NAMES

    names = getattr(model, "meta", {}).get("class_names")
    if names is None:
        if model.cfg.num_classes == len(CLASS_NAMES):
            return CLASS_NAMES
        raise ValueError(f"the model has {model.cfg.num_classes} classes and no class names in its metadata; "
                         f"only the paper's {len(CLASS_NAMES)}-class models may omit them")
    names = tuple(names)
    if len(names) != model.cfg.num_classes:
        raise ValueError(f"the model has {model.cfg.num_classes} classes but its metadata names {len(names)}: "
                         f"{', '.join(names)}")
    return names


def _class_names_at(model: ResNet1d, where: str) -> tuple[str, ...]:
    """``model_class_names`` with its error as a DataFileError naming ``where``."""
    from andicam.dataio import DataFileError

    try:
        return model_class_names(model)
    except ValueError as exc:
        raise DataFileError(f"{where}: {exc}") from None


def check_model_classes(model: ResNet1d, data_class_names: Sequence[str], where: str) -> tuple[str, ...]:
    """The model's class names when they equal the data's; otherwise DataFileError naming ``where`` (the
    model and the data), so that no label is read as another class."""
    from andicam.dataio import DataFileError

    names = _class_names_at(model, where)
    if names != tuple(data_class_names):
        raise DataFileError(f"{where}: the model classifies [{', '.join(names)}] but the data's classes are "
                            f"[{', '.join(data_class_names)}]")
    return names


def require_paper_classes(model: ResNet1d, where: str) -> None:
    """DataFileError naming ``where`` unless the model classifies the paper's 8 classes: the analyses that
    follow the paper (per-class Grad-CAM, relevance, blocks, ablation, augmentation, summary) are defined
    on them."""
    from andicam.dataio import CLASS_NAMES, DataFileError

    names = _class_names_at(model, where)
    if names != CLASS_NAMES:
        raise DataFileError(f"{where}: the model classifies [{', '.join(names)}]; this analysis follows the paper "
                            f"and needs its {len(CLASS_NAMES)} classes [{', '.join(CLASS_NAMES)}]")

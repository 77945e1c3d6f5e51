"""The paper's ResNet: size, stage lengths, depth variants."""

from __future__ import annotations

import pytest
import torch

from andicam.dataio import ANDI_MODELS, CLASS_NAMES, DataFileError
from andicam.model import (BLOCKS_PER_STAGE, STAGES, ModelConfig, build_model, check_model_classes, count_parameters,
                           load_model, model_class_names, require_paper_classes, save_model)


def test_parameter_count_of_the_paper_model() -> None:
    # 18.5 M as the paper says; the exact number pins the architecture (kernels 35/15, widths 64..512, head 512 -> 8).
    assert count_parameters(build_model(depth=18, width=64)) == 18_499_336


@pytest.mark.parametrize("depth", [10, 18, 34])
def test_blocks_per_stage(depth: int) -> None:
    model = build_model(depth=depth, width=4)
    assert tuple(len(getattr(model, s)) for s in STAGES) == BLOCKS_PER_STAGE[depth]
    assert BLOCKS_PER_STAGE[depth] == {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}[depth]


def test_stage_lengths_and_widths_for_1000_steps() -> None:
    model = build_model(depth=10, width=4).eval()
    with torch.no_grad():
        feats = model.forward_stages(torch.zeros(2, 2, 1000))
    assert {s: tuple(f.shape) for s, f in feats.items()} == {
        "layer1": (2, 4, 250), "layer2": (2, 8, 125), "layer3": (2, 16, 63), "layer4": (2, 32, 32)}


def test_forward_gives_logits_for_short_inputs() -> None:
    model = build_model(depth=10, width=4, num_classes=8).eval()
    with torch.no_grad():
        assert model(torch.rand(3, 2, 200)).shape == (3, 8)


@pytest.mark.parametrize("depth", [0, 12, 50])
def test_unknown_depth_is_refused(depth: int) -> None:
    with pytest.raises(ValueError, match="depth must be one of"):
        ModelConfig(depth=depth)


def test_a_bad_model_file_is_one_line_naming_it(tmp_path):
    from andicam.dataio import DataFileError
    from andicam.model import load_model

    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(DataFileError) as err:
        load_model(bad)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataFileError, match="no such model file"):
        load_model(tmp_path / "absent.pt")


def test_fp32_stem_keeps_the_input_out_of_bf16_under_autocast(tmp_path) -> None:
    """config train.fp32_stem: under bf16 autocast the stem computes exactly as without autocast; off, bf16
    rounds positions one bf16 ulp apart away. The setting travels with the model file; old files lack it."""
    from andicam.model import load_model, save_model

    torch.manual_seed(0)
    plain = build_model(depth=10, width=4).eval()
    kept = build_model(depth=10, width=4, fp32_stem=True).eval()
    kept.load_state_dict(plain.state_dict())
    # Positions in [0.5, 0.99], steps of 2^-12: bf16's spacing there is 2^-8, so most steps round away.
    x = (0.5 + torch.cumsum(torch.full((2, 2, 1000), 2.0 ** -12), dim=2)).clamp(max=0.99)
    with torch.no_grad():
        exact = plain.stem(x)
        assert torch.equal(kept.stem(x), exact)  # no autocast: the setting changes nothing
        with torch.autocast("cpu", dtype=torch.bfloat16):
            rounded, fp32 = plain.stem(x), kept.stem(x)
            assert kept(x).dtype == torch.bfloat16  # the rest of the network still runs in bf16
    assert fp32.dtype == torch.float32 and torch.equal(fp32, exact)
    assert rounded.dtype == torch.bfloat16 and not torch.allclose(rounded.float(), exact, atol=1e-3)
    save_model(str(tmp_path / "m.pt"), kept)
    assert load_model(str(tmp_path / "m.pt")).cfg.fp32_stem is True
    blob = torch.load(tmp_path / "m.pt", weights_only=True)
    del blob["model_config"]["fp32_stem"]  # a model file written before the setting existed
    torch.save(blob, tmp_path / "old.pt")
    assert load_model(str(tmp_path / "old.pt")).cfg == ModelConfig(depth=10, width=4)


def test_class_names_of_old_and_new_model_files(tmp_path) -> None:
    save_model(str(tmp_path / "old.pt"), build_model(depth=10, width=4), {"seed": 0})  # saved before class sets
    old = load_model(str(tmp_path / "old.pt"))
    assert model_class_names(old) == CLASS_NAMES
    require_paper_classes(old, "old.pt")
    save_model(str(tmp_path / "andi.pt"), build_model(depth=10, width=4, num_classes=5),
               {"class_names": list(ANDI_MODELS)})
    andi = load_model(str(tmp_path / "andi.pt"))
    assert model_class_names(andi) == ANDI_MODELS
    assert check_model_classes(andi, ANDI_MODELS, "here") == ANDI_MODELS
    with pytest.raises(DataFileError, match=r"^andi.pt: the model classifies \[ATTM.*needs its 8 classes"):
        require_paper_classes(andi, "andi.pt")
    with pytest.raises(DataFileError, match=r"^here: the model classifies \[ATTM.*data's classes are \[SubATTM"):
        check_model_classes(andi, CLASS_NAMES, "here")
    with pytest.raises(ValueError, match="5 classes and no class names"):
        model_class_names(build_model(depth=10, width=4, num_classes=5))
    unnamed = build_model(depth=10, width=4, num_classes=5)
    unnamed.meta = {"class_names": list(CLASS_NAMES)}
    with pytest.raises(ValueError, match="5 classes but its metadata names 8"):
        model_class_names(unnamed)

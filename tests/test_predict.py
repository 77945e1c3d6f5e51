"""``andicam predict``: readers, per-track checks, preprocessing identical to training, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from andi_datasets.utils_trajectories import normalize as andi_normalize
from torch import nn

from andicam.cli import main as cli_main
import andicam.plots.predict as plots_predict
from andicam.dataio import ANDI_MODELS, CLASS_NAMES
from andicam.gradcam import gradcam_all_stages, upsample_nearest
from andicam.model import build_model, save_model
from andicam.predict import (
    REASONS,
    fold_to_andi_models,
    gradcam_layer4,
    model_input,
    normalise_track,
    prepare,
    upsample_to_track,
)
from andicam.preprocess import to_model_input
from andicam.simulate import simulate
from andicam.tracks import Track, read_tracks
from helpers import andi_model, trained_like_model

TRACKMATE_HEADER = [
    "LABEL,ID,TRACK_ID,QUALITY,POSITION_X,POSITION_Y,POSITION_Z,POSITION_T,FRAME",
    "Label,Spot ID,Track ID,Quality,X,Y,Z,T,Frame",
    "Label,Spot ID,Track ID,Quality,X,Y,Z,T,Frame",
    ",,,(quality),(micron),(micron),(micron),(sec),",
]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.pt"
    save_model(str(path), trained_like_model(), {"note": "untrained, for tests"})
    return path


def _walk(n: int, seed: int, scale: float = 0.1) -> np.ndarray:
    """(n, 2) random-walk points in physical-looking units."""
    rng = np.random.default_rng(seed)
    return 5.0 + np.cumsum(rng.normal(scale=scale, size=(n, 2)), axis=0)


def _trackmate_csv(path: Path, tracks: dict[str, np.ndarray], untracked: int = 0, seed: int = 0) -> None:
    """A TrackMate spots export: 4 header lines, spots of a track in shuffled order."""
    rng = np.random.default_rng(seed)
    lines = list(TRACKMATE_HEADER)
    spot = 0
    for tid, xy in tracks.items():
        for f in rng.permutation(len(xy)):
            lines.append(f"ID{spot},{spot},{tid},1.0,{xy[f, 0]!r},{xy[f, 1]!r},0.0,{0.05 * f!r},{f}")
            spot += 1
    for _ in range(untracked):
        lines.append(f"ID{spot},{spot},None,1.0,1.0,2.0,0.0,0.0,0")
        spot += 1
    path.write_text("\n".join(lines) + "\n")


def _plain_csv(path: Path, rows: list[tuple[str, object, object, object]],
               header: str = "track_id,frame,x,y") -> None:
    path.write_text(header + "\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n")


def _rows(tid: str, xy: np.ndarray, frames: np.ndarray | None = None) -> list[tuple[str, object, object, object]]:
    frames = np.arange(len(xy)) if frames is None else frames
    return [(tid, int(f), repr(float(x)), repr(float(y))) for f, (x, y) in zip(frames, xy)]


def _predict(model_file: Path, inp: Path, out: Path, *extra: str) -> int:
    return cli_main(["predict", "--model", str(model_file), "--input", str(inp), "--out", str(out), *extra])


def _direct_probabilities(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(x)), dim=1).numpy()


# ----------------------------------------------------------------------------- readers


def test_trackmate_export_with_extra_header_rows(tmp_path: Path, model_file: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    tracks = {"7": _walk(40, 1), "3": _walk(25, 2), "12": _walk(60, 3)}
    _trackmate_csv(tmp_path / "spots.csv", tracks, untracked=4)
    data = read_tracks(tmp_path / "spots.csv")
    assert [t.track_id for t in data.tracks] == ["7", "3", "12"]  # order of first appearance
    assert data.skipped_header_rows == 3 and data.untracked_spots == 4
    for t in data.tracks:  # spots were shuffled in the file; the reader puts them back in frame order
        np.testing.assert_array_equal(t.xy, tracks[t.track_id])
        assert t.problem is None
    explicit = read_tracks(tmp_path / "spots.csv", skip_rows=3)
    assert explicit.skipped_header_rows == 0
    for a, b in zip(explicit.tracks, data.tracks):
        np.testing.assert_array_equal(a.xy, b.xy)

    assert _predict(model_file, tmp_path / "spots.csv", tmp_path / "pred.csv") == 0
    table = pd.read_csv(tmp_path / "pred.csv", dtype={"track_id": str})
    assert table["track_id"].tolist() == ["7", "3", "12"]
    assert table["n_points"].tolist() == [40, 25, 60]
    assert (table["status"] == "ok").all()
    err = capsys.readouterr().err
    assert "3 tracks read" in err and "3 ok" in err and "4 spots without a track" in err
    assert "3 extra header rows skipped" in err


def test_column_options_and_default_names(tmp_path: Path) -> None:
    xy = _walk(20, 4)
    _plain_csv(tmp_path / "plain.csv", _rows("a", xy))
    np.testing.assert_array_equal(read_tracks(tmp_path / "plain.csv").tracks[0].xy, xy)
    _plain_csv(tmp_path / "named.csv", _rows("a", xy), header="cell,t,px,py")
    data = read_tracks(tmp_path / "named.csv", columns={"track": "cell", "frame": "t", "x": "px", "y": "py"})
    np.testing.assert_array_equal(data.tracks[0].xy, xy)
    # Naming one column of a TrackMate export keeps TrackMate's names for the others.
    _trackmate_csv(tmp_path / "spots.csv", {"1": xy})
    data = read_tracks(tmp_path / "spots.csv", columns={"x": "POSITION_T", "y": None})
    np.testing.assert_allclose(data.tracks[0].xy, np.stack([0.05 * np.arange(20), xy[:, 1]], axis=1))


def test_andi_text_format(tmp_path: Path, model_file: Path) -> None:
    x, y = np.arange(12.0) ** 1.2, np.arange(12.0) ** 1.5
    lines = [
        "2;" + ";".join(map(repr, np.concatenate([x, y]))),
        "1;" + ";".join(map(repr, x)),  # 1-D: rejected
        "",  # blank: skipped, yet line numbers stay the ids
        "2.0;" + ";".join(map(repr, np.concatenate([x, y[:-1]]))),  # odd count
        "2;1;2;abc;4",
        "3;" + ";".join(map(repr, np.concatenate([x, y, x]))),
    ]
    (tmp_path / "task1.txt").write_text("\n".join(lines) + "\n")
    data = read_tracks(tmp_path / "task1.txt")
    assert [t.track_id for t in data.tracks] == ["1", "2", "4", "5", "6"]
    np.testing.assert_array_equal(data.tracks[0].xy, np.stack([x, y], axis=1))
    assert [t.problem for t in data.tracks] == [None, "not 2-D", "odd number of values", "non-numeric value",
                                                "not 2-D"]
    # --format andi reads the same file under any name
    (tmp_path / "tracks.dat").write_text((tmp_path / "task1.txt").read_text())
    assert _predict(model_file, tmp_path / "tracks.dat", tmp_path / "pred.csv", "--format", "andi") == 0
    table = pd.read_csv(tmp_path / "pred.csv", dtype={"track_id": str})
    assert table["track_id"].tolist() == ["1", "2", "4", "5", "6"]
    assert table["status"].tolist() == ["ok", "not 2-D", "odd number of values", "non-numeric value", "not 2-D"]
    assert table["n_points"].tolist() == [12, 0, 0, 0, 0]


@pytest.mark.parametrize("case", ["missing column", "empty", "binary", "not existing", "header only",
                                  "unknown extension", "model"])
def test_unreadable_files_exit_2_with_one_line(case: str, tmp_path: Path, model_file: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    inp, model = tmp_path / "tracks.csv", model_file
    if case == "missing column":
        inp.write_text("track_id,frame,x\n1,0,0.5\n")
    elif case == "empty":
        inp.write_text("")
    elif case == "binary":
        inp.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif case == "header only":
        _trackmate_csv(inp, {})
    elif case == "unknown extension":
        inp = tmp_path / "tracks.xlsx"
        inp.write_text("track_id,frame,x,y\n")
    elif case == "model":
        _plain_csv(inp, _rows("a", _walk(20, 0)))
        model = tmp_path / "model.pt"
        model.write_bytes(b"not a model")
    else:
        inp = tmp_path / "nope.csv"
    assert _predict(model, inp, tmp_path / "out.csv") == 2
    err = capsys.readouterr().err
    assert err.startswith("andicam predict: error: ") and err.count("\n") == 1
    assert not (tmp_path / "out.csv").exists()


def test_model_of_another_shape_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_model(str(tmp_path / "five.pt"), build_model(depth=10, width=4, num_classes=5).eval())
    _plain_csv(tmp_path / "tracks.csv", _rows("a", _walk(20, 0)))
    assert _predict(tmp_path / "five.pt", tmp_path / "tracks.csv", tmp_path / "out.csv") == 2
    assert "5 classes" in capsys.readouterr().err


# ----------------------------------------------------------------------------- per-track checks


def test_all_rejected_still_writes_every_row(tmp_path: Path, model_file: Path) -> None:
    _plain_csv(tmp_path / "tracks.csv", _rows("a", _walk(5, 0)) + _rows("b", _walk(3, 1)))
    assert _predict(model_file, tmp_path / "tracks.csv", tmp_path / "pred.csv", "--gradcam-dir",
                    str(tmp_path / "cams")) == 0
    table = pd.read_csv(tmp_path / "pred.csv", dtype={"track_id": str})
    assert table["status"].tolist() == ["too short", "too short"]
    assert table["p_BM"].isna().all()
    assert (tmp_path / "cams").is_dir() and not any((tmp_path / "cams").iterdir())


def test_per_track_reasons_order_and_row_count(tmp_path: Path, model_file: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    good, nan = _walk(30, 1), _walk(30, 2)
    nan[7, 1] = np.nan
    const = _walk(30, 3)
    const[:, 0] = 2.5
    rows = (
        _rows("b", good)
        + _rows("a", _walk(9, 4))  # 9 points < 10
        + _rows("10", nan)
        + _rows("2", _walk(30, 5), np.r_[np.arange(15), np.arange(14, 29)])  # frame 14 twice
        + _rows("z", _walk(30, 6), np.r_[np.arange(15), np.arange(16, 31)])  # frame 15 missing
        + _rows("c", const)
        + [("t", 0, "abc", 1.0)] + _rows("t", _walk(20, 7))[1:]
        + [("f", 0.5, 1.0, 1.0)] + _rows("f", _walk(20, 8))[1:]
        + _rows("long", _walk(1500, 9))
        + _rows("e", _walk(10, 10))  # exactly the minimum
    )
    _plain_csv(tmp_path / "tracks.csv", rows)
    assert _predict(model_file, tmp_path / "tracks.csv", tmp_path / "pred.csv") == 0
    table = pd.read_csv(tmp_path / "pred.csv", dtype={"track_id": str, "predicted": str}, keep_default_na=False)
    expected = {"b": "ok", "a": "too short", "10": "non-finite coordinate", "2": "duplicated frame",
                "z": "missing frames", "c": "constant coordinate", "t": "non-numeric value",
                "f": "invalid frame", "long": "ok", "e": "ok"}
    assert table["track_id"].tolist() == list(expected)  # one row per track, input order
    assert table["status"].tolist() == list(expected.values())
    assert set(expected.values()) - {"ok"} <= set(REASONS)
    assert table.set_index("track_id").loc["long", ["n_points", "n_used"]].tolist() == [1500, 1000]
    rejected = table[table["status"] != "ok"]
    assert (rejected["predicted"] == "").all() and (rejected["p_BM"] == "").all()
    assert (rejected["n_used"] == 0).all()
    err = capsys.readouterr().err
    assert "10 tracks read" in err and "3 ok (1 cut to 1000 points)" in err and "7 rejected" in err
    assert "too short: 1" in err


@pytest.mark.parametrize("long,expected", [("first", slice(0, 1000)), ("last", slice(500, 1500)), ("reject", None)])
def test_long_tracks(long: str, expected: slice | None) -> None:
    xy = _walk(1500, 1)
    prep = prepare([Track("a", xy)], long=long)  # type: ignore[arg-type]
    if expected is None:
        assert prep.status == ["too long"] and prep.n_used.tolist() == [0]
    else:
        assert prep.status == ["ok"] and prep.n_used.tolist() == [1000]
        np.testing.assert_array_equal(prep.used_xy[0], xy[expected])
        np.testing.assert_array_equal(prep.normalised[0], normalise_track(xy[expected]))


# ----------------------------------------------------------------------------- preprocessing and predictions


def test_normalisation_equals_andi_datasets() -> None:
    xy = _walk(57, 11, scale=3.0)
    ref = np.stack([andi_normalize(xy[:, 0]), andi_normalize(xy[:, 1])])  # (2, T), per axis
    np.testing.assert_allclose(normalise_track(xy), ref, rtol=1e-6, atol=1e-6)
    assert normalise_track(xy).dtype == np.float32  # as the stored training data


def test_probabilities_equal_direct_forward_pass(tmp_path: Path, model_file: Path) -> None:
    tracks = {"u": _walk(10, 1), "v": _walk(333, 2), "w": _walk(1000, 3), "q": _walk(57, 4)}
    _trackmate_csv(tmp_path / "spots.csv", tracks)
    assert _predict(model_file, tmp_path / "spots.csv", tmp_path / "pred.csv", "--batch-size", "3") == 0
    table = pd.read_csv(tmp_path / "pred.csv", dtype={"track_id": str})

    # The training path by hand: normalise per axis, store float32 left-aligned, to_model_input.
    lengths = np.array([len(v) for v in tracks.values()])
    stored = np.zeros((len(tracks), 2, lengths.max()), dtype=np.float32)
    for i, xy in enumerate(tracks.values()):
        stored[i, :, : len(xy)] = np.stack([andi_normalize(xy[:, 0]), andi_normalize(xy[:, 1])])
    x = to_model_input(stored, lengths)
    model = trained_like_model()
    probs = np.concatenate([_direct_probabilities(model, x[:3]), _direct_probabilities(model, x[3:])])

    ours = table[[f"p_{c}" for c in CLASS_NAMES]].to_numpy()
    np.testing.assert_allclose(ours, probs, rtol=0, atol=1e-6)
    assert table["predicted"].tolist() == [CLASS_NAMES[k] for k in probs.argmax(1)]
    # Through the module's own normalisation the float32 input is the same bit for bit.
    prep = prepare(read_tracks(tmp_path / "spots.csv").tracks)
    np.testing.assert_array_equal(
        np.concatenate([_direct_probabilities(model, model_input(prep.normalised[:3])),
                        _direct_probabilities(model, model_input(prep.normalised[3:]))]), ours.astype(np.float32))


def test_five_model_probabilities_and_regime(tmp_path: Path, model_file: Path) -> None:
    _trackmate_csv(tmp_path / "spots.csv", {str(i): _walk(20 + 40 * i, i) for i in range(6)})
    assert _predict(model_file, tmp_path / "spots.csv", tmp_path / "pred.csv") == 0
    t = pd.read_csv(tmp_path / "pred.csv")
    models = t[["p_model_ATTM", "p_model_CTRW", "p_model_FBM", "p_model_LW", "p_model_SBM"]].sum(axis=1)
    np.testing.assert_allclose(models + t["p_BM"], 1.0, atol=1e-6)
    np.testing.assert_allclose(t[[f"p_{c}" for c in CLASS_NAMES]].sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(t["p_model_FBM"], t["p_SubFBM"] + t["p_SupFBM"])
    np.testing.assert_allclose(t["p_model_SBM"], t["p_SubSBM"] + t["p_SupSBM"])
    np.testing.assert_array_equal(t["p_model_ATTM"], t["p_SubATTM"])
    np.testing.assert_array_equal(t["p_model_LW"], t["p_SupLW"])
    regime = {"Sub": "sub", "Sup": "super", "BM": "normal"}
    assert t["alpha_regime"].tolist() == [regime[p[:3] if p != "BM" else "BM"] for p in t["predicted"]]


def test_fold_to_andi_models_follows_the_rule() -> None:
    folded = fold_to_andi_models(np.eye(8))  # one row per class, in CLASS_NAMES order
    expected = {"SubATTM": [1, 0, 0, 0, 0], "SubCTRW": [0, 1, 0, 0, 0], "SubFBM": [0, 0, 1, 0, 0],
                "SubSBM": [0, 0, 0, 0, 1], "SupFBM": [0, 0, 1, 0, 0], "SupLW": [0, 0, 0, 1, 0],
                "SupSBM": [0, 0, 0, 0, 1], "BM": [0, 0, 0.5, 0, 0.5]}  # columns: ATTM CTRW FBM LW SBM
    np.testing.assert_array_equal(folded, [expected[c] for c in CLASS_NAMES])
    row = np.array([[0.05, 0.1, 0.2, 0.05, 0.1, 0.15, 0.15, 0.2]])
    np.testing.assert_allclose(fold_to_andi_models(row), [[0.05, 0.1, 0.2 + 0.1 + 0.1, 0.15, 0.05 + 0.15 + 0.1]])
    probs = np.random.default_rng(0).dirichlet(np.ones(8), size=50)
    np.testing.assert_allclose(fold_to_andi_models(probs).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="8 classes"):
        fold_to_andi_models(np.ones((2, 5)) / 5)


def test_a_five_class_model_predicts_the_five_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = andi_model()
    save_model(str(tmp_path / "andi.pt"), model, model.meta)
    titles: list[str] = []
    monkeypatch.setattr(plots_predict, "save_figure", lambda fig, out: titles.append(fig._suptitle.get_text()))
    tracks = {str(i): _walk(20 + 40 * i, i) for i in range(4)}
    _trackmate_csv(tmp_path / "spots.csv", {**tracks, "short": _walk(5, 9)})
    assert _predict(tmp_path / "andi.pt", tmp_path / "spots.csv", tmp_path / "pred.csv", "--gradcam-dir",
                    str(tmp_path / "cams")) == 0
    t = pd.read_csv(tmp_path / "pred.csv", dtype={"track_id": str})
    p_cols = [c for c in t.columns if c.startswith("p_") and c != "p_second" and not c.startswith("p_model_")]
    assert p_cols == [f"p_{m}" for m in ANDI_MODELS] and "p_BM" not in t.columns
    ok = t[t["status"] == "ok"]
    probs = ok[p_cols].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(ok[[f"p_model_{m}" for m in ANDI_MODELS]].to_numpy(), probs)
    prep = prepare(read_tracks(tmp_path / "spots.csv").tracks)
    np.testing.assert_allclose(probs, _direct_probabilities(model, model_input(prep.normalised)), atol=1e-6)
    assert ok["predicted"].tolist() == [ANDI_MODELS[k] for k in probs.argmax(axis=1)]
    np.testing.assert_allclose(ok["confidence"], probs.max(axis=1))
    assert set(ok["second"]) <= set(ANDI_MODELS) and t["alpha_regime"].isna().all()  # empty: no alpha
    assert len(titles) == 4 and all(f": {name} (p = " in title for name, title in zip(ok["predicted"], titles))


def test_simulated_track_same_as_training_path(tmp_path: Path, model_file: Path) -> None:
    data = simulate(n_per_class=1, min_length=40, max_length=120, seed=5)
    x_train = to_model_input(data.trajectories, data.lengths)  # what training and evaluation feed the network
    # The user's version: physical units (scale and offset differ per axis), frames, CSV text.
    tracks = {
        str(i): data.trajectories[i, :, : data.lengths[i]].T.astype(np.float64) * [0.16, 0.05] + [3.0, -1.0]
        for i in range(len(data))
    }
    _trackmate_csv(tmp_path / "spots.csv", tracks)
    assert _predict(model_file, tmp_path / "spots.csv", tmp_path / "pred.csv") == 0
    table = pd.read_csv(tmp_path / "pred.csv")
    prep = prepare(read_tracks(tmp_path / "spots.csv").tracks)
    np.testing.assert_allclose(model_input(prep.normalised), x_train, atol=2e-6)
    probs = _direct_probabilities(trained_like_model(), x_train)
    np.testing.assert_allclose(table[[f"p_{c}" for c in CLASS_NAMES]].to_numpy(), probs, atol=1e-5)
    assert table["predicted"].tolist() == [CLASS_NAMES[k] for k in probs.argmax(1)]


# ----------------------------------------------------------------------------- Grad-CAM


def test_gradcam_maps_and_upsampling() -> None:
    model = trained_like_model()
    normalised = [normalise_track(_walk(n, n)) for n in (12, 500, 1000)]
    targets = np.array([0, 5, 7])
    ours = gradcam_layer4(model, normalised, targets, batch_size=2)
    ref = gradcam_all_stages(model, model_input(normalised), targets, ("layer4",))["layer4"]
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7 * np.abs(ref).max())
    cam = np.arange(32, dtype=np.float32)
    for n in (10, 40, 1000):
        np.testing.assert_array_equal(upsample_to_track(cam, n), upsample_nearest(cam[None])[0, 1000 - n :])
    assert upsample_to_track(cam, 10).tolist() == [31.0] * 10  # steps 990..999 belong to the last position
    assert upsample_to_track(cam, 1000)[:32].tolist() == [0.0] * 32  # ceil(1000 / 32) = 32 steps per position


def test_gradcam_figures_one_per_ok_track(tmp_path: Path, model_file: Path) -> None:
    _trackmate_csv(tmp_path / "spots.csv", {"a/1": _walk(30, 1), "short": _walk(5, 2), "c": _walk(80, 3)})
    assert _predict(model_file, tmp_path / "spots.csv", tmp_path / "pred.csv", "--gradcam-dir",
                    str(tmp_path / "cams")) == 0
    assert sorted(p.name for p in (tmp_path / "cams").iterdir()) == [
        "00000_a_1.pdf", "00000_a_1.png", "00002_c.pdf", "00002_c.png"]


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # the CJK id in a title: drawn as boxes, fine
def test_any_track_id_gives_a_bounded_file_name_inside_the_folder(tmp_path: Path, model_file: Path) -> None:
    """Ids become file names: separators, dots, mathtext, non-ASCII and very long ids must all give names of
    at most 255 bytes inside --gradcam-dir, two long ids that differ only at the end must stay apart, and
    the run must not fail."""
    ids = ["../../escape", "/abs/path", "..", "a$b$c\\frac{", "ü漢字 ☃", "x" * 5000, "x" * 4999 + "y", "CON",
           "tab\tid"]
    rows = [r for n, tid in enumerate(ids) for r in _rows(f'"{tid}"', _walk(20, n))]
    _plain_csv(tmp_path / "tracks.csv", rows)
    cams = tmp_path / "cams"
    assert _predict(model_file, tmp_path / "tracks.csv", tmp_path / "pred.csv", "--gradcam-dir", str(cams)) == 0
    table = pd.read_csv(tmp_path / "pred.csv", keep_default_na=False)
    assert len(table) == len(ids) and (table["status"] == "ok").all()
    names = sorted(p.name for p in cams.iterdir())
    assert len(names) == 2 * len(ids) and len(set(names)) == len(names)
    assert all(p.parent == cams for p in cams.iterdir())
    assert max(len(n.encode()) for n in names) <= 255 and all(not n.startswith(".") for n in names)
    long_pdfs = sorted(n for n in names if n.endswith(".pdf") and "xxxxxxxx" in n)
    assert len(long_pdfs) == 2 and long_pdfs[0].split("-")[-1] != long_pdfs[1].split("-")[-1]


# ----------------------------------------------------------------------------- confidence, noise, model kind


def test_confidence_runner_up_and_noise_estimate(tmp_path: Path, model_file: Path) -> None:
    rng = np.random.default_rng(3)
    clean = _walk(1000, 1)
    noisy = _walk(1000, 2) + 0.1 * rng.standard_normal((1000, 2))  # steps of std 0.1: noise sigma 1 step
    _trackmate_csv(tmp_path / "spots.csv", {"clean": clean, "noisy": noisy, "short": _walk(5, 3)})
    assert _predict(model_file, tmp_path / "spots.csv", tmp_path / "pred.csv") == 0
    t = pd.read_csv(tmp_path / "pred.csv", dtype={"track_id": str}).set_index("track_id")
    probs = t.loc[["clean", "noisy"], [f"p_{c}" for c in CLASS_NAMES]].to_numpy()
    ranked = np.argsort(-probs, axis=1)
    np.testing.assert_allclose(t.loc[["clean", "noisy"], "confidence"], probs.max(axis=1))
    assert t.loc[["clean", "noisy"], "second"].tolist() == [CLASS_NAMES[k] for k in ranked[:, 1]]
    np.testing.assert_allclose(t.loc[["clean", "noisy"], "p_second"], np.take_along_axis(probs, ranked[:, 1:2], 1)[:, 0])
    # a single 1000-point Brownian track: the estimate scatters by ~0.2 (docs/predict.md)
    assert t.loc["clean", "noise_est"] < 0.3 and 0.7 < t.loc["noisy", "noise_est"] < 1.4
    assert np.isnan(t.loc["short", "noise_est"]) and np.isnan(t.loc["short", "confidence"])


def test_model_kind_metadata_and_noise_warning(tmp_path: Path, model_file: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(4)
    tracks = {str(i): _walk(300, i) + 0.1 * rng.standard_normal((300, 2)) for i in range(3)}
    _trackmate_csv(tmp_path / "spots.csv", tracks)
    assert _predict(model_file, tmp_path / "spots.csv", tmp_path / "pred.csv") == 0
    meta = json.loads((tmp_path / "pred.json").read_text())
    assert meta["model_kind"] == "noiseless" and meta["training_noise"]["high"] == 0.0
    err = capsys.readouterr().err
    assert "(noiseless model)" in err
    assert "warning: the tracks' median estimated noise" in err and "3 of 3 tracks above 0.2" in err
    assert "noise-robust model" in err

    robust = tmp_path / "robust.pt"
    save_model(str(robust), trained_like_model(),
               {"train_config": {"noise_min": 0.0, "noise_max": 1.5, "rotate": True, "noise_clean": 0.25}})
    assert _predict(robust, tmp_path / "spots.csv", tmp_path / "pred2.csv") == 0
    meta = json.loads((tmp_path / "pred2.json").read_text())
    assert meta["model_kind"] == "robust" and meta["training_noise"] == {"low": 0.0, "high": 1.5, "rotate": True,
                                                                    "clean_share": 0.25}
    err = capsys.readouterr().err
    assert "(robust model)" in err and "warning" not in err


def test_an_andi_model_counts_the_challenges_noise_as_its_training_noise() -> None:
    """Every AnDi Task 2 training track carries noise of std 0.1 to 1 step, so a five-model classifier trained on
    them without added noise is not a noiseless model (no warning for noisy tracks, kind robust)."""
    from andicam.predict import model_kind, model_noise

    model = andi_model()
    model.meta["train_config"] = {"noise_min": 0.0, "noise_max": 0.0, "rotate": True}
    noise = model_noise(model)
    assert (noise.low, noise.high, noise.rotate) == (0.1, 1.0, True) and model_kind(noise) == "robust"
    model.meta["train_config"]["noise_max"] = 1.5  # noise added in training widens the range
    assert model_noise(model).high == 1.5
    eight = trained_like_model()
    eight.meta = {"train_config": {"noise_min": 0.0, "noise_max": 0.0}}
    assert model_kind(model_noise(eight)) == "noiseless"

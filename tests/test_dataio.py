"""HDF5 shards: round trip, self-description, and a clear error for every kind of bad file."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from andicam.dataio import (ANDI_MODELS, CLASS_NAMES, DataFileError, Trajectories, class_names_of,
                            common_class_names, read_many, read_trajectories, subset_index, write_trajectories)
from andicam.preprocess import to_model_input
from andicam.simulate import simulate


@pytest.fixture
def shard(tmp_path):
    data = simulate(4, 10, 300, seed=1)
    path = tmp_path / "shard0.h5"
    write_trajectories(path, data, {"seed": 7, "config": {"n_per_class": 4}})
    return path, data


def test_round_trip(shard):
    path, data = shard
    back = read_trajectories(path)
    for name in ("trajectories", "lengths", "labels", "alpha"):
        assert np.array_equal(getattr(back, name), getattr(data, name))
    assert back.attrs["class_names"] == list(CLASS_NAMES)
    assert back.attrs["seed"] == 7 and back.attrs["config"] == {"n_per_class": 4}
    with h5py.File(path) as f:
        assert f["trajectories"].dtype == np.float32
        assert f["trajectories"].chunks is not None and f["trajectories"].compression == "gzip"


def test_no_temporary_file_is_left(shard):
    path, _ = shard
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_read_many_concatenates_in_order(shard, tmp_path):
    path, data = shard
    both = read_many([path, path])
    assert len(both) == 2 * len(data)
    assert np.array_equal(both.labels[len(data):], data.labels)


def _corrupt(path, name, transform):
    with h5py.File(path, "r+") as f:
        values = transform(f[name][...])
        del f[name]
        f.create_dataset(name, data=values)


@pytest.mark.parametrize("name, transform, message", [
    ("lengths", lambda v: v + 5000, "lengths out of range"),
    ("lengths", lambda v: v * 0, "lengths out of range"),
    ("labels", lambda v: v + 8, "labels out of range"),
    ("trajectories", lambda v: np.where(np.arange(v.shape[2]) == 3, np.nan, v), "NaN or Inf"),
    ("alpha", lambda v: v * np.inf, "'alpha' contains NaN or Inf"),
    ("labels", lambda v: v[:-1], "'labels' has shape"),
])
def test_inconsistent_file_is_named(shard, name, transform, message):
    path, _ = shard
    _corrupt(path, name, transform)
    with pytest.raises(DataFileError, match=message) as err:
        read_trajectories(path)
    assert str(path) in str(err.value)


def test_truncated_file(shard):
    path, _ = shard
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataFileError, match="truncated|corrupt|not a readable HDF5") as err:
        read_trajectories(path)
    assert str(path) in str(err.value)


def test_not_hdf5(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("x,y\n1,2\n")
    with pytest.raises(DataFileError, match="not a readable HDF5"):
        read_trajectories(path)


def test_missing_dataset_and_missing_file(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(DataFileError, match="format attribute is None, expected 'andicam-trajectories/1'"):
        read_trajectories(path)
    with h5py.File(path, "a") as f:
        f.attrs["format"] = "andicam-trajectories/1"
    with pytest.raises(DataFileError, match="missing dataset"):
        read_trajectories(path)
    with pytest.raises(DataFileError, match="no such file"):
        read_trajectories(tmp_path / "absent.h5")


def test_writer_refuses_bad_arrays(tmp_path):
    bad = Trajectories(np.full((2, 2, 5), np.nan, np.float32), np.array([5, 5]), np.array([0, 1]),
                       np.array([0.5, 0.5], np.float32))
    with pytest.raises(DataFileError, match="NaN"):
        write_trajectories(tmp_path / "bad.h5", bad)
    assert not any(tmp_path.iterdir())


def _five_class(n: int = 10) -> Trajectories:
    rng = np.random.default_rng(3)
    traj = np.cumsum(rng.standard_normal((n, 2, 30)), axis=2).astype(np.float32)
    return Trajectories(traj, np.full(n, 30, np.int32), (np.arange(n) % 5).astype(np.int8),
                        np.ones(n, np.float32), {"class_names": list(ANDI_MODELS), "split": "test"})


def test_five_class_file_round_trips_with_its_class_names(shard, tmp_path):
    data = _five_class()
    path = tmp_path / "andi.h5"
    write_trajectories(path, data)
    back = read_trajectories(path)
    assert np.array_equal(back.labels, data.labels)
    assert back.class_names == ANDI_MODELS and back.attrs["split"] == "test"
    assert class_names_of(path) == ANDI_MODELS and class_names_of(shard[0]) == CLASS_NAMES
    assert common_class_names([path, path]) == ANDI_MODELS
    assert read_many([path, path]).class_names == ANDI_MODELS
    assert read_many([shard[0]]).class_names == CLASS_NAMES
    write_trajectories(tmp_path / "again.h5", back)  # a file read back is written with the same set
    assert class_names_of(tmp_path / "again.h5") == ANDI_MODELS


def test_a_file_without_class_names_has_the_papers(shard):
    path, _ = shard
    with h5py.File(path, "r+") as f:
        del f.attrs["class_names"]
    assert class_names_of(path) == CLASS_NAMES and read_trajectories(path).class_names == CLASS_NAMES


def test_labels_beyond_the_class_set_are_refused_naming_the_file(tmp_path):
    data = _five_class()
    data.labels[3] = 7
    with pytest.raises(DataFileError, match=r"labels out of range \[0, 4\].*found 0..7") as err:
        write_trajectories(tmp_path / "andi.h5", data)
    assert str(tmp_path / "andi.h5") in str(err.value) and not any(tmp_path.iterdir())
    data.labels[3] = 0
    write_trajectories(tmp_path / "andi.h5", data)
    _corrupt(tmp_path / "andi.h5", "labels", lambda v: v + 5)
    with pytest.raises(DataFileError, match=r"labels out of range \[0, 4\]") as err:
        read_trajectories(tmp_path / "andi.h5")
    assert str(tmp_path / "andi.h5") in str(err.value)


def test_unknown_and_mixed_class_sets_are_named(shard, tmp_path):
    data = _five_class()
    data.attrs["class_names"] = ["A", "B", "C", "D", "E"]
    with pytest.raises(DataFileError, match="not a known class set"):
        write_trajectories(tmp_path / "odd.h5", data)
    write_trajectories(tmp_path / "andi.h5", _five_class())
    with pytest.raises(DataFileError, match="differ from those of") as err:
        common_class_names([shard[0], tmp_path / "andi.h5"])
    assert str(err.value).startswith(str(tmp_path / "andi.h5"))
    with pytest.raises(DataFileError, match="differ from those of") as err:
        read_many([tmp_path / "andi.h5", shard[0]])
    assert str(err.value).startswith(str(shard[0]))


def test_preprocessing_left_pads_and_scales():
    traj = np.zeros((1, 2, 6), np.float32)
    traj[0, 0, :3] = [0, 1, 3]
    traj[0, 1, :3] = [0, -2, -1]
    x = to_model_input(traj, np.array([3]), length=8)
    assert x.shape == (1, 2, 8)
    # x: padding 0 then 0, 1, 3 -> min 0, max 3; y: padding 0 then 0, -2, -1 -> min -2, max 0.
    assert np.allclose(x[0, 0], [0, 0, 0, 0, 0, 0, 1 / 3, 1])
    assert np.allclose(x[0, 1], [1, 1, 1, 1, 1, 1, 0, 0.5])


def test_subset_index_is_a_seeded_sorted_draw_without_replacement():
    index = subset_index(1000, 100, seed=5)
    assert len(index) == 100 and len(np.unique(index)) == 100
    assert np.all(np.diff(index) > 0) and index.min() >= 0 and index.max() < 1000
    assert np.array_equal(index, subset_index(1000, 100, seed=5))
    assert not np.array_equal(index, subset_index(1000, 100, seed=6))
    # over many seeds every item is drawn with probability size / n
    counts = np.bincount(np.concatenate([subset_index(50, 10, seed=s) for s in range(2000)]), minlength=50)
    assert np.allclose(counts / 2000, 10 / 50, atol=0.04)
    for size in (None, 1000, 5000):
        assert np.array_equal(subset_index(1000, size, seed=5), np.arange(1000))
    with pytest.raises(ValueError, match="positive size"):
        subset_index(1000, 0, seed=5)

"""save/load round trips bit for bit and rejects what is not a model."""

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import fastbp


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_exact(tmp_path, dtype):
    rng = np.random.default_rng(0)
    net = fastbp.MLP([5, 7, 3], hidden="tanh", output="softmax", dtype=dtype, seed=1)
    net.fit(rng.normal(size=(20, 5)), rng.integers(0, 3, 20), epochs=2)
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = fastbp.MLP.load(path)
    assert (loaded.layers, loaded.hidden, loaded.output, loaded.loss_name, loaded.dtype) == (
        net.layers, net.hidden, net.output, net.loss_name, net.dtype)
    for a, b in zip(net.weights + net.biases, loaded.weights + loaded.biases):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    X = rng.normal(size=(4, 5))
    np.testing.assert_array_equal(net.predict(X), loaded.predict(X))


def test_save_keeps_the_given_name_and_leaves_no_temp_files(tmp_path):
    net = fastbp.MLP([2, 2], seed=0)
    net.save(tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert fastbp.MLP.load(tmp_path / "model").layers == [2, 2]


# A child that saves over `path` and is killed (SIGKILL, no cleanup possible) at the given point.
_KILLED_SAVE = """
import os, signal, sys
import numpy as np
import fastbp
from fastbp import _files
path, point = sys.argv[1], sys.argv[2]
def die(*args, **kwargs):
    if point == "mid-write":
        args[0].write(b"PK\\x03\\x04 half a model")
        args[0].flush()
    os.kill(os.getpid(), signal.SIGKILL)
if point == "mid-write":
    _files.np.savez = die
else:
    _files.os.replace = die
fastbp.MLP([40, 30, 3], seed=1).save(path)
"""


def _save_killed(path, point):
    done = subprocess.run([sys.executable, "-c", _KILLED_SAVE, str(path), point],
                          capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr


def _temp_files(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".fastbp-"))


def test_a_killed_save_keeps_the_old_model_and_the_next_save_removes_its_temp_files(tmp_path):
    path = tmp_path / "model.npz"
    old = fastbp.MLP([40, 30, 3], seed=0)
    old.save(path)
    left_before = []
    for point in ("mid-write", "before-rename"):
        _save_killed(path, point)
        left = _temp_files(tmp_path)
        # Each killed save leaves its file; each save removes the file of an earlier dead one.
        assert len(left) == 1 and left != left_before, left
        left_before = left
        np.testing.assert_array_equal(fastbp.MLP.load(path).weights[0], old.weights[0])
    new = fastbp.MLP([40, 30, 3], seed=2)
    new.save(path)
    assert _temp_files(tmp_path) == []
    np.testing.assert_array_equal(fastbp.MLP.load(path).weights[0], new.weights[0])


def test_save_removes_only_temp_files_whose_writer_is_gone(tmp_path):
    host = socket.gethostname()
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    live = tmp_path / f".fastbp-model.npz.{host}.{os.getpid()}.abcd1234.tmp"
    dead = tmp_path / f".fastbp-model.npz.{host}.{finished.pid}.abcd1234.tmp"
    other_target = tmp_path / f".fastbp-other.npz.{host}.{finished.pid}.abcd1234.tmp"
    legacy_old = tmp_path / ".fastbp-k3j_x9a1.npz.tmp"
    legacy_new = tmp_path / ".fastbp-q8w7e6r5.npz.tmp"
    unrelated = tmp_path / "notes.tmp"
    for f in (live, dead, other_target, legacy_old, legacy_new, unrelated):
        f.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(legacy_old, (two_hours_ago, two_hours_ago))
    fastbp.MLP([2, 2], seed=0).save(tmp_path / "model.npz")
    left = {p.name for p in tmp_path.iterdir()}
    assert dead.name not in left and legacy_old.name not in left
    assert {live.name, other_target.name, legacy_new.name, unrelated.name, "model.npz"} == left


def test_load_rejects_bad_files(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a readable"):
        fastbp.MLP.load(garbage)

    net = fastbp.MLP([3, 4, 2], seed=0)
    good = tmp_path / "good.npz"
    net.save(good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError):
        fastbp.MLP.load(truncated)

    with np.load(good) as data:
        arrays = dict(data)
    arrays["W0"] = np.zeros((4, 3), np.float32)
    np.savez(tmp_path / "wrong_shape.npz", **arrays)
    with pytest.raises(ValueError, match="W0"):
        fastbp.MLP.load(tmp_path / "wrong_shape.npz")

    del arrays["b1"]
    arrays["W0"] = net.weights[0]
    np.savez(tmp_path / "missing.npz", **arrays)
    with pytest.raises(ValueError, match="b1"):
        fastbp.MLP.load(tmp_path / "missing.npz")

    with pytest.raises(ValueError):
        fastbp.MLP.load(tmp_path / "does_not_exist.npz")


def _arrays_of(path):
    with np.load(path) as data:
        return dict(data)


def test_load_refuses_hostile_archives(tmp_path):
    net = fastbp.MLP([3, 4, 2], seed=0)
    good = tmp_path / "good.npz"
    net.save(good)
    arrays = _arrays_of(good)

    # compressed members could be zip bombs: a few KB claiming gigabytes
    np.savez_compressed(tmp_path / "compressed.npz", **arrays)
    with pytest.raises(ValueError, match="compressed"):
        fastbp.MLP.load(tmp_path / "compressed.npz")

    # members that are not part of a model
    np.savez(tmp_path / "extra.npz", **arrays, payload=np.zeros(3))
    with pytest.raises(ValueError, match="unexpected member 'payload.npy'"):
        fastbp.MLP.load(tmp_path / "extra.npz")

    # a pickled object array never gets unpickled
    hostile = dict(arrays, hidden=np.array([{"x": 1}], dtype=object))
    np.savez(tmp_path / "pickled.npz", **hostile)
    with pytest.raises(ValueError, match="dtype object"):
        fastbp.MLP.load(tmp_path / "pickled.npz")

    # an architecture far bigger than the file: refused before any allocation
    huge = dict(arrays, layers=np.array([10**6, 10**6, 2], dtype=np.int64))
    np.savez(tmp_path / "huge.npz", **huge)
    with pytest.raises(ValueError, match="W0"):
        fastbp.MLP.load(tmp_path / "huge.npz")

    # non-finite weights, wrong dtype, bad metadata
    for key, value, match in [("W1", np.full((4, 2), np.nan, np.float32), "NaN"),
                              ("b0", np.zeros(4, np.float64), "b0"),
                              ("dtype", np.array("float16"), "dtype"),
                              ("hidden", np.array("swish"), "architecture is invalid"),
                              ("layers", np.array([3, 0, 2]), "sizes >= 1"),
                              ("format_version", np.array(99), "format version")]:
        np.savez(tmp_path / "bad.npz", **dict(arrays, **{key: value}))
        with pytest.raises(ValueError, match=match):
            fastbp.MLP.load(tmp_path / "bad.npz")


def test_a_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    fastbp.MLP([2, 3, 1], seed=1).save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        fastbp.MLP([2, 3, 1], seed=2).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]

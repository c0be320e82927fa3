"""save/load round trips bit for bit and rejects what is not a model."""

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

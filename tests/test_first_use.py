"""The errors a new user meets first name what to do instead, and the inputs they bring (pandas
frames of nullable dtypes) are taken as the numbers they hold."""

import subprocess
import sys

import numpy as np
import pytest

import fastbp

X = np.random.default_rng(0).random((30, 4)).astype(np.float32)
LABELS = np.arange(30) % 3


def test_integer_labels_without_softmax_point_to_it():
    with pytest.raises(ValueError, match=r'expected shape \(30, 3\), got \(30,\).*output="softmax"'):
        fastbp.MLP([4, 8, 3]).fit(X, LABELS, epochs=1)


def test_string_labels_point_to_the_classifier():
    with pytest.raises(TypeError, match=r"dtype <U3.*fastbp\.sklearn\.MLPClassifier"):
        fastbp.MLP([4, 8, 3], output="softmax").fit(X, np.array(["cat", "dog", "owl"] * 10),
                                                    epochs=1)


def test_pandas_nullable_dtypes_are_numbers():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X.astype(np.float64)).astype("Float64")
    labels = pd.Series(LABELS, dtype="Int64")
    a = fastbp.MLP([4, 8, 3], output="softmax", seed=0)
    b = fastbp.MLP([4, 8, 3], output="softmax", seed=0)
    a.fit(frame, labels, epochs=2, seed=1)
    b.fit(X.astype(np.float64), LABELS, epochs=2, seed=1)
    np.testing.assert_array_equal(a.predict(frame), b.predict(X.astype(np.float64)))
    with pytest.raises(ValueError, match="X: contains NaN"):
        a.fit(frame.mask(frame > 0.9), labels, epochs=1)


def test_fastbp_sklearn_without_scikit_learn_says_how_to_install_it():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "try:\n    import fastbp.sklearn\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install scikit-learn" in out.stdout
    assert "fastbp.MLP works without it" in out.stdout


def test_early_stopping_leaves_a_finished_progress_line(capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):  # the printed fallback, whose output capsys sees
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    rng = np.random.default_rng(1)
    Xn = rng.standard_normal((200, 4))
    y = rng.standard_normal((200, 1))  # noise: the validation loss stops improving early
    history = fastbp.MLP([4, 64, 1], dtype=np.float64, seed=0).fit(
        Xn, y, epochs=500, batch_size=8, lr=0.05, validation_split=0.3, patience=3,
        verbose=True)
    assert len(history) < 500
    out = capsys.readouterr().out
    assert f"stopped early after {len(history)} of 500 epochs" in out


def test_early_stopping_fills_the_tqdm_bar():
    pytest.importorskip("tqdm")
    from fastbp.progress import EpochProgress

    progress = EpochProgress(total_epochs=100, n_samples=10)
    log = {"seconds": 0.1, "loss": 1.0, "val_loss": float("nan"), "val_accuracy": float("nan")}
    for _ in range(85):
        progress.update(log)
    progress.finished(85)
    assert progress._bar.n == progress._bar.total == 85
    assert "stopped early (85 of 100 epochs)" in progress._bar.desc
    progress.close()

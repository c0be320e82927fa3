"""Arrays that already are what the core takes skip the Python conversions (the per-call fast
path); they must be refused for the same bad contents as any other input, and give the same
results as the converted path."""

import numpy as np
import pytest

import fastbp


@pytest.fixture
def classifier():
    return fastbp.MLP([2, 4, 3], output="softmax", seed=0)


def ready(rows):
    return np.ascontiguousarray(rows, dtype=np.float32)


@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]])
def test_ready_labels_out_of_range_are_refused(classifier, labels):
    for call in (lambda T: classifier.train_step(ready([[0, 0], [1, 1]]), T, lr=0.1),
                 lambda T: classifier.loss(ready([[0, 0], [1, 1]]), T),
                 lambda T: classifier.gradients(ready([[0, 0], [1, 1]]), T)):
        with pytest.raises(ValueError, match="class label -?[0-9]+ at sample [01] is outside"):
            call(np.array(labels, dtype=np.int64))


def test_ready_bce_targets_outside_0_1_are_refused():
    net = fastbp.MLP([2, 4, 2], output="sigmoid", seed=0)
    with pytest.raises(ValueError, match=r"bce targets must lie in \[0, 1\], got 1.5"):
        net.loss(ready([[0, 0], [1, 1]]), ready([[0, 1.5], [0, 1]]))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_ready_inputs_with_nan_or_infinity_are_refused(classifier, bad):
    x = ready([[0, 0], [1, bad]])
    for call in (classifier.predict, lambda x: classifier.loss(x, np.array([0, 1])),
                 lambda x: classifier.train_step(x, np.array([0, 1]), lr=0.1)):
        with pytest.raises(ValueError, match="X: contains NaN or infinity"):
            call(x)
    with pytest.raises(ValueError, match="T: contains NaN or infinity"):
        classifier.loss(ready([[0, 0], [1, 1]]), ready([[1, 0, 0], [0, bad, 0]]))


def test_ready_and_converted_inputs_give_the_same_results(classifier):
    rng = np.random.default_rng(0)
    x64 = rng.normal(size=(9, 2))
    labels = rng.integers(0, 3, 9)
    x32 = x64.astype(np.float32)
    assert np.array_equal(classifier.predict(x32), classifier.predict(x64.tolist()))
    assert classifier.loss(x32, labels.astype(np.int64)) == classifier.loss(
        x64, labels.astype(np.int32))
    a = fastbp.MLP([2, 4, 3], output="softmax", seed=0)
    b = fastbp.MLP([2, 4, 3], output="softmax", seed=0)
    for lr in (0.1, 0.1, 0.05, 0.05):  # the same rate twice reuses the step's SGD settings
        a.train_step(x32, labels.astype(np.int64), lr=lr, momentum=0.9)
        b.train_step(x64, labels, optimizer=fastbp.SGD(lr=lr, momentum=0.9))
    for u, v in zip(a.weights, b.weights):
        np.testing.assert_array_equal(u, v)

"""Memory: creating, training and dropping models in a loop does not grow the process (the C++
side is checked for leaks by LeakSanitizer in CI; this covers the Python bindings)."""

import gc
import os

import numpy as np
import pytest

import fastbp
from conftest import make_data


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_create_train_destroy_cycles_do_not_grow_memory(tmp_path):
    rng = np.random.default_rng(0)
    X, y = make_data(rng, 64, 20, 4, "softmax_ce", labels=True)

    def cycle(i):
        net = fastbp.MLP([20, 64, 4], output="softmax", seed=i)
        net.fit(X, y, epochs=2, batch_size=16, optimizer=("sgd", "adam", "rprop")[i % 3],
                validation_split=0.25, patience=1, seed=i)
        net.train_step(X, y, optimizer=fastbp.AdamW())
        net.gradients(X, y)
        try:
            net.fit(X * 1e30, y, epochs=1, lr=1e6)
        except fastbp.DivergenceError:
            pass
        try:
            net.predict(np.zeros((2, 3)))
        except ValueError:
            pass
        if i % 50 == 0:
            net.save(tmp_path / "m.npz")
            fastbp.MLP.load(tmp_path / "m.npz")

    for i in range(300):  # warm up allocator pools and caches
        cycle(i)
    gc.collect()
    before = resident_bytes()
    for i in range(2000):
        cycle(i)
    gc.collect()
    growth = resident_bytes() - before
    # a leak of even one small buffer per cycle would exceed this over 2000 cycles
    assert growth < 4 * 2**20, f"resident memory grew by {growth / 2**20:.1f} MiB"

"""Memory: creating, training and dropping models in a loop does not grow the process (the C++
side is checked for leaks by LeakSanitizer in CI; this covers the Python bindings)."""

import gc
import os
import subprocess
import sys

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


_OUT_OF_MEMORY = """
import resource, sys
import numpy as np
import fastbp
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
try:
    fastbp.MLP([100000, 100000, 10])
except MemoryError as exc:
    print(exc)
net = fastbp.MLP([100, 10000, 10])
X = np.zeros((30000, 100), np.float32)
try:
    net.fit(X, np.zeros((30000, 10), np.float32), epochs=1, batch_size=30000)
except MemoryError as exc:
    print(exc)
print(net.predict(X[:2]).shape)  # the model is still usable
"""


@pytest.mark.skipif(sys.platform != "linux", reason="needs RLIMIT_AS")
def test_memory_error_names_the_buffer_and_its_size():
    done = subprocess.run([sys.executable, "-c", _OUT_OF_MEMORY], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    parameters, workspace, shape = done.stdout.strip().splitlines()
    # [100000, 100000, 10] holds 10,001,100,010 float32 values, each array padded to 64 bytes.
    assert parameters.startswith("not enough memory for the network's parameters: "
                                 "40,004,400,064 bytes (37.26 GiB)"), parameters
    assert workspace.startswith("not enough memory for the training workspace"), workspace
    assert "bytes (" in workspace
    assert shape == "(2, 10)"

"""fastbp in child processes after its parent trained on several threads: forked children must not
wait for OpenMP threads that do not exist there (they used to hang forever), spawned ones keep
their threads, and every child computes what the same work gives serially.

Each scenario runs in a fresh interpreter (fork_scenarios.py) under a timeout, so a regression
fails here instead of stalling the test run.
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

SCENARIOS = os.path.join(os.path.dirname(__file__), "fork_scenarios.py")
TIMEOUT = 180  # the scenario's own pools give up after 60 s

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork start method: Linux only")


def run_scenario(scenario, method, threads):
    # A session of its own, so a hung scenario is killed with every child it forked.
    process = subprocess.Popen([sys.executable, SCENARIOS, scenario, method, str(threads)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{scenario} with {method} after {threads} parent threads hung "
                    f"(killed after {TIMEOUT} s)")
    assert process.returncode == 0, (f"{scenario} with {method} failed (exit "
                                     f"{process.returncode}):\n{stderr[-3000:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def assert_same_work(child, serial):
    np.testing.assert_allclose(child["loss"], serial["loss"], rtol=1e-10,
                               err_msg="a child's training loss differs from the serial run")
    np.testing.assert_allclose(child["prediction"], serial["prediction"], rtol=1e-10, atol=1e-13,
                               err_msg="a child's predictions differ from the serial run")


needs_two_cores = pytest.mark.skipif((os.cpu_count() or 1) < 2,
                                     reason="the parent needs two cores to run a thread team")


@needs_two_cores
@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_children_train_and_predict_after_parent_trained_on_threads(method, threads):
    out = run_scenario("pool", method, threads)
    assert out["parent_before"]["threads_used"] >= 2, "the parent never ran a thread team"
    children, serial = out["children"], out["serial"]
    assert all(c["pid"] != out["parent_pid"] for c in children)
    for child, expected in zip(children, serial):
        assert_same_work(child, expected)
        forked = method == "fork"
        assert child["threads_disabled_by_fork"] == forked
        assert child["warned"] == forked, "set_num_threads > 1 in a forked child should warn"
        if forked:
            assert child["threads_used"] == 1
        else:
            assert child["threads_used"] >= 2, f"a {method} child should keep its threads"
    # The parent keeps its threads after forking.
    assert out["parent_after"]["threads_used"] >= 2
    assert_same_work(out["parent_after"], out["parent_before"])


@needs_two_cores
def test_forked_child_that_forks_again():
    out = run_scenario("nested", "fork", 2)
    child, = out["children"]
    assert_same_work(child, out["serial"][0])
    assert_same_work(child["grandchild"], out["serial"][1])
    assert child["grandchild"]["threads_disabled_by_fork"]
    assert len({out["parent_pid"], child["pid"], child["grandchild"]["pid"]}) == 3


@needs_two_cores
def test_joblib_multiprocessing_backend_with_sklearn_estimators():
    pytest.importorskip("sklearn")
    out = run_scenario("joblib", "fork", 2)
    np.testing.assert_allclose(out["children"]["mean_test_score"],
                               out["serial"]["mean_test_score"], rtol=1e-12)

"""Child-process scenarios for test_fork.py. Each runs in a fresh interpreter,

    python fork_scenarios.py SCENARIO START_METHOD PARENT_THREADS

and prints one JSON object: what the parent and its children computed. A parent first trains on
several threads (so its OpenMP thread pool exists), then hands work to child processes.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
import warnings

import numpy as np

import fastbp

TIMEOUT = 60  # seconds a pool may take before the scenario counts as hung


def train_and_predict(seed: int) -> dict:
    """A model built, trained and evaluated from scratch: the unit of work of every process."""
    rng = np.random.default_rng(seed)
    X = rng.random((256, 48))
    y = rng.integers(0, 10, 256)
    net = fastbp.MLP([48, 64, 32, 10], hidden="tanh", output="softmax", dtype="float64",
                     seed=seed)
    fastbp.parallel.set_adapt_to_load(False)  # teams must form on a loaded machine too
    with fastbp.parallel.threads_used() as used:
        history = net.fit(X, y, epochs=2, batch_size=32, lr=0.05, seed=seed)
        prediction = net.predict(X)
    return {"loss": history.loss[-1], "prediction": prediction.ravel()[::97].tolist(),
            "threads_used": used.count, "pid": os.getpid(),
            "threads_disabled_by_fork": fastbp.parallel.threads_disabled_by_fork()}


def setup_child(threads: int) -> None:
    """Pool initializer: the parent's settings, and whether asking for threads warned."""
    fastbp.parallel.set_parallel_threshold(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fastbp.set_num_threads(threads)
    os.environ["FASTBP_TEST_CHILD_WARNED"] = str(
        any(issubclass(w.category, RuntimeWarning) for w in caught))


def child_work(seed: int) -> dict:
    result = train_and_predict(seed)
    result["warned"] = os.environ.get("FASTBP_TEST_CHILD_WARNED") == "True"
    return result


def in_process(context, function, *args):
    """function(*args) in a new (non-daemonic, so it may fork again) process of `context`."""
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_send_result, args=(sender, function, args))
    process.start()
    if not receiver.poll(TIMEOUT):
        process.kill()
        raise TimeoutError(f"{function.__name__} did not finish within {TIMEOUT} s")
    result = receiver.recv()
    process.join()
    return result


def _send_result(sender, function, args):
    sender.send(function(*args))


def child_that_forks(threads: int, seed: int) -> dict:
    """Trains, then forks a grandchild that trains too."""
    setup_child(threads)
    result = child_work(seed)
    result["grandchild"] = in_process(mp.get_context("fork"), train_and_predict, seed + 100)
    return result


def sklearn_grid_search(n_jobs: int) -> dict:
    from joblib import parallel_backend
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV

    from fastbp.sklearn import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16, y[:600]
    search = GridSearchCV(MLPClassifier(hidden_layer_sizes=(32,), max_iter=20, random_state=0,
                                        dtype="float64"),
                          {"alpha": [1e-4, 1e-1]}, cv=3, n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after 20 epochs
        with parallel_backend("multiprocessing"):
            search.fit(X, y)
    return {"mean_test_score": search.cv_results_["mean_test_score"].tolist()}


def main() -> None:
    scenario, method, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    fastbp.set_num_threads(threads)
    fastbp.parallel.set_parallel_threshold(0)
    out: dict = {"parent_before": train_and_predict(0), "parent_pid": os.getpid()}
    context = mp.get_context(method)
    seeds = [1, 2]
    if scenario == "pool":
        with context.Pool(2, initializer=setup_child, initargs=(threads,)) as pool:
            out["children"] = pool.map_async(child_work, seeds).get(TIMEOUT)
    elif scenario == "nested":
        out["children"] = [in_process(context, child_that_forks, threads, seeds[0])]
        seeds = [seeds[0], seeds[0] + 100]
    elif scenario == "joblib":
        out["children"] = sklearn_grid_search(n_jobs=2)
        out["serial"] = sklearn_grid_search(n_jobs=1)
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    if scenario != "joblib":
        out["serial"] = [train_and_predict(seed) for seed in seeds]
    out["parent_after"] = train_and_predict(0)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

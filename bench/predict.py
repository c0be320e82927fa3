#!/usr/bin/env python3
"""Inference: fastbp's `predict` (returning a new array, into a given one with `out=`, and
through `fastbp.Predictor`, which packs the weights once) against ONNX Runtime running the same
network (exported by `MLP.to_onnx`) and PyTorch (`inference_mode`, the network from
`to_torch`), float32, on the same threads, at batch 1, 64
and 4096. Interleaved repeats, medians of rows/s; a results file
in bench/results/ like compare.py's.

    python bench/predict.py                      # [784,256,128,10] relu/softmax (mnist-mlp)
    python bench/predict.py --layers 64 128 10 --batches 1 360
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import (SETTLE_SECONDS, human, machine, measure,  # noqa: E402
                     require_cpus, settings, source_revision, write_results)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[784, 256, 128, 10])
    parser.add_argument("--hidden", default="relu")
    parser.add_argument("--output", default="softmax")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 4096])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one repeat")
    parser.add_argument("--results", type=Path, help="the results file to write")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import numpy as np

    import fastbp

    require_cpus(args.threads)
    fastbp.set_num_threads(args.threads)
    net = fastbp.MLP(args.layers, hidden=args.hidden, output=args.output, seed=0)
    frozen = fastbp.Predictor(net)
    peers, versions, notes = {}, {"fastbp": fastbp.__version__, "numpy": np.__version__}, []
    try:
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(net.to_onnx().SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        peers["onnxruntime"] = lambda x: session.run(None, {"X": x})[0]
        versions["onnxruntime"] = ort.__version__
    except ImportError as exc:
        notes.append(f"onnxruntime: skipped ({exc})")
    try:
        import torch
        model = net.to_torch().eval()

        def torch_predict(x):
            torch.set_num_threads(args.threads)
            with torch.inference_mode():
                return model(torch.from_numpy(x)).numpy()
        peers["torch"] = torch_predict
        versions["torch"] = torch.__version__
    except ImportError as exc:
        notes.append(f"torch: skipped ({exc})")

    record = {"kind": "predict",
              "command": " ".join([*settings(), "python", "bench/predict.py", *sys.argv[1:]]),
              "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "commit": source_revision(), "machine": machine(), "versions": versions,
              "threads": args.threads, "layers": args.layers, "hidden": args.hidden,
              "output": args.output, "repeats": args.repeats,
              "seconds_per_repeat": args.seconds, "notes": notes, "batches": []}
    print(f"# predict {args.layers} {args.hidden}/{args.output}, float32, {args.threads} "
          f"thread(s); " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    rng = np.random.default_rng(0)
    for batch in args.batches:
        x = rng.standard_normal((batch, args.layers[0]), dtype=np.float32)
        want = net.predict(x)
        out = np.empty_like(want)
        calls = {"fastbp": net.predict,
                 "fastbp out=": lambda x, out=out: net.predict(x, out=out),
                 "fastbp Predictor out=": lambda x, out=out: frozen.predict(x, out=out), **peers}
        np.testing.assert_array_equal(frozen.predict(x), want)
        for name, call in peers.items():  # the same function, or the comparison means nothing
            np.testing.assert_allclose(call(x), want, rtol=1e-4, atol=1e-5, err_msg=name)
        rates: dict = {name: [] for name in calls}
        for _ in range(args.repeats):
            for name, call in calls.items():
                time.sleep(SETTLE_SECONDS)
                def rows(call=call):  # measure() adds up what this returns
                    call(x)
                    return batch
                rates[name].append(measure(rows, args.seconds))
        medians = {name: statistics.median(r) for name, r in rates.items()}
        record["batches"].append({"batch": batch, "rows_per_second": rates, "median": medians})
        line = ", ".join(f"{k} {human(v)} rows/s ({batch / v * 1e6:.1f} µs a call)"
                         for k, v in medians.items())
        print(f"# batch {batch}: {line}", flush=True)
    write_results(record, args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

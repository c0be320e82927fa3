"""fastbp.cpu_info(): what the library found out about the CPU and chose from it, and the
FASTBP_GEMM_BLOCKING override that tuning experiments use (in a child, as it is read once)."""

import json
import os
import subprocess
import sys

import fastbp


def test_cpu_info_reports_the_active_level_and_its_blocking():
    info = fastbp.cpu_info()
    assert info["simd_level"] == fastbp.simd_level()
    assert info["blocking_source"] in ("built in", "FASTBP_GEMM_BLOCKING")
    for dtype, width in (("gemm_float32", 4), ("gemm_float64", 8)):
        b = info[dtype]
        assert b["mr"] >= 1 and b["nr"] >= 1 and b["kc"] >= 1
        assert b["mc"] % b["mr"] == 0 and b["nc"] % b["nr"] == 0
        if info["simd_level"] in ("avx2", "avx512"):
            vector = 32 if info["simd_level"] == "avx2" else 64
            assert b["nr"] == 2 * vector // width  # two vectors a tile row
    assert info["threads"] == fastbp.get_num_threads()
    assert all(info[k] >= 0 for k in ("l1d_bytes", "l2_bytes", "l3_bytes"))
    assert info["shared_panel_elements"] >= 1


CHILD = """
import json, numpy as np, fastbp
rng = np.random.default_rng(0)
net = fastbp.MLP([70, 33, 5], hidden="tanh", output="softmax", dtype="float64", seed=0)
X = rng.normal(size=(300, 70))
h = np.tanh(X @ net.weights[0] + net.biases[0]) @ net.weights[1] + net.biases[1]
e = np.exp(h - h.max(1, keepdims=True))
error = float(np.abs(net.predict(X) - e / e.sum(1, keepdims=True)).max())
print(json.dumps({"info": fastbp.cpu_info(), "error": error}))
"""


def test_the_blocking_override_takes_effect_and_keeps_results_right():
    env = dict(os.environ, FASTBP_GEMM_BLOCKING="mc=7,kc=5,nc=0,junk,qc=9,panel=1000")
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                         check=True).stdout
    child = json.loads(out)
    info, built_in = child["info"], fastbp.cpu_info()
    if info["simd_level"] == "reference":  # the reference set keeps its odd tile
        return
    b = info["gemm_float64"]
    assert info["blocking_source"] == "FASTBP_GEMM_BLOCKING"
    assert b["kc"] == 5 and b["mc"] == -(-7 // b["mr"]) * b["mr"]
    assert b["nc"] == built_in["gemm_float64"]["nc"]  # 0 is ignored
    assert info["shared_panel_elements"] == 1000
    assert child["error"] < 1e-12  # many k- and m-blocks, the same function

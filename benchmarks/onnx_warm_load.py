"""Warm ``polyhub.load`` of a cached ~100 MB ONNX model against ``onnxruntime.InferenceSession``.

Run: .venv/bin/python benchmarks/onnx_warm_load.py [--mib 100] [--runs 9]

A folder hub holds one model with a large initializer. The first ``polyhub.load``
fills the cache (not timed). Then, alternating to share any drift between them,
each run times ``polyhub.load("onnx:big", device="cpu")`` (address parsing,
manifest, plan, cache lookup, content detection, external-data check, session)
and ``onnxruntime.InferenceSession(<the same cached file>)`` with the same
provider. Prints the medians and their ratio. Target: overhead at most 5%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def make_model(mib: int):  # type: ignore[no-untyped-def]
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    side = int((mib * 2**20 / 4) ** 0.5)
    weight = np.random.default_rng(0).standard_normal((side, side), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, side])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, side])],
        initializer=[numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="polyhub-bench-"))
    os.environ["POLYHUB_HOME"] = str(work / "home")
    os.environ["POLYHUB_DISABLE_PROGRESS_BARS"] = "1"

    import onnxruntime
    import polyhub
    from polyhub_onnx.demo import HubModel, write_hub

    hub = work / "hub"
    hub.mkdir()
    write_hub(hub, [HubModel("big", make_model(args.mib), data=False)])
    address = polyhub.parse_address("onnx:big", hub=str(hub))
    path = polyhub.api.download(address)  # warm the cache
    size = path.stat().st_size
    polyhub.load(address, device="cpu")  # warm the plugin manager and the provider probes
    onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    ours: list[float] = []
    base: list[float] = []
    for _ in range(args.runs):
        start = time.perf_counter()
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        base.append(time.perf_counter() - start)
        del session
        start = time.perf_counter()
        session = polyhub.load(address, device="cpu")
        ours.append(time.perf_counter() - start)
        assert session.get_providers() == ["CPUExecutionProvider"]
        del session
    b, o = statistics.median(base), statistics.median(ours)
    print(f"model: {size / 2**20:.1f} MiB at {path}")
    print(
        f"onnxruntime.InferenceSession(path): median {b * 1000:8.1f} ms (baseline, {args.runs} runs)"
    )
    print(f"polyhub.load('onnx:big', cpu)     : median {o * 1000:8.1f} ms")
    print(
        f"ratio {o / b:.3f} (overhead {(o - b) * 1000:+.1f} ms, {100 * (o / b - 1):+.1f}%; target <= +5%)"
    )


if __name__ == "__main__":
    main()

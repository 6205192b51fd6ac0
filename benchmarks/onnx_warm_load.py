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
import gc
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
    path = polyhub.download(address)  # warm the cache
    size = path.stat().st_size
    polyhub.load(address, device="cpu")  # warm the plugin manager and the provider probes
    onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    ours: list[float] = []
    base: list[float] = []

    def plain() -> object:
        return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def ours_load() -> object:
        return polyhub.load(address, device="cpu")

    for run in range(args.runs):
        # Swap the order every run, so freeing the previous 100 MB session
        # (and any drift on a shared machine) weighs on both sides alike.
        order = [(plain, base), (ours_load, ours)]
        for make, times in order if run % 2 == 0 else order[::-1]:
            gc.collect()
            start = time.perf_counter()
            session = make()
            times.append(time.perf_counter() - start)
            del session
    # polyhub's own steps, timed alone: steadier than a difference of two noisy
    # medians on a busy machine.
    from polyhub._api import detect_format
    from polyhub_onnx.external import check_external_data

    steps: list[float] = []
    for _ in range(args.runs):
        start = time.perf_counter()
        polyhub.plan(address, device="cpu")
        detect_format(polyhub.download(address))
        check_external_data(path)
        steps.append(time.perf_counter() - start)
    b, o = statistics.median(base), statistics.median(ours)
    own = statistics.median(steps)
    print(f"model: {size / 2**20:.1f} MiB at {path}")
    print(f"fastest run: {min(base) * 1000:.1f} ms plain, {min(ours) * 1000:.1f} ms polyhub")
    print(
        f"onnxruntime.InferenceSession(path): median {b * 1000:8.1f} ms (baseline, {args.runs} runs)"
    )
    print(f"polyhub.load('onnx:big', cpu)     : median {o * 1000:8.1f} ms")
    print(
        f"ratio {o / b:.3f} (overhead {(o - b) * 1000:+.1f} ms, {100 * (o / b - 1):+.1f}%; target <= +5%)"
    )
    print(
        f"polyhub's own steps (resolve, plan, cache lookup, detect, external-data check): "
        f"median {own * 1000:.1f} ms = {100 * own / b:.2f}% of the session"
    )


if __name__ == "__main__":
    main()

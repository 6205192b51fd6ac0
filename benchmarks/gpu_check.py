"""On a machine with an NVIDIA GPU: load models onto it through polyhub, and against the frameworks.

Run: .venv/bin/python benchmarks/gpu_check.py [--mib 64] [--runs 5]

Checks, each printed as one line with polyhub's and the framework's own median
load time and their ratio, then one inference:

* ONNX: a folder hub holding one model with a ``--mib`` MiB initializer;
  ``polyhub.load("onnx:big", device="gpu")`` against
  ``onnxruntime.InferenceSession(<the same cached file>, providers=["CUDAExecutionProvider"])``.
  onnxruntime-gpu lists ``CUDAExecutionProvider`` even where CUDA cannot run and then
  silently falls back to the CPU, so both sessions must report CUDA in
  ``session.get_providers()``, and the outputs must match a numpy reference.
* MegEngine: the plugin's demo repository (a ``hubconf.py`` with ``@hub.pretrained``
  weights over loopback HTTP) loaded with ``device="gpu"``; the model's parameters
  must live on ``gpu0``, and the output must match the same model on the CPU.

On a machine without an NVIDIA GPU (no ``nvidia-smi``, or it lists none) it says
so and exits 0. Exit 1 when a check fails on a machine that has a GPU.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any


def gpu_names() -> list[str]:
    """The GPUs ``nvidia-smi`` lists; empty when it is missing or lists none."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def paired(
    ours: Callable[[], Any], theirs: Callable[[], Any], runs: int
) -> tuple[float, Any, float, Any]:
    """Median seconds and last result of each call, run in turn so drift hits both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    results: list[Any] = [None, None]
    for _ in range(runs):
        for i, call in enumerate((ours, theirs)):
            start = time.perf_counter()
            results[i] = call()
            times[i].append(time.perf_counter() - start)
    return statistics.median(times[0]), results[0], statistics.median(times[1]), results[1]


def check_onnx(root: Path, mib: int, runs: int, device: str) -> bool:
    import numpy as np
    import onnxruntime as ort
    import polyhub
    from onnx import numpy_helper
    from onnx_warm_load import make_model  # the same one-MatMul model (benchmarks/ is on sys.path)
    from polyhub_onnx.demo import HubModel, write_hub

    model = make_model(mib)
    weight = numpy_helper.to_array(model.graph.initializer[0])
    side = weight.shape[0]
    hub = root / "onnx-hub"
    write_hub(hub, [HubModel("big", model)])
    path = polyhub.download("onnx:big", hub=str(hub))
    x = np.random.default_rng(1).standard_normal((1, side), dtype=np.float32)
    reference = x @ weight

    provider = "CUDAExecutionProvider" if device == "gpu" else "CPUExecutionProvider"
    ours_t, ours, theirs_t, theirs = paired(
        lambda: polyhub.load("onnx:big", hub=str(hub), device=device),
        lambda: ort.InferenceSession(str(path), providers=[provider]),
        runs,
    )
    ok = True
    for who, session in (("polyhub", ours), ("onnxruntime", theirs)):
        providers = session.get_providers()
        if providers[0] != provider:
            print(f"FAIL onnx: the {who} session runs on {providers}, not {provider}")
            ok = False
            continue
        out = session.run(None, {"x": x})[0]
        if not np.allclose(out, reference, rtol=1e-3, atol=1e-3):
            print(f"FAIL onnx: the {who} session's output differs from numpy")
            ok = False
    print(
        f"onnx: {mib} MiB model on {provider}: polyhub {ours_t * 1000:.1f} ms, "
        f"InferenceSession {theirs_t * 1000:.1f} ms, ratio {ours_t / theirs_t:.3f}; "
        f"providers {ours.get_providers()}"
    )
    return ok


def check_megengine(root: Path, runs: int, device: str) -> bool:
    import megengine
    import numpy as np
    import polyhub
    from polyhub._demo import serve_directory
    from polyhub_megengine.demo import build_demo

    directory = root / "megengine-hub"
    directory.mkdir()
    case = build_demo(directory)
    probe = np.linspace(-1.0, 1.0, 8, dtype="float32").reshape(1, 8)
    options = {**case.options, "device": device}
    target = "gpu0" if device == "gpu" else "cpu0"
    with serve_directory(directory) as base:
        os.environ.update({k: v.format(base_url=base) for k, v in case.env.items()})
        cpu_model = polyhub.load(case.address, **{**case.options, "device": "cpu"})
        weights = next(p for p in directory.rglob("*.pkl"))
        ours_t, model, theirs_t, _ = paired(
            lambda: polyhub.load(case.address, **options),
            lambda: megengine.load(str(weights), map_location=target),
            runs,
        )
    devices = {str(p.device) for p in model.parameters()}
    # On the CPU MegEngine names the default device "xpux"; a GPU is "gpu<N>".
    ok = all(d.startswith("gpu") == (device == "gpu") for d in devices)
    if not ok:
        print(f"FAIL megengine: parameters live on {sorted(devices)}, not {target}")
    model.eval()
    cpu_model.eval()
    # Inputs go where the parameters are (MegEngine compares devices by name).
    out = model(megengine.tensor(probe, device=next(iter(model.parameters())).device)).numpy()
    cpu_device = next(iter(cpu_model.parameters())).device
    expected = cpu_model(megengine.tensor(probe, device=cpu_device)).numpy()
    if not np.allclose(out, expected, rtol=1e-4, atol=1e-5):
        print(f"FAIL megengine: the {target} output differs from the CPU output")
        ok = False
    print(
        f"megengine: demo repo on {target}: polyhub.load {ours_t * 1000:.1f} ms "
        f"(hubconf + weights, warm), megengine.load of the weights {theirs_t * 1000:.1f} ms; "
        f"devices {sorted(devices)}"
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="size of the ONNX model's weight")
    parser.add_argument("--runs", type=int, default=5, help="timed loads per side")
    parser.add_argument(
        "--device",
        choices=("gpu", "cpu"),
        default="gpu",
        help="cpu runs the same checks on the CPU (to try the script where there is no GPU)",
    )
    args = parser.parse_args(argv)
    if args.device == "gpu":
        gpus = gpu_names()
        if not gpus:
            print("no NVIDIA GPU on this machine (nvidia-smi lists none): nothing to check")
            return 0
        print(f"GPUs: {', '.join(gpus)}")
    warnings.simplefilter("ignore")  # framework start-up noise; polyhub's errors still raise
    ok = True
    with tempfile.TemporaryDirectory(prefix="polyhub-gpu-check-") as tmp:
        os.environ["POLYHUB_HOME"] = str(Path(tmp) / "home")
        os.environ["POLYHUB_DISABLE_PROGRESS_BARS"] = "1"
        for name, check in (
            ("onnx", lambda: check_onnx(Path(tmp), args.mib, args.runs, args.device)),
            ("megengine", lambda: check_megengine(Path(tmp), args.runs, args.device)),
        ):
            try:
                ok = check() and ok
            except Exception as exc:  # report every check, then fail
                print(f"FAIL {name}: {type(exc).__name__}: {exc}")
                ok = False
    print(f"{args.device} check: all passed" if ok else f"{args.device} check: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

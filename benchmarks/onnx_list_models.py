"""``polyhub.list_models("onnx")`` over the real 184-entry zoo manifest, from the cache.

Run: .venv/bin/python benchmarks/onnx_list_models.py [--runs 50]

The real manifest (plugins/onnx/tests/data/ONNX_HUB_MANIFEST.json) is served
once from a loopback HTTP server, which fills polyhub's index cache; the
server is then stopped and every timed call runs offline, from the cache.
Baseline, in the same run: ``json.load`` of the same file. Also times a folder
hub (the manifest read from disk on every call). Target: under 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[1] / "plugins/onnx/tests/data/ONNX_HUB_MANIFEST.json"


def median_ms(call: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs

    work = Path(tempfile.mkdtemp(prefix="polyhub-bench-"))
    os.environ["POLYHUB_HOME"] = str(work / "home")
    hub = work / "hub"
    hub.mkdir()
    shutil.copy(MANIFEST, hub / "ONNX_HUB_MANIFEST.json")

    import polyhub
    from polyhub._demo import serve_directory

    with serve_directory(hub) as url:
        assert len(polyhub.list_models("onnx", hub=url)) == 184  # fills the index cache

    def from_cache() -> object:
        cards = polyhub.list_models("onnx", hub=url, offline=True)
        assert len(cards) == 184
        return cards

    def from_folder() -> object:
        return polyhub.list_models("onnx", hub=str(hub))

    def baseline() -> object:
        with open(MANIFEST, encoding="utf-8") as f:
            return json.load(f)

    base = median_ms(baseline, runs)
    cached = median_ms(from_cache, runs)
    folder = median_ms(from_folder, runs)
    filtered = median_ms(
        lambda: polyhub.list_models("onnx", hub=url, offline=True, model="mnist", tags=["vision"]),
        runs,
    )
    print(f"json.load(manifest)                        : {base:6.2f} ms (baseline, {runs} runs)")
    print(
        f"list_models('onnx') from the index cache   : {cached:6.2f} ms  ratio {cached / base:5.1f}  (target < 20 ms)"
    )
    print(
        f"list_models(model='mnist', tags=['vision']): {filtered:6.2f} ms  ratio {filtered / base:5.1f}"
    )
    print(
        f"list_models('onnx') from a folder hub      : {folder:6.2f} ms  ratio {folder / base:5.1f}"
    )


if __name__ == "__main__":
    main()

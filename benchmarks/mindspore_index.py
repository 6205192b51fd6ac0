"""Building the index of the real 2,915-card MindSpore Hub tree (cold) and listing from it (warm).

Run: .venv/bin/python benchmarks/mindspore_index.py [--runs 5]

Cold: ``list_models("mindspore", hub=<tree>)`` in a fresh polyhub home reads and
parses every card and writes the JSON index. Warm (disk): the in-process memo
is dropped, so the JSON is read again and the cards rebuilt. Warm (memory): a
second call in the same process. The baseline, measured in the same run, is
reading the bytes of every card (the I/O floor of any cold build). Targets:
cold under 5 s, warm under 50 ms.

First call in a new process (the figure of issue 12): a fresh interpreter with
the index on disk loads the plugins (not timed), then times one
``list_models``; its baseline, alternating in the same run, is a fresh
interpreter timing the read of the stored index file's bytes (the floor).
Target <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST_CALL = """
import sys, time, polyhub
polyhub.list_plugins()  # plugin start-up is not what is measured
start = time.perf_counter()
n = len(polyhub.list_models("mindspore", hub=sys.argv[1]))
print(n, time.perf_counter() - start)
"""
READ_FLOOR = """
import sys, time
from pathlib import Path
start = time.perf_counter()
n = sum(len(p.read_bytes()) for p in Path(sys.argv[1]).rglob("*.marshal"))
print(n, time.perf_counter() - start)
"""


def _child(code: str, arg: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", code, arg], capture_output=True, text=True, check=True
    )
    return float(done.stdout.split()[-1])


TREE = Path(__file__).resolve().parents[1] / ".." / "shared" / "realdata" / "mindspore-hub"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tree", type=Path, default=TREE)
    args = parser.parse_args()
    os.environ["POLYHUB_DISABLE_PROGRESS_BARS"] = "1"
    import polyhub
    from polyhub_mindspore import index

    files = sorted((args.tree / "assets").rglob("*.md"))
    polyhub.list_plugins()  # plugin start-up is not what is measured

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    cold, disk, memory, floor = [], [], [], []
    count = 0
    for _ in range(args.runs):
        os.environ["POLYHUB_HOME"] = tempfile.mkdtemp(prefix="ms-index-")
        index._MEMO.clear()
        floor.append(timed(lambda: [p.read_bytes() for p in files]))
        cold.append(timed(lambda: polyhub.list_models("mindspore", hub=str(args.tree))))
        index._MEMO.clear()
        disk.append(timed(lambda: polyhub.list_models("mindspore", hub=str(args.tree))))
        memory.append(timed(lambda: polyhub.list_models("mindspore", hub=str(args.tree))))
        count = len(polyhub.list_models("mindspore", hub=str(args.tree)))
    med = {
        k: statistics.median(v) * 1000
        for k, v in (("cold", cold), ("disk", disk), ("memory", memory), ("floor", floor))
    }
    print(f"{count} cards listed of {len(files)} files, {args.runs} runs, medians")
    print(f"read all card bytes (baseline) {med['floor']:8.1f} ms")
    print(
        f"cold build + list              {med['cold']:8.1f} ms  ratio to baseline {med['cold'] / med['floor']:.1f}  target < 5000 ms: {'OK' if med['cold'] < 5000 else 'MISSED'}"
    )
    print(
        f"warm list (index from disk)    {med['disk']:8.1f} ms  ratio to baseline {med['disk'] / med['floor']:.2f}  target < 50 ms: {'OK' if med['disk'] < 50 else 'MISSED'}"
    )
    print(
        f"warm list (same process)       {med['memory']:8.1f} ms  ratio to baseline {med['memory'] / med['floor']:.2f}  target < 50 ms: {'OK' if med['memory'] < 50 else 'MISSED'}"
    )
    first, floor = [], []
    home = os.environ["POLYHUB_HOME"]
    for _ in range(args.runs * 2):
        first.append(_child(FIRST_CALL, str(args.tree)))
        floor.append(_child(READ_FLOOR, str(Path(home) / "plugins" / "mindspore" / "index")))
    f, r = statistics.median(first) * 1000, statistics.median(floor) * 1000
    print(f"new process: read the stored index's bytes (baseline) {r:8.1f} ms")
    print(
        f"new process: first list_models (index on disk)       {f:8.1f} ms  ratio to baseline {f / r:.1f}  target <= 50 ms: {'OK' if f <= 50 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()

"""Building the index of the real 2,915-card MindSpore Hub tree (cold) and listing from it (warm).

Run: .venv/bin/python benchmarks/mindspore_index.py [--runs 5]

Cold: ``list_models("mindspore", hub=<tree>)`` in a fresh polyhub home reads and
parses every card and writes the JSON index. Warm (disk): the in-process memo
is dropped, so the JSON is read again and the cards rebuilt. Warm (memory): a
second call in the same process. The baseline, measured in the same run, is
reading the bytes of every card (the I/O floor of any cold build). Targets:
cold under 5 s, warm under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

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


if __name__ == "__main__":
    main()

"""Start-up cost: ``import polyhub``, ``polyhub --help`` and ``polyhub plugins``, against a bare interpreter.

Run: .venv/bin/python benchmarks/core_startup.py [--runs N]

Each command and the baseline ``python -c pass`` are run in turn (alternating,
so a machine busy with other work slows all of them alike); medians and the
difference to the baseline are printed with the targets of issue 12:
``import polyhub`` +50 ms, ``--help`` +80 ms, ``plugins`` +150 ms at most.
Byte-compiled files must exist (run each command once first; with
``PYTHONDONTWRITEBYTECODE=1`` every run compiles the sources again).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def _seconds(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    py = sys.executable
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    commands = {
        "python -c pass": ([py, "-c", "pass"], None),
        "import polyhub": ([py, "-c", "import polyhub"], 50.0),
        "polyhub --help": ([py, "-m", "polyhub", "--help"], 80.0),
        "polyhub plugins": ([py, "-m", "polyhub", "plugins"], 150.0),
    }
    for cmd, _ in commands.values():
        _seconds(cmd)  # byte-compile, warm the page cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (cmd, _) in commands.items():
            times[name].append(_seconds(cmd))
    base = statistics.median(times["python -c pass"])
    print(
        f"{'python -c pass':16}: {base * 1000:7.1f} ms (baseline), medians of {runs} alternating runs"
    )
    for name, (_, target) in commands.items():
        if target is None:
            continue
        med = statistics.median(times[name])
        extra = (med - base) * 1000
        print(
            f"{name:16}: {med * 1000:7.1f} ms  ratio {med / base:5.2f}  (+{extra:.1f} ms; "
            f"target +{target:.0f} ms: {'OK' if extra <= target else 'MISSED'})"
        )


if __name__ == "__main__":
    main()

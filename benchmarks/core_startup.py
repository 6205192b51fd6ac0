"""Start-up cost: ``import polyhub`` and ``polyhub --help``, against a bare interpreter.

Run: .venv/bin/python benchmarks/core_startup.py [--runs N]
Prints medians and ratios against ``python -c pass`` measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    py = sys.executable
    base = median_seconds([py, "-c", "pass"], runs)
    imp = median_seconds([py, "-c", "import polyhub"], runs)
    cli = median_seconds([py, "-m", "polyhub", "--help"], runs)
    plugins = median_seconds([py, "-m", "polyhub", "plugins"], runs)
    print(f"python -c pass        : {base * 1000:7.1f} ms (baseline)")
    print(
        f"import polyhub        : {imp * 1000:7.1f} ms  ratio {imp / base:5.2f}  (+{(imp - base) * 1000:.1f} ms)"
    )
    print(
        f"polyhub --help        : {cli * 1000:7.1f} ms  ratio {cli / base:5.2f}  (+{(cli - base) * 1000:.1f} ms)"
    )
    print(
        f"polyhub plugins       : {plugins * 1000:7.1f} ms  ratio {plugins / base:5.2f}  (+{(plugins - base) * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    main()

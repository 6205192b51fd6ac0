"""Cold download throughput of a large asset from a loopback server: polyhub against curl.

Run: .venv/bin/python benchmarks/download_vs_curl.py [--mib 1024] [--rounds 3]
Both clients fetch the same file from the same server in the same run; polyhub also
hashes it (sha256) and publishes it atomically into its cache. Target: polyhub reaches
at least 90% of curl's throughput. Needs curl on PATH and about 3x the size in /tmp.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core" / "src"))

from polyhub._cache import Cache
from polyhub._config import read_config


@contextlib.contextmanager
def serve_directory(directory: Path):
    # A separate process: a server thread inside the measured process would compete
    # with the client for the GIL, which curl (its own process) does not suffer.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("curl"):
        sys.exit("curl is not installed")
    with tempfile.TemporaryDirectory(prefix="polyhub-bench-") as tmp:
        root = Path(tmp)
        served = root / "served"
        served.mkdir()
        blob = served / "asset.bin"
        h = hashlib.sha256()
        with open(blob, "wb") as f:
            chunk = os.urandom(1 << 20)
            for i in range(args.mib):
                block = chunk[:-8] + i.to_bytes(8, "little")
                f.write(block)
                h.update(block)
        digest, size = h.hexdigest(), blob.stat().st_size
        os.environ["POLYHUB_DISABLE_PROGRESS_BARS"] = "1"
        curl_t, poly_t = [], []
        with serve_directory(served) as base:
            url = f"{base}/asset.bin"
            for r in range(args.rounds):
                # Alternate who goes first, and flush dirty pages before each transfer:
                # the disk writing back the previous gigabyte would otherwise throttle
                # whichever client runs second.
                for who in ("curl", "polyhub") if r % 2 == 0 else ("polyhub", "curl"):
                    os.sync()
                    if who == "curl":
                        out = root / "curl.out"
                        start = time.perf_counter()
                        subprocess.run(["curl", "-sS", "-o", str(out), url], check=True)
                        curl_t.append(time.perf_counter() - start)
                        out.unlink()
                    else:
                        home = root / f"home{r}"
                        os.environ["POLYHUB_HOME"] = str(home)
                        start = time.perf_counter()
                        path = Cache(read_config()).fetch(url, sha256=digest, size=size)
                        poly_t.append(time.perf_counter() - start)
                        assert path.stat().st_size == size
                        shutil.rmtree(home)
        c, p = statistics.median(curl_t), statistics.median(poly_t)
        mib = size / (1 << 20)
        print(f"asset: {mib:.0f} MiB, {args.rounds} rounds, medians")
        print(f"curl    : {c:6.2f} s  {mib / c:7.1f} MiB/s (baseline)")
        print(f"polyhub : {p:6.2f} s  {mib / p:7.1f} MiB/s  (sha256 verified, atomic publish)")
        print(f"throughput ratio polyhub/curl: {c / p:.2f} (target >= 0.90)")


if __name__ == "__main__":
    main()

"""Pull throughput from an OCI registry: polyhub's verified cache fetch vs ``curl`` of the same blob.

Starts a real CNCF Distribution server (``docker-registry``) on 127.0.0.1,
uploads one random blob, then pulls it N times each way into empty folders:

- polyhub: ``context.fetch_url("oci://HOST/REPO@sha256:...")``, i.e. the cache
  asks the oci plugin, which streams the blob from the registry, and the core
  hashes it and publishes it atomically (what a fleet node does);
- curl: ``curl -s -o FILE http://HOST/v2/REPO/blobs/sha256:...`` (no hashing), and
  ``curl ... && sha256sum FILE``, the same work polyhub does.

Run: .venv/bin/python benchmarks/oci_pull.py [--mib 256] [--runs 3]
Prints MiB/s medians and the ratio polyhub / curl measured in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_registry(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    import requests

    binary = shutil.which("docker-registry")
    if binary is None:
        raise SystemExit("docker-registry is not installed: apt-get install docker-registry")
    host = f"127.0.0.1:{_free_port()}"
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n"
        f"http:\n  addr: {host}\n"
    )
    proc = subprocess.Popen(
        [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(200):
        try:
            if requests.get(f"http://{host}/v2/", timeout=1).status_code == 200:
                return proc, host
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the registry did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="oci-bench-"))
    proc, host = start_registry(work)
    try:
        import polyhub
        from polyhub_oci.client import RegistryClient
        from polyhub_oci.reference import parse_reference

        blob = work / "blob.bin"
        with open(blob, "wb") as f:
            for _ in range(args.mib):
                f.write(os.urandom(1 << 20))
        sha = hashlib.sha256(blob.read_bytes()).hexdigest()
        ref = parse_reference(f"oci://{host}/bench/blob")
        RegistryClient(ref).upload_blob(blob, f"sha256:{sha}", blob.stat().st_size)
        size = blob.stat().st_size
        ours, theirs, verified = [], [], []
        polyhub.make_context()  # load the plugins once, outside the timing
        for i in range(args.runs):
            out = work / f"curl-{i}"
            start = time.perf_counter()
            subprocess.run(
                ["curl", "-sf", "-o", str(out), f"http://{host}/v2/bench/blob/blobs/sha256:{sha}"],
                check=True,
            )
            theirs.append(time.perf_counter() - start)
            out.unlink()
            start = time.perf_counter()
            subprocess.run(
                f"curl -sf -o {out} http://{host}/v2/bench/blob/blobs/sha256:{sha} && sha256sum {out}",
                shell=True,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            verified.append(time.perf_counter() - start)
            out.unlink()
            polyhub.set_dir(work / f"home-{i}")
            context = polyhub.make_context()
            start = time.perf_counter()
            path = context.fetch_url(f"oci://{host}/bench/blob@sha256:{sha}", sha256=sha, size=size)
            ours.append(time.perf_counter() - start)
            assert path.stat().st_size == size
            shutil.rmtree(work / f"home-{i}")
        mib = size / (1 << 20)
        a, b = statistics.median(ours), statistics.median(theirs)
        c = statistics.median(verified)
        print(f"blob                  : {mib:.0f} MiB, {args.runs} runs, registry {host}")
        print(f"curl (baseline)       : {mib / b:8.1f} MiB/s  ({b:.2f} s, no hashing)")
        print(f"polyhub oci pull      : {mib / a:8.1f} MiB/s  ({a:.2f} s, sha256 verified)")
        print(f"curl + sha256sum      : {mib / c:8.1f} MiB/s  ({c:.2f} s, verified like polyhub)")
        print(f"ratio polyhub / curl  : {b / a:8.2f}  (throughput; 1.0 = as fast as curl)")
        print(f"ratio polyhub / curl+sha256sum: {c / a:8.2f}")
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

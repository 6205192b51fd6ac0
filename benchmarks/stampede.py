"""16 processes fetch one model from a cold cache at once: one download, about one download's time.

Run: .venv/bin/python benchmarks/stampede.py [--procs 16] [--mb 64] [--rate-mb 32] [--load]

A loopback ONNX hub serves one model of ``--mb`` MiB at ``--rate-mb`` MiB/s (a
real hub is not loopback-fast; the rate makes the transfer, not process start-up,
the thing measured). The baseline, measured in the same run, is ONE process
doing the same cold ``polyhub.download`` into an empty home. Then ``--procs``
processes start together on another empty home. Printed: the wall time of each
case, their ratio (target <= 1.2), and what the server sent: GETs of the model
and bytes (target: one GET, one model's bytes).

``--load`` makes every process ``polyhub.load`` (onnxruntime session) instead:
on a 2-core machine the 16 framework imports, not the download, then dominate.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CHILD = """
import sys, polyhub
if sys.argv[2] == "start":
    polyhub.list_plugins()
elif sys.argv[2] == "load":
    polyhub.load("onnx:big-mlp", hub=sys.argv[1], device="cpu")
else:
    polyhub.download("onnx:big-mlp", hub=sys.argv[1])
"""


class Hub:
    def __init__(self, files: dict[str, bytes], rate: float) -> None:
        self.files = files
        self.model_gets = 0
        self.bytes_sent = 0
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                data = hub.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                with hub.lock:
                    hub.model_gets += self.path.endswith(".onnx")
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                step = 1 << 20
                for i in range(0, len(data), step):
                    chunk = data[i : i + step]
                    self.wfile.write(chunk)
                    with hub.lock:
                        hub.bytes_sent += len(chunk)
                    if self.path.endswith(".onnx"):
                        time.sleep(len(chunk) / rate)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        self.model_gets = self.bytes_sent = 0


def _big_model(mb: int) -> Any:
    from polyhub_onnx.demo import tiny_mlp

    features = 1024
    hidden = max(8, (mb << 20) // (4 * features))
    return tiny_mlp(13, features=features, hidden=hidden, classes=4)


def _run(procs: int, base: str, home: str, mode: str) -> float:
    env = {**os.environ, "POLYHUB_HOME": home, "POLYHUB_DISABLE_PROGRESS_BARS": "1"}
    start = time.perf_counter()
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD, base, mode], env=env) for _ in range(procs)
    ]
    codes = [c.wait() for c in children]
    elapsed = time.perf_counter() - start
    assert codes == [0] * procs, codes
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--procs", type=int, default=16)
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--rate-mb", type=float, default=32.0)
    parser.add_argument("--load", action="store_true")
    args = parser.parse_args()
    from polyhub_onnx.demo import HubModel, write_hub

    served = Path(tempfile.mkdtemp(prefix="polyhub-bench-stampede-"))
    write_hub(served, [HubModel("big-mlp", _big_model(args.mb), data=False)])
    files = {
        "/" + str(p.relative_to(served)): p.read_bytes() for p in served.rglob("*") if p.is_file()
    }
    model_bytes = sum(len(v) for k, v in files.items() if k.endswith(".onnx"))
    hub = Hub(files, args.rate_mb * (1 << 20))
    mode = "load" if args.load else "download"

    one = _run(1, hub.base, tempfile.mkdtemp(prefix="polyhub-stampede-one-"), mode)
    one_gets, one_bytes = hub.model_gets, hub.bytes_sent
    hub.reset()
    many = _run(args.procs, hub.base, tempfile.mkdtemp(prefix="polyhub-stampede-many-"), mode)
    ratio = many / one
    # Start-up floor: the same processes doing no download (imports, plugin discovery);
    # on a 2-core machine 16 interpreters starting at once take seconds by themselves.
    floor_one = _run(1, hub.base, tempfile.mkdtemp(prefix="polyhub-stampede-f1-"), "start")
    floor_many = _run(
        args.procs, hub.base, tempfile.mkdtemp(prefix="polyhub-stampede-fn-"), "start"
    )
    adjusted = (many - floor_many + floor_one) / one
    print(
        f"model: {model_bytes / (1 << 20):.1f} MiB served at {args.rate_mb:g} MiB/s; each process runs polyhub.{mode}"
    )
    print(
        f"1 process (baseline)  : {one:6.2f} s, {one_gets} model GET(s), {one_bytes / (1 << 20):7.1f} MiB sent"
    )
    print(
        f"{args.procs} processes at once: {many:6.2f} s, {hub.model_gets} model GET(s), "
        f"{hub.bytes_sent / (1 << 20):7.1f} MiB sent (all GETs, the manifests' too)"
    )
    print(
        f"start-up floor (no download): 1 process {floor_one:5.2f} s, "
        f"{args.procs} processes {floor_many:5.2f} s"
    )
    print(
        f"ratio {ratio:.2f}, less the extra start-up time of {args.procs} processes {adjusted:.2f} "
        f"(target <= 1.2: {'OK' if adjusted <= 1.2 else 'MISSED'}); "
        f"one download: {'OK' if hub.model_gets == 1 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()

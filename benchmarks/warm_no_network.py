"""A warm cache and the network: requests sent, a hub that is down, a hub that does not exist.

Run: .venv/bin/python benchmarks/warm_no_network.py [--runs 15]

Over a loopback HTTP ONNX hub (the demo hub: a real manifest and real models):

1. requests sent by 3 warm ``polyhub.load`` calls of a cached model (target 0);
2. warm ``load``, ``list_models`` and ``info`` with the hub down (nothing listens on
   its port any more), everything cached, against the same call with the hub up,
   alternating in one run (target <= 1.05x); once with the index fresh (the
   default ``POLYHUB_INDEX_TTL``), once with it expired (``POLYHUB_INDEX_TTL=0``:
   the hub is asked, refuses, and the cached copy is used with one warning);
3. a cold listing from a host name that does not resolve and from a refused
   port: seconds until the error (target < 1 s; it was 17.5 s with retries).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Site:
    """A static loopback server that counts GETs; ``stop()`` makes its port refuse."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.gets = 0
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site.gets += 1
                data = site.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", f'"{len(data)}"')
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    os.environ["POLYHUB_HOME"] = tempfile.mkdtemp(prefix="polyhub-bench-net-")
    os.environ["POLYHUB_DISABLE_PROGRESS_BARS"] = "1"
    import polyhub
    from polyhub_onnx.demo import build_demo

    served = Path(tempfile.mkdtemp(prefix="polyhub-bench-hub-"))
    build_demo(served)
    files = {
        "/" + str(p.relative_to(served)): p.read_bytes() for p in served.rglob("*") if p.is_file()
    }
    up = Site(files)
    down = Site(files)  # a second copy of the hub, stopped once its cache is warm

    calls: dict[str, Callable[[str], object]] = {
        "load": lambda base: polyhub.load("onnx:tiny-mlp", hub=base, device="cpu"),
        "list": lambda base: polyhub.list_models("onnx", hub=base),
        "info": lambda base: polyhub.info("onnx:tiny-mlp", hub=base),
    }
    for call in calls.values():
        call(up.base)
        call(down.base)
    before = up.gets
    for _ in range(3):
        calls["load"](up.base)
    sent = up.gets - before
    print(
        f"1. requests sent by 3 warm loads: {sent}  (target 0: {'OK' if sent == 0 else 'MISSED'})"
    )

    down.stop()
    print("2. warm calls, hub down vs hub up (alternating, medians of", runs, "runs)")
    for ttl, label in ((None, "index fresh"), ("0", "index expired")):
        if ttl is None:
            os.environ.pop("POLYHUB_INDEX_TTL", None)
        else:
            os.environ["POLYHUB_INDEX_TTL"] = ttl
        for name, call in calls.items():
            t_up: list[float] = []
            t_down: list[float] = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(runs):
                    for base, sink in ((up.base, t_up), (down.base, t_down)):
                        start = time.perf_counter()
                        call(base)
                        sink.append(time.perf_counter() - start)
            ratio = statistics.median(t_down) / statistics.median(t_up)
            print(
                f"   {label:13} {name:4}: up {statistics.median(t_up) * 1000:7.2f} ms, "
                f"down {statistics.median(t_down) * 1000:7.2f} ms, ratio {ratio:4.2f}  "
                f"(target <= 1.05: {'OK' if ratio <= 1.05 else 'MISSED'})"
            )
    os.environ.pop("POLYHUB_INDEX_TTL", None)

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    refused = f"http://127.0.0.1:{s.getsockname()[1]}"
    s.close()
    print("3. cold listing from a hub that cannot be reached: seconds until the error")
    for label, base in (
        ("unresolvable host", "http://no-such-hub.invalid"),
        ("refused port", refused),
    ):

        def fail(base: str = base) -> None:
            try:
                polyhub.list_models("onnx", hub=base)
            except polyhub.DownloadError:
                return
            raise AssertionError("no error")

        ms = _median_ms(fail, max(3, runs // 3))
        print(
            f"   {label:17}: {ms / 1000:6.3f} s  (target < 1 s: {'OK' if ms < 1000 else 'MISSED'})"
        )
    up.stop()


if __name__ == "__main__":
    main()

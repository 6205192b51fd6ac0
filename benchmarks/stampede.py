"""16 processes fetch one model from a cold cache at once: one download, about one download's time.

Run: .venv/bin/python benchmarks/stampede.py [--procs 16] [--mb 64] [--rate-mb 32] [--rounds 3]
     [--load] [--compile-each-time]

A loopback ONNX hub serves one model of ``--mb`` MiB at ``--rate-mb`` MiB/s (a
real hub is not loopback-fast; the rate makes the transfer, not process start-up,
the thing measured). Each round measures, on fresh homes:

- **one**: ONE process doing a cold ``polyhub.download`` (the baseline);
- **many**: ``--procs`` processes doing it at once on one empty home;
- **floor 1 / floor N**: 1 and ``--procs`` processes doing the same call on a home
  that already holds the model's blob but not the hub's index: everything a
  process of the stampede does except the download and the lock wait (interpreter,
  imports, plugins, the manifest GET, the cache lookup). On 2 cores, 16
  interpreters doing that at once take seconds by themselves, and the one that
  downloads cannot start before its own start-up got its share of the CPU.

Printed (medians over the rounds), for 1 and N processes: the wall time, the
floor, and where the time went by the server's clock: start -> the model's
GET (start-up, until one process holds the lock), the transfer, and last byte
sent -> last process done (the waiters' wake-up). Then the ratios:

- raw: many / one;
- less the extra start-up of N processes: (many - floor N + floor 1) / one,
  what the stampede costs over one download beyond N interpreters starting
  (target <= 1.2). Floors and stampedes are separate runs: on a loaded
  machine a round can swing by seconds, hence the rounds and medians;
- from the model's GET on: (many - GET N + GET 1) / one, the same question
  answered on the stampede's own processes (no floor run), so less noisy; it
  leaves out any start-up delay the stampede adds beyond the floor's.

and the GETs of the model the server counted (target 1). Last, the CPU time
(user + system, all children) a waiter of the stampede spends beyond the
floor's process: (CPU many - CPU floor N - (CPU one - CPU floor 1)) / (N - 1),
i.e. what waiting for the lock and finding the blob cost; CPU time moves far
less with the machine's load than wall time.

Children get a private bytecode cache (``PYTHONPYCACHEPREFIX``), filled by a
warm-up run, as an installed package has its ``.pyc`` files; with
``PYTHONDONTWRITEBYTECODE=1`` and a venv installed without bytecode (uv's
default) every process would compile requests, urllib3... again.
``--compile-each-time`` keeps the caller's environment as it is, to see that.

``--load`` makes every process ``polyhub.load`` (onnxruntime session) instead:
on a 2-core machine the 16 framework imports, not the download, then dominate.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

CHILD = """
import json, sys, time
started = time.time()
import polyhub
if sys.argv[2] == "load":
    polyhub.load("onnx:big-mlp", hub=sys.argv[1], device="cpu")
else:
    polyhub.download("onnx:big-mlp", hub=sys.argv[1])
print(json.dumps({"started": started, "done": time.time()}))
"""


class Hub:
    def __init__(self, files: dict[str, bytes], rate: float) -> None:
        self.files = files
        self.model_gets = 0
        self.bytes_sent = 0
        # When (time.time()) the model's GET came in and its last byte went out.
        self.get_at = self.sent_at = 0.0
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
                model = self.path.endswith(".onnx")
                with hub.lock:
                    hub.model_gets += model
                    if model:
                        hub.get_at = time.time()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                step = 1 << 20
                for i in range(0, len(data), step):
                    chunk = data[i : i + step]
                    self.wfile.write(chunk)
                    with hub.lock:
                        hub.bytes_sent += len(chunk)
                    if model:
                        time.sleep(len(chunk) / rate)
                if model:
                    hub.sent_at = time.time()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        self.model_gets = self.bytes_sent = 0
        self.get_at = self.sent_at = 0.0


def _big_model(mb: int) -> Any:
    from polyhub_onnx.demo import tiny_mlp

    features = 1024
    hidden = max(8, (mb << 20) // (4 * features))
    return tiny_mlp(13, features=features, hidden=hidden, classes=4)


class Runner:
    def __init__(self, base: str, mode: str, env: dict[str, str]) -> None:
        self.base, self.mode, self.env = base, mode, env
        self.scratch = Path(tempfile.mkdtemp(prefix="polyhub-stampede-"))

    def home(self, name: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.scratch))

    def run(self, procs: int, home: Path) -> tuple[float, float, float, float]:
        """Run ``procs`` children at once.

        :returns: wall time, start and last child done (``time.time()``), and the CPU
            time (user + system) of all the children.
        """
        env = {**self.env, "POLYHUB_HOME": str(home), "POLYHUB_DISABLE_PROGRESS_BARS": "1"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.time()
        start = time.perf_counter()
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, self.base, self.mode],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(procs)
        ]
        outs = [c.communicate()[0] for c in children]
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        assert [c.returncode for c in children] == [0] * procs
        done = max(json.loads(o.splitlines()[-1])["done"] for o in outs)
        return elapsed, started, done, cpu

    def blob_only(self, cold: Path, name: str) -> Path:
        """A copy of ``cold``'s home holding the blob, without the index or the views."""
        home = self.home(name)
        for part in ("CACHEDIR.TAG", "blobs", "stat"):
            src = cold / part
            if src.is_dir():
                shutil.copytree(src, home / part)
            else:
                shutil.copy2(src, home / part)
        return home


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--procs", type=int, default=16)
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--rate-mb", type=float, default=32.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", action="store_true")
    parser.add_argument("--compile-each-time", action="store_true")
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
    env = dict(os.environ)
    runner = Runner(hub.base, mode, env)
    if not args.compile_each_time:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(runner.scratch / "pycache")
        runner.run(1, runner.home("warm-up"))  # compiles what a cold process imports

    keys = ("one", "many", "floor1", "floorN", "get1", "getN", "xfer1", "xferN", "tail1", "tailN")
    keys += ("cpu_one", "cpu_many", "cpu_floor1", "cpu_floorN")
    rows: dict[str, list[float]] = {k: [] for k in keys}
    gets: list[tuple[int, int, int, int]] = []
    for _ in range(args.rounds):
        for n, name in ((1, "1"), (args.procs, "N")):
            hub.reset()
            home = runner.home(f"cold{name}")
            wall, started, done, cpu = runner.run(n, home)
            rows["one" if n == 1 else "many"].append(wall)
            rows["cpu_one" if n == 1 else "cpu_many"].append(cpu)
            rows[f"get{name}"].append(hub.get_at - started)
            rows[f"xfer{name}"].append(hub.sent_at - hub.get_at)
            rows[f"tail{name}"].append(done - hub.sent_at)
            if n == 1:
                cold, one_gets, one_bytes = home, hub.model_gets, hub.bytes_sent
        gets.append((one_gets, one_bytes, hub.model_gets, hub.bytes_sent))
        for n, name in ((1, "floor1"), (args.procs, "floorN")):
            wall, _, _, cpu = runner.run(n, runner.blob_only(cold, name))
            rows[name].append(wall)
            rows[f"cpu_{name}"].append(cpu)
    shutil.rmtree(runner.scratch, ignore_errors=True)
    shutil.rmtree(served, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in rows.items()}
    raw = [m / o for m, o in zip(rows["many"], rows["one"], strict=True)]
    adjusted = [
        (m - fn + f1) / o
        for m, fn, f1, o in zip(
            rows["many"], rows["floorN"], rows["floor1"], rows["one"], strict=True
        )
    ]
    # The stampede from the model's GET on (transfer, waiters' wake-up, exits), with
    # one process's start-up in front: all measured on the same processes, no floor run.
    from_get = [
        (m - gn + g1) / o
        for m, gn, g1, o in zip(rows["many"], rows["getN"], rows["get1"], rows["one"], strict=True)
    ]
    # CPU the stampede spends beyond N start-ups and one download (lock waits, the
    # waiters' checks): CPU time moves far less with the machine's load than wall time.
    extra_cpu = [
        (cm - cfn - (c1 - cf1)) / (args.procs - 1)
        for cm, cfn, c1, cf1 in zip(
            rows["cpu_many"], rows["cpu_floorN"], rows["cpu_one"], rows["cpu_floor1"], strict=True
        )
    ]
    one_download = all(g[0] == 1 and g[2] == 1 for g in gets)
    n = args.procs
    print(
        f"model: {model_bytes / (1 << 20):.1f} MiB served at {args.rate_mb:g} MiB/s; each process "
        f"runs polyhub.{mode}; {args.rounds} round(s), medians; bytecode "
        f"{'compiled by each process' if args.compile_each_time else 'cached'}"
    )
    print(f"{'':32} {'1 process':>10} {f'{n} processes':>13}")
    for label, a, b in (
        ("wall time (s)", "one", "many"),
        ("floor: same call, blob cached", "floor1", "floorN"),
        ("CPU of all processes (s)", "cpu_one", "cpu_many"),
        ("CPU of the floor (s)", "cpu_floor1", "cpu_floorN"),
        ("start -> the model's GET", "get1", "getN"),
        ("the model's transfer", "xfer1", "xferN"),
        ("last byte sent -> last done", "tail1", "tailN"),
    ):
        print(f"{label:32} {med[a]:10.2f} {med[b]:13.2f}")
    print(
        "model GETs / MiB sent per round, 1 process then "
        f"{n}: {', '.join(f'{a}/{b / (1 << 20):.0f} {c}/{d / (1 << 20):.0f}' for a, b, c, d in gets)}"
    )
    print(
        f"ratio raw {statistics.median(raw):.2f} ({', '.join(f'{r:.2f}' for r in raw)}); "
        f"less the extra start-up of {n} processes {statistics.median(adjusted):.2f} "
        f"({', '.join(f'{r:.2f}' for r in adjusted)}) "
        f"(target <= 1.2: {'OK' if statistics.median(adjusted) <= 1.2 else 'MISSED'}); "
        f"one download: {'OK' if one_download else 'MISSED'}"
    )
    print(
        f"ratio from the model's GET on (one process's start-up in front) "
        f"{statistics.median(from_get):.2f} ({', '.join(f'{r:.2f}' for r in from_get)})"
    )
    print(
        "CPU a waiter spends beyond the floor: "
        f"{statistics.median(extra_cpu) * 1000:.0f} ms ({', '.join(f'{c * 1000:.0f}' for c in extra_cpu)})"
    )


if __name__ == "__main__":
    main()

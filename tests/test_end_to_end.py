"""Across the core and the ONNX plugin: processes racing for one model, then offline use.

Scenario C1 at the level users see it: several processes ``polyhub.load`` the same
model from a cold cache at once; the hub serves the model once and every process
gets a working session. Afterwards, with the network forbidden, the same load works.
"""

from __future__ import annotations

import multiprocessing
import socket
from pathlib import Path

import pytest

polyhub_onnx_demo = pytest.importorskip("polyhub_onnx.demo", reason="polyhub-onnx is not installed")


def _load(home: str, hub_url: str, queue: multiprocessing.Queue) -> None:
    import os

    os.environ["POLYHUB_HOME"] = home
    os.environ["POLYHUB_DISABLE_PROGRESS_BARS"] = "1"
    import polyhub

    try:
        session = polyhub.load("onnx:tiny-mlp", hub=hub_url, device="cpu")
        queue.put(("ok", polyhub_onnx_demo._run_session(session)))
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(("error", repr(exc)))


def test_concurrent_loads_download_once_then_work_offline(home, hub, tmp_path, monkeypatch):
    served = tmp_path / "served"
    polyhub_onnx_demo.build_demo(served)
    for path in served.rglob("*"):
        if path.is_file():
            hub.add(str(path.relative_to(served)), path.read_bytes())
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_load, args=(str(home), hub.base, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [r[0] for r in results] == ["ok"] * 3, results
    assert len({r[1] for r in results}) == 1
    model_gets = [p for m, p, h in hub.requests if p.endswith(".onnx") and "Range" not in h]
    assert len(model_gets) == 1, model_gets
    assert not [p for p in Path(home).rglob("*") if p.suffix in (".tmp", ".part")]

    import polyhub

    def no_socket(*args, **kwargs):
        raise AssertionError("a socket was opened in offline mode")

    monkeypatch.setattr(socket.socket, "connect", no_socket)
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    session = polyhub.load("onnx:tiny-mlp", hub=hub.base, device="cpu")
    assert polyhub_onnx_demo._run_session(session) == results[0][1]
    assert len(polyhub.list_models("onnx", hub=hub.base)) >= 1

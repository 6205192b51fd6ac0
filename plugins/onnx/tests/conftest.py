"""Fixtures for the ONNX plugin's tests: an isolated polyhub home, loopback HTTP hubs, demo hubs.

Nothing here touches the internet: hubs are folders under ``tmp_path``, served
on 127.0.0.1 when a test needs HTTP, and models are made with ``onnx.helper``.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polyhub
import pytest
from polyhub_onnx.demo import HubModel, demo_models, write_hub

DATA = Path(__file__).parent / "data"
REAL_MANIFEST = DATA / "ONNX_HUB_MANIFEST.json"


@pytest.fixture(autouse=True)
def polyhub_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private polyhub home per test, and no ONNX/polyhub settings leaking in."""
    home = tmp_path / "home"
    monkeypatch.setenv("POLYHUB_HOME", str(home))
    monkeypatch.setenv("POLYHUB_DISABLE_PROGRESS_BARS", "1")
    for name in (
        "POLYHUB_ONNX_HUB",
        "POLYHUB_ONNX_FILES",
        "POLYHUB_OFFLINE",
        "POLYHUB_MIRRORS",
        "POLYHUB_REQUIRE_HASHES",
        "XDG_CACHE_HOME",
    ):
        monkeypatch.delenv(name, raising=False)
    yield home
    polyhub.set_dir(None)


@dataclass
class Server:
    """A loopback HTTP server over one folder, recording every request path."""

    root: Path
    base_url: str = ""
    requests: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> Server:
        log = self.requests

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                log.append(self.path)

        self._server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(Handler, directory=str(self.root))
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self._thread.daemon = True
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)
            self._server = None


@pytest.fixture
def serve() -> Iterator[Callable[[Path], Server]]:
    """``serve(folder)`` starts a loopback server for ``folder``; all are stopped after the test."""
    servers: list[Server] = []

    def start(root: Path) -> Server:
        server = Server(root).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def make_hub(tmp_path: Path) -> Callable[..., Path]:
    """``make_hub(models=None, name="hub")`` writes a hub folder (demo models by default)."""

    def make(models: Sequence[HubModel] | None = None, name: str = "hub") -> Path:
        folder = tmp_path / name
        folder.mkdir(parents=True, exist_ok=True)
        write_hub(folder, list(models) if models is not None else demo_models())
        return folder

    return make


@pytest.fixture
def hub_dir(make_hub: Callable[..., Path]) -> Path:
    """The demo hub as a local folder: tiny-mlp (opsets 13, 17) and add-relu (14)."""
    return make_hub()


@pytest.fixture
def real_hub(tmp_path: Path) -> Path:
    """A folder hub holding the real ONNX Model Zoo manifest (and none of its models)."""
    folder = tmp_path / "zoo"
    folder.mkdir()
    shutil.copy(REAL_MANIFEST, folder / "ONNX_HUB_MANIFEST.json")
    return folder


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Make any socket connection fail the test; returns the attempted addresses."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise AssertionError(f"a socket connection to {address} was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def _files_with_bytes(root: Path, data: bytes) -> list[Path]:
    if not root.exists():
        return []
    return [
        p
        for p in root.rglob("*")
        if p.is_file()
        and not p.is_symlink()
        and p.stat().st_size == len(data)
        and p.read_bytes() == data
    ]


@pytest.fixture
def files_with_bytes() -> Callable[[Path, bytes], list[Path]]:
    """``files_with_bytes(root, data)``: every regular file under ``root`` holding exactly ``data``."""
    return _files_with_bytes

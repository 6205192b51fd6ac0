"""Fixtures for the core's tests: an isolated polyhub home and a fault-injecting HTTP server."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polyhub.downloader
import pytest
from polyhub.plugins import reset_plugins


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh POLYHUB_HOME; no progress bars; no inherited polyhub settings."""
    import os

    for name in list(os.environ):
        if name.startswith("POLYHUB_"):
            monkeypatch.delenv(name)
    h = tmp_path / "home"
    monkeypatch.setenv("POLYHUB_HOME", str(h))
    monkeypatch.setenv("POLYHUB_DISABLE_PROGRESS_BARS", "1")
    reset_plugins(None)
    yield h
    reset_plugins(None)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the retry sleeps instead of waiting."""
    recorded: list[float] = []
    monkeypatch.setattr(polyhub.downloader, "sleep", recorded.append)
    return recorded


@dataclass
class Hub:
    """A loopback HTTP server whose misbehaviour each test scripts."""

    base: str
    files: dict[str, bytes] = field(default_factory=dict)
    # path -> queue of actions for the next GETs: ("status", code, headers) | ("cut", n)
    # | ("ignore_range",) | ("wrong_range",) | ("endless",) | ("stall", n, seconds)
    # | ("drip", n, seconds): the body n bytes at a time, a pause after each
    actions: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    etags: bool = True

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def add(self, path: str, data: bytes) -> str:
        self.files["/" + path.lstrip("/")] = data
        return self.url(path)

    def script(self, path: str, *actions: tuple[Any, ...]) -> None:
        self.actions.setdefault("/" + path.lstrip("/"), []).extend(actions)

    def gets(self, path: str) -> list[dict[str, str]]:
        return [h for m, p, h in self.requests if m == "GET" and p == "/" + path.lstrip("/")]


def _handler(hub: Hub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            hub.requests.append(("GET", path, dict(self.headers)))
            queue = hub.actions.get(path) or []
            action = queue.pop(0) if queue else ("normal",)
            data = hub.files.get(path)
            if action[0] == "status":
                body = b"scripted"
                self.send_response(action[1])
                for k, v in (action[2] if len(action) > 2 else {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            if hub.etags and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if action[0] == "endless":
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for _ in range(10_000):
                        self.wfile.write(b"x" * 65536)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True
                return
            start = 0
            rng = self.headers.get("Range")
            if rng and action[0] != "ignore_range":
                if_range = self.headers.get("If-Range")
                if not if_range or if_range == etag:
                    start = int(rng.split("=")[1].split("-")[0])
            if action[0] == "wrong_range" and rng:
                self.send_response(206)
                self.send_header("Content-Range", f"bytes 0-{len(data) - 1}/{len(data)}")
                body = data
            elif start:
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                body = data[start:]
            else:
                self.send_response(200)
                body = data
            self.send_header("Content-Length", str(len(body)))
            if hub.etags:
                self.send_header("ETag", etag)
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if action[0] == "stall":
                self.wfile.write(body[: action[1]])
                self.wfile.flush()
                import time

                time.sleep(action[2])
                self.close_connection = True
                return
            if action[0] == "drip":
                import time

                try:
                    for i in range(0, len(body), action[1]):
                        self.wfile.write(body[i : i + action[1]])
                        self.wfile.flush()
                        time.sleep(action[2])
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client went away (killed)
                return
            if action[0] == "cut":
                self.wfile.write(body[: action[1]])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Hub("")))
    h = Hub(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(h)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield h
    server.shutdown()
    server.server_close()


def _leftovers(home: Path) -> list[Path]:
    if not home.exists():
        return []
    return [p for p in home.rglob("*") if p.is_file() and p.suffix in (".tmp", ".part")]


@pytest.fixture
def leftovers() -> Any:
    """A function listing temporary or partial files left anywhere under a home."""
    return _leftovers

"""Fixtures for the ONNX plugin's tests: an isolated polyhub home, loopback HTTP hubs, demo hubs.

Nothing here touches the internet: hubs are folders under ``tmp_path``, served
on 127.0.0.1 when a test needs HTTP, and models are made with ``onnx.helper``.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from polyhub.testing import LoopbackHub, isolated_home
from polyhub_onnx.demo import HubModel, demo_models, write_hub

DATA = Path(__file__).parent / "data"
REAL_MANIFEST = DATA / "ONNX_HUB_MANIFEST.json"


@pytest.fixture(autouse=True)
def polyhub_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private polyhub home per test, and no ONNX/polyhub settings leaking in."""
    with isolated_home(tmp_path / "home", env={"XDG_CACHE_HOME": None}, patch=monkeypatch) as home:
        yield home


class Server:
    """A :class:`polyhub.testing.LoopbackHub` under the names these tests use."""

    def __init__(self, hub: LoopbackHub) -> None:
        self.hub = hub
        self.root = hub.root
        self.base_url = hub.url
        self.stop = hub.stop

    @property
    def requests(self) -> list[str]:
        """The path of every request so far, in order."""
        return self.hub.paths()


@pytest.fixture
def serve(serve_directory: Any) -> Callable[[Path], Server]:
    """``serve(folder)`` starts a loopback server for ``folder``; all are stopped after the test."""
    return lambda root: Server(serve_directory(root))


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

"""Fixtures for the core's tests: an isolated polyhub home and a fault-injecting HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polyhub._downloader
import pytest
from polyhub.testing import LoopbackHub, isolated_home


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh POLYHUB_HOME; no progress bars; no inherited polyhub settings."""
    with isolated_home(tmp_path / "home", patch=monkeypatch) as h:
        yield h


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the retry sleeps instead of waiting."""
    recorded: list[float] = []
    monkeypatch.setattr(polyhub._downloader, "sleep", recorded.append)
    return recorded


class Hub:
    """The core tests' names for a :class:`polyhub.testing.LoopbackHub` serving bytes.

    ``add(path, data)`` serves bytes, ``script(path, *actions)`` makes the next GETs
    misbehave, ``gets(path)`` lists the headers of each GET of ``path``.
    """

    def __init__(self, server: LoopbackHub) -> None:
        self.server = server
        self.base = server.url
        self.files = server.files  # path -> bytes, changed in place by tests
        self.add = server.put
        self.url = server.url_for
        self.script = server.script
        self.gets = server.gets

    @property
    def etags(self) -> bool:
        return self.server.etags

    @etags.setter
    def etags(self, value: bool) -> None:
        self.server.etags = value

    @property
    def requests(self) -> list[tuple[str, str, dict[str, str]]]:
        """``(method, path, headers)`` of every request so far."""
        return [(r.method, r.path, dict(r.headers)) for r in self.server.requests]


@pytest.fixture
def hub() -> Iterator[Hub]:
    with LoopbackHub() as server:
        yield Hub(server)


def _leftovers(home: Path) -> list[Path]:
    if not home.exists():
        return []
    return [p for p in home.rglob("*") if p.is_file() and p.suffix in (".tmp", ".part")]


@pytest.fixture
def leftovers() -> Any:
    """A function listing temporary or partial files left anywhere under a home."""
    return _leftovers

"""A warm cache touches no network; a hub that is down or unknown costs no waiting.

Over a real loopback HTTP hub (the ONNX demo hub: a real manifest and real
models), counting the requests the server sees:

- a warm ``load``, ``list_models`` and ``info`` send no request while the cached
  index is younger than ``POLYHUB_INDEX_TTL``; ``force_reload=True`` and an
  expired TTL ask again (revalidating with the ETag);
- the hub down (nothing listens on its port) and everything cached: the cached
  index is used at once (no retry sleeps), with one warning per call;
- cold, a refused port or a host name that does not resolve fails at once,
  without the backoff a 503 gets.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from polyhub import DownloadError, PolyhubWarning
from polyhub._cache import Cache
from polyhub._config import read_config
from polyhub.testing import LoopbackHub

demo = pytest.importorskip("polyhub_onnx.demo", reason="polyhub-onnx is not installed")


class Site:
    """A loopback static server (a :class:`~polyhub.testing.LoopbackHub`) that counts
    requests and can go down."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.server: LoopbackHub | None = None
        self.base = ""

    def start(self) -> None:
        self.server = LoopbackHub(files=self.files)
        self.base = self.server.url

    def stop(self) -> None:
        assert self.server is not None
        self.server.stop()

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        """``(target, headers)`` of every request so far."""
        assert self.server is not None
        return [(r.target, dict(r.headers)) for r in self.server.requests]

    def manifest_gets(self) -> int:
        return sum(1 for path, _ in self.requests if path.endswith(".json"))


@pytest.fixture
def site(home: Path, tmp_path: Path) -> Iterator[Site]:
    served = tmp_path / "served"
    demo.build_demo(served)
    files = {
        "/" + str(p.relative_to(served)): p.read_bytes() for p in served.rglob("*") if p.is_file()
    }
    s = Site(files)
    s.start()
    yield s
    s.stop()


def _polyhub_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, PolyhubWarning)]


def test_warm_load_list_and_info_send_no_request(site: Site, sleeps: list[float]) -> None:
    import polyhub

    polyhub.load("onnx:tiny-mlp", hub=site.base, device="cpu")
    cold = len(site.requests)
    assert cold >= 2  # the manifest and the model
    for _ in range(3):
        polyhub.load("onnx:tiny-mlp", hub=site.base, device="cpu")
    polyhub.list_models("onnx", hub=site.base)
    polyhub.info("onnx:tiny-mlp", hub=site.base)
    polyhub.download("onnx:tiny-mlp", hub=site.base)
    assert site.requests[cold:] == []


def test_force_reload_and_an_expired_ttl_ask_the_hub_again(
    site: Site, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    import polyhub

    polyhub.list_models("onnx", hub=site.base)
    assert site.manifest_gets() == 1
    polyhub.list_models("onnx", hub=site.base, force_reload=True)
    assert site.manifest_gets() == 2
    assert "If-None-Match" not in site.requests[-1][1]  # a reload asks for the whole index
    polyhub.list_models("onnx", hub=site.base)
    assert site.manifest_gets() == 2  # fresh again
    monkeypatch.setenv("POLYHUB_INDEX_TTL", "0")
    polyhub.list_models("onnx", hub=site.base)
    assert site.manifest_gets() == 3
    assert site.requests[-1][1].get("If-None-Match", "").startswith('"')  # revalidated


def test_a_revalidated_index_is_fresh_for_another_ttl(
    site: Site, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import polyhub

    monkeypatch.setenv("POLYHUB_INDEX_TTL", "0.5")
    polyhub.list_models("onnx", hub=site.base)
    time.sleep(0.6)
    polyhub.list_models("onnx", hub=site.base)  # expired: asks, gets a 304
    polyhub.list_models("onnx", hub=site.base)  # the 304 renewed it
    assert site.manifest_gets() == 2


def test_hub_down_uses_the_cache_at_once_with_one_warning(
    site: Site, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    import polyhub

    expected = polyhub.load("onnx:tiny-mlp", hub=site.base, device="cpu")
    expected_out = demo._run_session(expected)
    site.stop()
    monkeypatch.setenv("POLYHUB_INDEX_TTL", "0")  # the index must be revalidated
    calls = {
        "load": lambda: demo._run_session(
            polyhub.load("onnx:tiny-mlp", hub=site.base, device="cpu")
        ),
        "list": lambda: len(polyhub.list_models("onnx", hub=site.base)),
        "info": lambda: polyhub.info("onnx:tiny-mlp", hub=site.base).name,
    }
    results = {}
    for name, call in calls.items():
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            results[name] = call()
        said = _polyhub_warnings(record)
        assert len(said) == 1, (name, said)
        assert site.base.split("//")[1] in said[0] and "using the cached" in said[0]
    assert results["load"] == expected_out
    assert results["list"] >= 1 and results["info"]
    assert sleeps == []


@pytest.mark.parametrize("where", ["refused", "unresolvable"])
def test_a_cold_unreachable_hub_fails_without_retries(
    home: Path, sleeps: list[float], where: str
) -> None:
    import socket

    import polyhub

    if where == "refused":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{s.getsockname()[1]}"
        s.close()  # nothing listens there now
    else:
        base = "http://no-such-host.invalid"
    with pytest.raises(DownloadError, match="cannot connect") as info:
        polyhub.list_models("onnx", hub=base)
    assert base.split("//")[1].split(":")[0] in str(info.value)
    assert sleeps == []


def test_a_503_is_still_retried(home: Path, hub: Any, sleeps: list[float]) -> None:
    url = hub.add("index.json", b"{}")
    hub.script("index.json", ("status", 503), ("status", 503))
    assert Cache(read_config()).fetch_index(url) == b"{}"
    assert len(sleeps) == 2 and len(hub.gets("index.json")) == 3


def test_an_index_under_a_commit_never_expires(
    home: Path, hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    url = hub.add(f"{commit}/ONNX_HUB_MANIFEST.json", b"[]")
    branch = hub.add("main/ONNX_HUB_MANIFEST.json", b"[]")
    monkeypatch.setenv("POLYHUB_INDEX_TTL", "0")
    for _ in range(3):
        Cache(read_config()).fetch_index(url)
        Cache(read_config()).fetch_index(branch)
    assert len(hub.gets(f"{commit}/ONNX_HUB_MANIFEST.json")) == 1
    assert len(hub.gets("main/ONNX_HUB_MANIFEST.json")) == 3


@pytest.mark.parametrize(
    "call",
    [
        "polyhub.download('onnx:tiny-mlp', hub=BASE)",
        "polyhub.download('onnx:tiny-mlp', hub=BASE, device='gpu')",
        "polyhub.plan('onnx:tiny-mlp', hub=BASE, device='cpu')",
    ],
)
def test_download_and_a_cpu_plan_import_no_framework(site: Site, call: str) -> None:
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, sys, polyhub\n"
        f"BASE = {site.base!r}\n"
        f"print(repr({call}))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr
    loaded = {m.split(".")[0] for m in json.loads(done.stdout.splitlines()[-1])}
    assert loaded.isdisjoint({"onnxruntime", "onnx", "numpy", "mindspore", "megengine"}), loaded

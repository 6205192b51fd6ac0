"""Fixtures for the OCI plugin: a REAL registry (CNCF Distribution) on 127.0.0.1.

The Debian package ``docker-registry`` ships Distribution's server. When its
binary is missing and we are root (CI), the fixture installs it; otherwise the
tests that need it skip, saying how to get it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from polyhub.testing import LoopbackHub, isolated_home
from polyhub.testing import git as _git

BINARY = "docker-registry"


def _ensure_binary() -> str:
    found = shutil.which(BINARY)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(
            f"{BINARY} (CNCF Distribution) is not installed and we cannot install it "
            "(not root or no apt-get): apt-get install docker-registry"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", BINARY]):
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0 and args[1] == "install":
            pytest.skip(f"could not install {BINARY}: {done.stderr.strip()[-500:]}")
    found = shutil.which(BINARY)
    if not found:
        pytest.skip(f"{BINARY} installed but not on PATH")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Registry:
    """A running Distribution server: ``host`` is ``127.0.0.1:PORT``, ``storage`` its files."""

    binary: str
    root: Path
    host: str = ""
    process: subprocess.Popen[bytes] | None = None
    #: a ``user:bcrypt-hash`` line: the registry then asks for basic auth (htpasswd)
    htpasswd: str = ""

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    def start(self) -> Registry:
        port = _free_port()
        self.host = f"127.0.0.1:{port}"
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n"
        )
        if self.htpasswd:
            (self.root / "htpasswd").write_text(self.htpasswd + "\n")
            with open(config, "a") as f:
                f.write(
                    f"auth:\n  htpasswd:\n    realm: polyhub-test\n    path: {self.root / 'htpasswd'}\n"
                )
        with open(self.root / "registry.log", "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "serve", str(config)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.binary} exited: {(self.root / 'registry.log').read_text()[-2000:]}"
                )
            try:
                answer = requests.get(f"http://{self.host}/v2/", timeout=1).status_code
                if answer == 200 or (self.htpasswd and answer == 401):
                    return self
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError(f"{self.binary} did not answer on {self.host}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def blob_data(self, digest: str) -> Path:
        hexd = digest.removeprefix("sha256:")
        return self.storage / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"


@pytest.fixture(scope="session")
def registry_binary() -> str:
    return _ensure_binary()


@pytest.fixture(scope="session")
def registry(registry_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """One registry for the session (tests use distinct repositories)."""
    reg = Registry(registry_binary, tmp_path_factory.mktemp("registry")).start()
    yield reg
    reg.stop()


@pytest.fixture
def own_registry(registry_binary: str, tmp_path: Path) -> Iterator[Registry]:
    """A registry of this test alone (to tamper with, or to stop)."""
    reg = Registry(registry_binary, tmp_path / "own-registry").start()
    yield reg
    reg.stop()


@pytest.fixture(autouse=True)
def polyhub_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    env = {"DOCKER_CONFIG": str(tmp_path / "docker-config"), "XDG_CACHE_HOME": None}
    with isolated_home(tmp_path / "home", env=env, patch=monkeypatch) as home:
        from polyhub_oci import store

        store._clients.clear()
        yield home


@dataclass
class Hub:
    """A folder served on 127.0.0.1 that counts the GETs of each path (a public hub)."""

    root: Path
    url: str
    server: LoopbackHub

    @property
    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for r in self.server.requests:
            if r.method == "GET":
                found[r.path] = found.get(r.path, 0) + 1
        return found

    def gets(self, suffix: str) -> int:
        return sum(n for path, n in self.counts.items() if path.endswith(suffix))


@pytest.fixture
def onnx_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    """The ONNX plugin's demo hub on a counting loopback server, as the default ONNX hub."""
    from polyhub_onnx.demo import demo_models, write_hub

    root = tmp_path / "onnx-hub"
    root.mkdir()
    write_hub(root, demo_models())
    with LoopbackHub(root) as server:
        monkeypatch.setenv("POLYHUB_ONNX_HUB", server.url)
        yield Hub(root, server.url, server)


CONF = """\
import src.net as net_module

def create_network(name, *args, **kwargs):
    if name == "tinydense":
        return net_module.TinyDense(*args, **kwargs)
    raise NotImplementedError(name)
"""


@pytest.fixture
def mindspore_hub(tmp_path: Path) -> tuple[Path, Path]:
    """A MindSpore hub folder with one CKPT card whose network comes from a local code repo."""
    pytest.importorskip("mindspore")
    from polyhub_mindspore.demo import TINY_NET_SOURCE, card_text, make_tiny_models, sha256_of

    files = make_tiny_models(tmp_path / "files", formats=("ckpt",))
    repo = tmp_path / "code-repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "__init__.py").write_text("")
    (repo / "src" / "net.py").write_text(TINY_NET_SOURCE)
    (repo / "mindspore_hub_conf.py").write_text(CONF)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "tiny")
    hub = tmp_path / "hub"
    card = hub / "mshub_res" / "assets" / "mindspore" / "2.10" / "tiny_ckpt.md"
    card.parent.mkdir(parents=True)
    ckpt = files["ckpt"]
    card.write_text(
        card_text(
            name="TinyDense",
            assets=[("ckpt", ckpt.as_uri(), sha256_of(ckpt))],
            repo_link=f"file://{repo}/tree/main",
        ),
        encoding="utf-8",
    )
    return hub, repo

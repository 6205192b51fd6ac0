"""Fixtures: tiny real MindSpore models, card trees, code repositories and a loopback server.

Nothing here reaches the internet: hubs are local folders, local git
repositories (``file://``) or a ``http.server`` on 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from polyhub_mindspore.demo import TINY_NET_SOURCE, card_text, make_tiny_models, sha256_of

# shared/ sits next to the repository root: <root>/../shared/realdata.
REALDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata"
MSHUB = REALDATA / "mindspore-hub"


def pytest_configure(config: pytest.Config) -> None:
    # MindSpore's own deprecated calls (threading.getName at exit, numpy aliases, ...).
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:mindspore.*")
    config.addinivalue_line(
        "filterwarnings", "ignore:getName\\(\\) is deprecated:DeprecationWarning"
    )
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:onnx.*")
    config.addinivalue_line("filterwarnings", "ignore::UserWarning:mindspore.*")


@pytest.fixture(autouse=True)
def polyhub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh polyhub home per test, no progress bars, no inherited hub settings."""
    home = tmp_path / "polyhub-home"
    monkeypatch.setenv("POLYHUB_HOME", str(home))
    monkeypatch.setenv("POLYHUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.setenv("POLYHUB_RETRIES", "0")
    for name in (
        "POLYHUB_MINDSPORE_HUB",
        "POLYHUB_MIRRORS",
        "POLYHUB_TRUSTED_REPOS",
        "POLYHUB_OFFLINE",
    ):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def realdata() -> Path:
    if not MSHUB.is_dir():
        pytest.skip(
            f"the real MindSpore Hub cards are not here ({MSHUB}); they live in shared/realdata"
        )
    return MSHUB


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """CKPT, MINDIR and ONNX of one tiny network, made by MindSpore on CPU."""
    return make_tiny_models(tmp_path_factory.mktemp("tiny"))


class Server:
    """A loopback HTTP server over one folder."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.root = root
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    srv = Server(root)
    yield srv
    srv.close()


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_all(repo: Path, message: str = "c") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


CONF = """\
import src
import src.net as net_module

def create_network(name, *args, **kwargs):
    if name == "tinydense":
        net = net_module.TinyDense(*args, **kwargs)
        net.repo_marker = src.MARKER
        return net
    raise NotImplementedError(name)
"""


@pytest.fixture
def make_code_repo(tmp_path: Path) -> Callable[..., Path]:
    """A local git repo with mindspore_hub_conf.py and a src/ package; returns its path.

    ``canary``: a file the conf module creates when it is imported (proof that code ran).
    ``marker``: a constant in src/ that tells two repos' modules apart.
    """

    def make(
        name: str = "models", *, sub: str = "", canary: Path | None = None, marker: str = ""
    ) -> Path:
        repo = tmp_path / "repos" / name
        folder = repo / sub if sub else repo
        (folder / "src").mkdir(parents=True)
        (folder / "src" / "__init__.py").write_text(f"MARKER = {marker!r}\n")
        (folder / "src" / "net.py").write_text(TINY_NET_SOURCE)
        conf = CONF
        if canary is not None:
            conf = f"with open({str(canary)!r}, 'w') as f:\n    f.write('ran')\n" + conf
        (folder / "mindspore_hub_conf.py").write_text(conf)
        git(repo, "init", "-q", "-b", "main")
        commit_all(repo)
        return repo

    return make


@pytest.fixture
def hub_root(tmp_path: Path) -> Path:
    """An empty hub repository tree (``<root>/mshub_res/assets``)."""
    root = tmp_path / "hub"
    (root / "mshub_res" / "assets").mkdir(parents=True)
    return root


def write_card(hub: Path, uid: str, text: str) -> Path:
    path = hub / "mshub_res" / "assets" / f"{uid}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def publish(server: Server, tiny: dict[str, Path]) -> Callable[..., tuple[str, str]]:
    """Copy a tiny model file to the server; return (URL, sha256)."""

    def put(fmt: str, name: str | None = None, data: bytes | None = None) -> tuple[str, str]:
        src = tiny[fmt]
        body = src.read_bytes() if data is None else data
        target = server.root / "files" / (name or src.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        return f"{server.url}/files/{target.name}", sha256_of(target)

    return put


__all__ = ["MSHUB", "Server", "card_text", "commit_all", "git", "write_card"]


@pytest.fixture
def h() -> object:
    """Helpers for tests (pytest's importlib mode keeps conftest out of imports)."""
    import types

    return types.SimpleNamespace(
        write_card=write_card, git=git, commit_all=commit_all, card_text=card_text
    )

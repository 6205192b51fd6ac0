"""Fixtures every test directory shares: the real upstream hubs, served on 127.0.0.1.

``../shared/realdata`` (beside the checkout; CI has it) holds the real metadata of
each hub and, in ``repos/``, the real upstream repositories as git bundles. The
``realhubs`` fixture serves them over git's dumb HTTP protocol from one loopback
server whose folders are named after the real hosts (``<root>/github.com/...``),
and ``realhubs.mirrors`` is the ``POLYHUB_MIRRORS`` value that sends each real
host there. Tests then call polyhub with the default addresses, unchanged.

Tests that need the real data skip, saying why, where ``../shared`` is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from polyhub.testing import LoopbackHub

SHARED = Path(
    os.environ.get("POLYHUB_TEST_SHARED") or Path(__file__).resolve().parent.parent / "shared"
)

# Every host a default hub or a real card names; each is sent to <server>/<host>.
REAL_HOSTS = (
    "github.com",
    "gitee.com",
    "raw.githubusercontent.com",
    "media.githubusercontent.com",
    "huggingface.co",
    "data.megengine.org.cn",
    "download.mindspore.cn",
)


def realdata_dir() -> Path:
    """``../shared/realdata``; skips the calling test, saying why, when it is absent."""
    path = SHARED / "realdata"
    if not (path / "repos").is_dir():
        pytest.skip(f"the real hub data is not here ({path} is absent; CI has it)")
    return path


def _git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
    )
    return done.stdout


class RealHubs:
    """A loopback web server laid out like the real hosts.

    :ivar root: the served folder; ``root / "github.com" / "megengine/models.git"`` is
        what ``https://github.com/megengine/models.git`` reaches through :attr:`mirrors`.
    :ivar base: the server's base URL, ``http://127.0.0.1:PORT``.
    :ivar requests: the path of every request served, in order (for counting fetches);
        a live list, which tests keep.
    :ivar server: the :class:`polyhub.testing.LoopbackHub` serving ``root``.
    """

    def __init__(self, server: LoopbackHub, requests: list[str], data: Path) -> None:
        assert server.root is not None
        self.server = server
        self.root = server.root
        self.base = server.url
        self.requests = requests
        self.data = data
        self._repos: dict[str, Path] = {}
        self._onnx_pointers = False

    @property
    def mirrors(self) -> str:
        """``POLYHUB_MIRRORS`` sending every real host of :data:`REAL_HOSTS` here."""
        return ",".join(f"https://{h}={self.base}/{h}" for h in REAL_HOSTS)

    def local_path(self, url: str) -> Path:
        """Where the file behind the real ``url`` lives in the served tree."""
        parts = urlsplit(url)
        if parts.hostname not in REAL_HOSTS:
            raise ValueError(f"{url}: {parts.hostname} is not one of the served real hosts")
        return self.root / parts.hostname / parts.path.lstrip("/")

    def put(self, url: str, data: bytes) -> Path:
        """Serve ``data`` at the real ``url``."""
        path = self.local_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def serve_repo(self, bundle: str, url: str) -> Path:
        """Serve the real repository ``repos/<bundle>`` at the git URL ``url``.

        Returns the bare repository, which a test may commit to; call
        :meth:`published` after changing it. Served once per session.
        """
        if url in self._repos:
            return self._repos[url]
        bare = self.local_path(url)
        bare.parent.mkdir(parents=True, exist_ok=True)
        _git("clone", "--quiet", "--mirror", str(self.data / "repos" / bundle), str(bare))
        # The bundles carry no remote; a mirror of one keeps refs/remotes of none.
        _git("--git-dir", str(bare), "config", "--unset", "remote.origin.mirror")
        self.published(bare)
        self._repos[url] = bare
        return bare

    def onnx_models_tree(self) -> Path:
        """A work tree of the real onnx/models ``main``: its manifest and its 368 Git LFS
        pointer files. Cloned once a session; tests only read it."""
        work = self.root.parent / "onnx-models-pointers"
        if not work.exists():
            _git(
                "clone",
                "--quiet",
                "--branch",
                "main",
                str(self.data / "repos" / "onnx-models-pointers.bundle"),
                str(work),
            )
        return work

    def serve_onnx_pointers(self) -> None:
        """Serve the real onnx/models tree (its 368 Git LFS pointer files) where GitHub serves
        it today, on the raw and the media hosts, branch ``main``. Once a session, whole:
        tests that serve one file of their own there must not hide the others. The
        manifest is left to each test, which serves its own copy."""
        if self._onnx_pointers:
            return
        work = self.onnx_models_tree()
        for base in (
            "https://raw.githubusercontent.com/onnx/models/main",
            "https://media.githubusercontent.com/media/onnx/models/main",
        ):
            dest = self.local_path(f"{base}/validated")
            shutil.copytree(work / "validated", dest, dirs_exist_ok=True)
        self._onnx_pointers = True

    def published(self, bare: Path) -> None:
        """Refresh the dumb-HTTP index of ``bare`` after its refs changed."""
        _git("--git-dir", str(bare), "update-server-info")

    def worktree(self, bare: Path, branch: str, dest: Path) -> Path:
        """A work tree of ``branch`` of a served repository, to change and :meth:`push`."""
        _git("clone", "--quiet", "--branch", branch, str(bare), str(dest))
        _git("config", "user.email", "tests@polyhub.invalid", cwd=dest)
        _git("config", "user.name", "polyhub tests", cwd=dest)
        return dest

    def push(self, work: Path, message: str) -> str:
        """Commit everything in ``work`` and push it to the served repository; returns the commit."""
        _git("add", "-A", cwd=work)
        _git("commit", "--quiet", "-m", message, cwd=work)
        _git("push", "--quiet", "origin", "HEAD", cwd=work)
        origin = Path(_git("remote", "get-url", "origin", cwd=work).strip())
        self.published(origin)
        return _git("rev-parse", "HEAD", cwd=work).strip()


@pytest.fixture(scope="session")
def realdata() -> Path:
    """``../shared/realdata`` (skips, saying why, where it is absent)."""
    return realdata_dir()


@pytest.fixture(scope="session")
def onnx_models(realhubs: RealHubs) -> Path:
    """A work tree of the real onnx/models ``main`` (see :meth:`RealHubs.onnx_models_tree`)."""
    return realhubs.onnx_models_tree()


@pytest.fixture(scope="session")
def realhubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealHubs]:
    """The real upstream hubs on one loopback server; see :class:`RealHubs`.

    Nothing is served until a test asks (``serve_repo``, ``put``); the tree lives
    for the session, so each real repository is cloned once.
    """
    data = realdata_dir()
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    from polyhub.testing import LoopbackHub

    requests: list[str] = []
    root = tmp_path_factory.mktemp("realhubs")
    with LoopbackHub(root, on_request=lambda r: requests.append(r.path)) as server:
        yield RealHubs(server, requests, data)

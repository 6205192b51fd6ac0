"""Fixtures for the MegEngine plugin: git repositories, a loopback weights server, tiny real models.

Nothing touches the internet: repositories are local bare git repos reached
over ``file://`` (the default GitHub URL shapes are rewritten to them with
``POLYHUB_MIRRORS``), ``git://`` comes from a ``git daemon`` on 127.0.0.1, SSH
from a ``url.<base>.insteadOf`` rewrite, and weights from an ``http.server``
thread on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from polyhub.testing import LoopbackHub, isolated_home

HERE = Path(__file__).parent
SHAPE = json.loads((HERE / "data" / "models_hubconf_shape.json").read_text())["entries"]
WEIGHTS_HOST = "https://data.megengine.org.cn/"
RESNET18_URL = next(e["pretrained_url"] for e in SHAPE if e["name"] == "resnet18")

TINY_NET = '''"""Shared tiny network standing in for the real backbones."""
import megengine.functional as F
import megengine.module as M


class TinyNet(M.Module):
    """Two linear layers: in_features in, num_classes scores out."""

    def __init__(self, in_features=8, hidden=HIDDEN, num_classes=4):
        super().__init__()
        self.fc1 = M.Linear(in_features, hidden)
        self.fc2 = M.Linear(hidden, num_classes)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
'''

GIT_ENV = {
    "GIT_AUTHOR_NAME": "polyhub tests",
    "GIT_AUTHOR_EMAIL": "tests@polyhub.invalid",
    "GIT_COMMITTER_NAME": "polyhub tests",
    "GIT_COMMITTER_EMAIL": "tests@polyhub.invalid",
}


def pytest_configure(config: pytest.Config) -> None:
    # megengine 1.13 imports pkg_resources at start-up, and some of its modules
    # (and megfile's) have invalid escape sequences; nothing else is silenced.
    config.addinivalue_line(
        "filterwarnings", "ignore:pkg_resources is deprecated as an API:UserWarning"
    )
    config.addinivalue_line("filterwarnings", r"ignore:invalid escape sequence:DeprecationWarning")
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Deprecated call to `pkg_resources.declare_namespace:DeprecationWarning",
    )
    # numpy's getlimits complains about subnormals once MegEngine sets the FPU flush mode.
    config.addinivalue_line(
        "filterwarnings", "ignore:The value of the smallest subnormal:UserWarning"
    )


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@dataclass
class Repo:
    """A work tree and the bare repository it is pushed to."""

    work: Path
    bare: Path

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str], message: str = "change", branch: str = "master") -> str:
        write_files(self.work, files)
        if git("branch", "--show-current", cwd=self.work) != branch:
            git("checkout", "--quiet", "-B", branch, cwd=self.work)
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "--quiet", "--force", str(self.bare), f"{branch}:{branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


def make_repo(root: Path, files: dict[str, str], *, name: str = "models") -> tuple[Repo, str]:
    """A bare repository ``root/<name>.git`` whose master holds ``files``; returns it and the commit."""
    work = root / f"{name}-work"
    work.mkdir(parents=True)
    git("init", "--quiet", "-b", "master", cwd=work)
    bare = root / f"{name}.git"
    git("init", "--quiet", "--bare", "-b", "master", str(bare))
    repo = Repo(work, bare)
    return repo, repo.commit(files, "initial")


def models_shaped_files(hidden: int = 16) -> dict[str, str]:
    """A repository shaped like MegEngine/Models: 16 re-export imports in hubconf.py, 94
    names from nested ``official.*`` packages, 71 of them ``@hub.pretrained``, 22 classes,
    one undecorated factory with its own ``pretrained=True``, aliased classes."""
    modules = {e["defined_in"] for e in SHAPE} | {e["imports_from"] for e in SHAPE}
    packages = {m for m in modules if any(o.startswith(m + ".") for o in modules)}
    for m in list(modules):
        parts = m.split(".")
        packages |= {".".join(parts[:i]) for i in range(1, len(parts))}
    body: dict[str, list[str]] = {m: [] for m in modules | packages}
    for e in SHAPE:
        defined = e["defined_in"]
        original = e["alias_of"] or e["name"]
        doc = f"{original} from {defined} (fixture shaped like MegEngine/Models)."
        if e["kind"] == "class":
            body[defined].append(
                f'class {original}(M.Module):\n    """{doc}"""\n\n'
                "    def __init__(self, cfg=None):\n        super().__init__()\n"
            )
        elif e["pretrained_url"]:
            body[defined].append(
                f'@hub.pretrained("{e["pretrained_url"]}")\ndef {original}(**kwargs):\n'
                f'    """{doc}"""\n    return TinyNet(**kwargs)\n'
            )
        else:
            body[defined].append(
                f'def {original}(pretrained=True):\n    """{doc}"""\n    return TinyNet()\n'
            )
        if e["imports_from"] != defined:
            rel = defined[len(e["imports_from"]) + 1 :]
            alias = f" as {e['name']}" if e["alias_of"] else ""
            body[e["imports_from"]].append(f"from .{rel} import {original}{alias}\n")
    files: dict[str, str] = {}
    header = (
        "import megengine.module as M\nfrom megengine import hub\n\n"
        "from official.common.tiny import TinyNet\n\n\n"
    )
    for module, chunks in body.items():
        path = module.replace(".", "/") + ("/__init__.py" if module in packages else ".py")
        defs = [c for c in chunks if not c.startswith("from .")]
        imports = [c for c in chunks if c.startswith("from .")]
        text = "".join(imports) + ("\n" if imports and defs else "")
        if defs:
            text += header + "\n\n".join(defs)
        files[path] = text
    files["official/common/__init__.py"] = ""
    files["official/common/tiny.py"] = TINY_NET.replace("HIDDEN", str(hidden))
    groups: dict[str, list[str]] = {}
    for e in SHAPE:
        groups.setdefault(e["imports_from"], []).append(e["name"])
    files["hubconf.py"] = "".join(
        f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")\n"
        for module, names in groups.items()
    )
    return files


@pytest.fixture(autouse=True)
def polyhub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private polyhub home, git config and MegEngine home for every test."""
    env = {
        "POLYHUB_RETRIES": "1",
        "XDG_CACHE_HOME": None,
        "GIT_SSH_COMMAND": None,
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "MGE_HOME": str(tmp_path / "mge-home"),
    }
    with isolated_home(tmp_path / "polyhub-home", env=env, patch=monkeypatch) as home:
        yield home


@pytest.fixture(scope="session")
def mge() -> Any:
    import megengine

    return megengine


@dataclass
class Weights:
    data: bytes
    arrays: dict[str, Any]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def tiny_weights(mge: Any, seed: int, hidden: int = 16) -> Weights:
    import io

    import numpy as np

    namespace: dict[str, Any] = {}
    exec(TINY_NET.replace("HIDDEN", str(hidden)), namespace)
    net = namespace["TinyNet"]()
    rng = np.random.default_rng(seed)
    arrays = {
        k: rng.standard_normal(v.shape).astype("float32") for k, v in net.state_dict().items()
    }
    buf = io.BytesIO()
    mge.save(arrays, buf)
    return Weights(buf.getvalue(), arrays)


@pytest.fixture(scope="session")
def weights(mge: Any) -> Weights:
    return tiny_weights(mge, seed=7)


class Server(LoopbackHub):
    """The weights host: ``put(rel, data)`` writes a served file, ``hits`` lists the GETs' targets."""

    @property
    def base(self) -> str:
        return self.url

    @property
    def hits(self) -> list[str]:
        return [r.target for r in self.requests if r.method == "GET"]

    def put(self, path: str, data: bytes) -> str:
        """Write ``data`` under the served folder (tests delete it there to take it away)."""
        assert self.root is not None
        file = self.root / path.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(data)
        return self.url_for(path)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An HTTP server on 127.0.0.1 serving a folder; ``hits`` records request paths."""
    with Server(tmp_path_factory.mktemp("served")) as srv:
        yield srv


@pytest.fixture(scope="session")
def models_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Repo, str]:
    """The Models-shaped repository, as ``<root>/megengine/models.git``."""
    root = tmp_path_factory.mktemp("github") / "megengine"
    return make_repo(root, models_shaped_files())


@pytest.fixture
def github_models(
    models_repo: tuple[Repo, str], server: Server, weights: Weights, monkeypatch: pytest.MonkeyPatch
) -> tuple[Repo, str]:
    """``megengine/models`` on github.com and data.megengine.org.cn, mirrored to local copies."""
    repo, commit = models_repo
    server.put(RESNET18_URL.removeprefix(WEIGHTS_HOST), weights.data)
    monkeypatch.setenv(
        "POLYHUB_MIRRORS",
        f"https://github.com/megengine/={repo.bare.parent.as_uri()}/,{WEIGHTS_HOST}={server.base}/",
    )
    return repo, commit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """``git daemon`` on 127.0.0.1 serving ``<base>``; yields (base, port)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    base = tmp_path / "daemon"
    base.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            f"--base-path={base}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            raise AssertionError("git daemon did not start")
        yield base, port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (to see what it imports)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def h() -> Any:
    """The helpers above, for test modules (conftest is not importable under importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        git=git,
        make_repo=make_repo,
        write_files=write_files,
        models_shaped_files=models_shaped_files,
        tiny_weights=tiny_weights,
        run_python=run_python,
        SHAPE=SHAPE,
        RESNET18_URL=RESNET18_URL,
        WEIGHTS_HOST=WEIGHTS_HOST,
        TINY_NET=TINY_NET,
    )

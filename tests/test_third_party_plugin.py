"""A third-party plugin, installed like a user would, works with polyhub and passes the kit.

``examples/third-party-plugin`` (polyhub-folder) is a separate distribution
with its own ``polyhub`` entry point. It is installed into a fresh virtual
environment that sees the development environment's packages through a
``.pth`` file (no network: ``uv pip install --offline --no-deps``; hatchling
comes from uv's cache), then driven only through subprocesses, as a user's
shell would.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "third-party-plugin"
INSTALL_BUDGET_S = 60.0


class Env:
    def __init__(self, root: Path, install_seconds: float) -> None:
        self.root = root
        self.python = root / "bin" / "python"
        self.install_seconds = install_seconds

    def run(
        self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("POLYHUB_", "PYTEST_"))
        }
        full_env.update(env or {})
        return subprocess.run(
            [str(self.python), *args],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    if (
        shutil.which("uv") is None
        and subprocess.run(
            [sys.executable, "-m", "uv", "--version"], capture_output=True
        ).returncode
    ):
        pytest.skip("uv is not available to install the example plugin")
    root = tmp_path_factory.mktemp("venv") / "env"
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    purelib = subprocess.run(
        [
            str(root / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dev_site = sysconfig.get_paths()["purelib"]
    # addsitedir (not a bare path) so the dev env's own .pth files (editable installs) apply.
    (Path(purelib) / "_polyhub_dev.pth").write_text(f"import site; site.addsitedir({dev_site!r})\n")
    uv = [shutil.which("uv")] if shutil.which("uv") else [sys.executable, "-m", "uv"]
    done = subprocess.run(
        [
            *uv,
            "pip",
            "install",
            "--python",
            str(root / "bin" / "python"),
            "--offline",
            "--no-deps",
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_BUDGET_S * 2,
    )
    assert done.returncode == 0, f"installing the example failed:\n{done.stderr}"
    return Env(root, time.monotonic() - start)


def test_install_is_quick(plugin_env: Env) -> None:
    assert plugin_env.install_seconds < INSTALL_BUDGET_S, (
        f"install took {plugin_env.install_seconds:.1f}s"
    )


def test_polyhub_plugins_lists_it(plugin_env: Env) -> None:
    done = plugin_env.run("-m", "polyhub", "plugins")
    assert done.returncode == 0, done.stderr
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("folder ")), None)
    assert line is not None, done.stdout
    assert (
        "polyhub-folder 0.1.0" in line and "sources: folder" in line and "runtimes: numpy" in line
    )


def test_polyhub_load_uses_it(plugin_env: Env, tmp_path: Path) -> None:
    import numpy as np
    import yaml

    hub = tmp_path / "hub"
    hub.mkdir()
    with open(hub / "tiny.npz", "wb") as f:
        np.savez(f, W=np.eye(2, dtype=np.float32) * 3, b=np.ones(2, dtype=np.float32))
    sha = hashlib.sha256((hub / "tiny.npz").read_bytes()).hexdigest()
    (hub / "index.yaml").write_text(
        yaml.safe_dump(
            {"models": [{"name": "tiny", "file": "tiny.npz", "sha256": sha, "format": "npz"}]}
        )
    )
    script = (
        "import numpy as np, polyhub\n"
        "m = polyhub.load('folder:tiny', device='cpu')\n"
        "print(type(m).__module__, type(m).__name__, m(np.array([1.0, 2.0])).tolist())\n"
    )
    done = plugin_env.run(
        "-c", script, env={"POLYHUB_FOLDER_HUB": str(hub), "POLYHUB_HOME": str(tmp_path / "home")}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["polyhub_folder.plugin", "LinearModel", "[4.0,", "7.0]"]


def test_the_kit_passes_on_it(plugin_env: Env) -> None:
    # Its own test file, run from its own folder (its own rootdir and settings).
    done = plugin_env.run("-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", cwd=EXAMPLE)
    assert done.returncode == 0, done.stdout[-4000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_polyhub_conformance_passes_for_it(plugin_env: Env) -> None:
    done = plugin_env.run("-m", "polyhub", "conformance", "folder")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "polyhub conformance: all passed" in done.stdout

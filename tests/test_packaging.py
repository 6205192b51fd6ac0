"""Every distribution builds, carries complete metadata, and installs as users install it.

The five distributions are built with ``uv build`` (an sdist, then the wheel built
from that sdist, so a file missing from the sdist fails here). Combinations are
installed into fresh virtual environments: polyhub's own packages from the built
files alone, their third-party dependencies from the package index through uv's
cache. Each environment is then driven through subprocesses, as a user's shell
would.
"""

from __future__ import annotations

import email
import glob
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = {
    "polyhub": ("core", "polyhub"),
    "polyhub-onnx": ("plugins/onnx", "polyhub_onnx"),
    "polyhub-mindspore": ("plugins/mindspore", "polyhub_mindspore"),
    "polyhub-megengine": ("plugins/megengine", "polyhub_megengine"),
    "polyhub-oci": ("plugins/oci", "polyhub_oci"),
    "polyhub-conformance": ("conformance", "polyhub_conformance"),
}
# --no-config: the workspace's own uv settings (its numpy<2 constraint for MegEngine)
# must not reach a user's install.
UV = [
    *([shutil.which("uv")] if shutil.which("uv") else [sys.executable, "-m", "uv"]),
    "--no-config",
]


def _python(version: str) -> str:
    """An interpreter of ``version`` (e.g. ``3.12``) on this machine; skips when there is none."""
    found = shutil.which(f"python{version}")
    candidates = [found] if found else []
    candidates += sorted(
        glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}"))
    )
    for candidate in candidates:
        if (
            candidate
            and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0
        ):
            return candidate
    pytest.skip(f"no Python {version} interpreter on this machine")


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("POLYHUB_", "VIRTUAL_ENV", "UV_PROJECT"))
    }
    return subprocess.run(args, capture_output=True, text=True, timeout=600, env=env, **kwargs)  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    for name, (member, _) in MEMBERS.items():
        done = _run(
            [*UV, "build", "--quiet", "--sdist", "--wheel", "-o", str(out), str(ROOT / member)]
        )
        assert done.returncode == 0, f"{name} did not build:\n{done.stderr}"
    return out


def _file(dist: Path, name: str, suffix: str) -> Path:
    stem = name.replace("-", "_")
    found = sorted(dist.glob(f"{stem}-*{suffix}"))
    assert len(found) == 1, (name, suffix, found)
    return found[0]


@dataclass
class Venv:
    root: Path

    @property
    def python(self) -> str:
        return str(self.root / "bin" / "python")

    def run(self, *args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYHUB_", "VIRTUAL_ENV"))}
        env["POLYHUB_HOME"] = str(home or self.root / "polyhub-home")
        env["POLYHUB_DISABLE_PROGRESS_BARS"] = "1"
        return subprocess.run(
            args, capture_output=True, text=True, timeout=600, env=env, cwd=self.root
        )

    def py(self, code: str) -> subprocess.CompletedProcess[str]:
        return self.run(self.python, "-c", code)

    def polyhub(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.root / "bin" / "polyhub"), *args)

    def has(self, module: str) -> bool:
        done = self.py(
            f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
        )
        return done.returncode == 0


def make_venv(where: Path, python: str, dist: Path, *requirements: str) -> Venv:
    """A fresh environment holding ``requirements``: ``polyhub-onnx[cpu]`` names a built file."""
    _run([*UV, "venv", "--quiet", "--python", python, str(where)], check=True)
    resolved = []
    for requirement in requirements:
        name, _, extra = requirement.partition("[")
        if name in MEMBERS:
            wheel = _file(dist, name, ".whl").as_uri()
            resolved.append(f"{name}{'[' + extra if extra else ''} @ {wheel}")
        else:
            resolved.append(requirement)
    done = _run(
        [*UV, "pip", "install", "--quiet", "--python", str(where / "bin" / "python"), *resolved]
    )
    assert done.returncode == 0, f"installing {requirements} failed:\n{done.stderr}"
    return Venv(where)


def test_every_distribution_has_complete_metadata(dist: Path) -> None:
    for name, (_, package) in MEMBERS.items():
        wheel = _file(dist, name, ".whl")
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            info = next(n for n in names if n.endswith(".dist-info/METADATA"))
            meta = email.message_from_bytes(zf.read(info))
        assert meta["Name"] == name and meta["Version"] == "0.1.0"
        assert meta["License-Expression"] == "Apache-2.0", name
        assert meta.get_all("License-File") == ["LICENSE"], name
        assert meta["Requires-Python"] == ">=3.10", name
        assert meta["Description-Content-Type"] == "text/markdown", name
        assert name in meta.get_payload(), f"{name}: its README is not the long description"
        classifiers = meta.get_all("Classifier") or []
        assert (
            "Typing :: Typed" in classifiers
            and "Programming Language :: Python :: 3.10" in classifiers
        )
        urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
        assert {"Homepage", "Source", "Issues", "Documentation"} <= set(urls), name
        assert f"{package}/py.typed" in names, name
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), name
        sdist = _file(dist, name, ".tar.gz")
        with tarfile.open(sdist) as tf:
            members = {m.split("/", 1)[1] for m in tf.getnames() if "/" in m}
        assert {"LICENSE", "README.md", "pyproject.toml", f"src/{package}/py.typed"} <= members, (
            name
        )


def test_core_alone_lists_plugins_and_says_what_to_install(dist: Path, tmp_path: Path) -> None:
    env = make_venv(tmp_path / "core", _python("3.12"), dist, "polyhub")
    done = env.polyhub("plugins")
    assert done.returncode == 0 and "builtin" in done.stdout, done.stdout + done.stderr
    done = env.polyhub("load", "onnx:mnist")
    assert done.returncode == 1
    # With the extra: polyhub-onnx alone would only say next to install onnxruntime.
    assert "pip install 'polyhub-onnx[cpu]'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for framework in ("onnx", "onnxruntime", "mindspore", "megengine", "numpy"):
        assert not env.has(framework), f"the core alone pulled in {framework}"


def test_core_and_onnx_cpu_on_python_312_loads_a_model(dist: Path, tmp_path: Path) -> None:
    env = make_venv(tmp_path / "onnx", _python("3.12"), dist, "polyhub", "polyhub-onnx[cpu]")
    done = env.py(
        "import sys, tempfile, numpy, onnxruntime, polyhub\n"
        "from pathlib import Path\n"
        "from polyhub_onnx.demo import demo_models, write_hub, _run_session\n"
        "hub = Path(tempfile.mkdtemp())\n"
        "write_hub(hub, demo_models())\n"
        "session = polyhub.load('onnx:tiny-mlp', hub=str(hub), device='cpu')\n"
        "print(type(session).__name__, session.get_providers()[0], numpy.__version__)\n"
        "print(_run_session(session))\n"
    )
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0].split()
    assert first[:2] == ["InferenceSession", "CPUExecutionProvider"]
    assert int(first[2].split(".")[0]) >= 2, "numpy<2 was pulled in for an ONNX-only install"
    assert "ran" in done.stdout
    for framework in ("mindspore", "megengine"):
        assert not env.has(framework)
    gpu = env.py("import importlib.metadata as m; m.distribution('onnxruntime-gpu')")
    assert gpu.returncode != 0, "the cpu extra installed onnxruntime-gpu too"


def test_onnx_without_a_runtime_flavour_says_which_extra_to_install(
    dist: Path, tmp_path: Path
) -> None:
    env = make_venv(tmp_path / "bare", _python("3.12"), dist, "polyhub", "polyhub-onnx")
    assert not env.has("onnxruntime")
    done = env.polyhub("plugins")
    assert "runtime onnxruntime: onnxruntime not installed" in done.stdout, done.stdout
    assert "polyhub-onnx[cpu]" in done.stdout and "polyhub-onnx[gpu]" in done.stdout
    done = env.py(
        "import tempfile, polyhub\n"
        "from pathlib import Path\n"
        "from polyhub_onnx.demo import demo_models, write_hub\n"
        "hub = Path(tempfile.mkdtemp())\n"
        "write_hub(hub, demo_models())\n"
        "print(type(polyhub.load('onnx:tiny-mlp', hub=str(hub), runtime='onnx')).__name__)\n"
        "try:\n"
        "    polyhub.load('onnx:tiny-mlp', hub=str(hub))\n"
        "except polyhub.UnsupportedError as exc:\n"
        "    print('refused:', exc)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "ModelProto"
    assert "refused:" in done.stdout and "pip install 'polyhub-onnx[cpu]'" in done.stdout


def test_megengine_plugin_on_python_312_keeps_numpy_and_reports_megengine_missing(
    dist: Path, tmp_path: Path
) -> None:
    env = make_venv(
        tmp_path / "mge", _python("3.12"), dist, "numpy>=2", "polyhub", "polyhub-megengine"
    )
    version = env.py("import numpy; print(numpy.__version__)").stdout.strip()
    assert int(version.split(".")[0]) >= 2, f"polyhub-megengine downgraded numpy to {version}"
    assert not env.has("megengine")
    done = env.polyhub("plugins")
    assert done.returncode == 0
    assert "runtime megengine: megengine not installed" in done.stdout, done.stdout


def test_frameworks_install_where_their_wheels_exist(dist: Path, tmp_path: Path) -> None:
    env = make_venv(
        tmp_path / "all",
        _python("3.10"),
        dist,
        "polyhub",
        "polyhub-mindspore",
        "polyhub-megengine",
        "polyhub-conformance",
    )
    done = env.polyhub("plugins")
    assert done.returncode == 0, done.stderr
    assert "runtime mindspore:" not in done.stdout and "runtime megengine:" not in done.stdout
    assert "mindspore (polyhub-mindspore 0.1.0)" in done.stdout
    assert "megengine (polyhub-megengine 0.1.0)" in done.stdout
    version = env.py("import numpy; print(numpy.__version__)").stdout.strip()
    assert version.startswith("1."), "MegEngine needs numpy<2 where it installs"
    done = env.py(
        "import importlib.metadata as m\n"
        "print(sorted(e.name for e in m.entry_points(group='pytest11')))"
    )
    assert "polyhub_conformance" in done.stdout

"""The core's public API is typed (``py.typed``) and mypy-clean in strict mode."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_py_typed_ships_with_every_member():
    for package in (
        "core/src/polyhub",
        "plugins/onnx/src/polyhub_onnx",
        "plugins/mindspore/src/polyhub_mindspore",
        "plugins/megengine/src/polyhub_megengine",
        "conformance/src/polyhub_conformance",
    ):
        assert (ROOT / package / "py.typed").exists(), package


@pytest.mark.skipif(
    shutil.which("mypy") is None and not (Path(sys.executable).parent / "mypy").exists(),
    reason="mypy not installed",
)
def test_core_is_mypy_strict_clean():
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr

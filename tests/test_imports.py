"""``import polyhub`` and plugin discovery import no framework (MindSpore takes ~4 s, MegEngine ~2 s)."""

from __future__ import annotations

import json
import subprocess
import sys

FRAMEWORKS = ("mindspore", "megengine", "onnxruntime", "onnx", "torch", "tensorflow", "numpy")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {m.split(".")[0] for m in json.loads(out.splitlines()[-1])}


def test_import_polyhub_imports_no_framework():
    loaded = _modules_after("import polyhub")
    assert loaded.isdisjoint(FRAMEWORKS), loaded & set(FRAMEWORKS)


def test_discovering_plugins_imports_no_framework():
    loaded = _modules_after("import polyhub; print(len(polyhub.list_plugins()))")
    assert loaded.isdisjoint(FRAMEWORKS), loaded & set(FRAMEWORKS)


def test_cli_help_imports_no_framework():
    loaded = _modules_after(
        "import sys; sys.argv = ['polyhub', '--help']\ntry:\n from polyhub.cli import main; main()\nexcept SystemExit: pass"
    )
    assert loaded.isdisjoint(FRAMEWORKS)

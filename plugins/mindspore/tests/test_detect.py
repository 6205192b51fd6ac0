"""Format detection by content, without MindSpore imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from polyhub_mindspore.detect import detect_format


def _head(path: Path) -> bytes:
    return path.read_bytes()[:4096]


def test_real_files(tiny: dict[str, Path], tmp_path: Path):
    assert detect_format(tiny["ckpt"], _head(tiny["ckpt"])) == "ckpt"
    assert detect_format(tiny["mindir"], _head(tiny["mindir"])) == "mindir"
    # ONNX belongs to the ONNX plugin, even when MindSpore produced it.
    assert detect_format(tiny["onnx"], _head(tiny["onnx"])) is None
    # Content, not the name, decides.
    renamed = tmp_path / "weights.bin"
    renamed.write_bytes(tiny["mindir"].read_bytes())
    assert detect_format(renamed, _head(renamed)) == "mindir"
    lying = tmp_path / "model.air"
    lying.write_bytes(tiny["ckpt"].read_bytes())
    assert detect_format(lying, _head(lying)) == "ckpt"


def test_mslite_and_air_and_garbage(tmp_path: Path):
    ms = tmp_path / "m.ms"
    ms.write_bytes(b"\x1c\x00\x00\x00MSL2" + bytes(64))
    assert detect_format(ms, _head(ms)) == "mslite"
    air = tmp_path / "m.air"
    air.write_bytes(b"\x0a\x05graph\x10\x01" + bytes(16))
    assert detect_format(air, _head(air)) == "air"
    for data in (b"", b"PK\x03\x04zip", b"\x80\x04\x95pickle", b"# markdown\n"):
        f = tmp_path / "x.ckpt"
        f.write_bytes(data)
        assert detect_format(f, data) is None


@pytest.mark.parametrize("module", ["polyhub_mindspore.plugin", "polyhub_mindspore.detect"])
def test_importing_the_plugin_does_not_import_mindspore(module: str):
    code = (
        f"import sys, polyhub, {module}, polyhub_mindspore.card, polyhub_mindspore.validate, "
        "polyhub_mindspore.index; "
        "polyhub.list_plugins(); "
        "print(sorted(m for m in sys.modules if m == 'mindspore' or m.startswith('mindspore.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

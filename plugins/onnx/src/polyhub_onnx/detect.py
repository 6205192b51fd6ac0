"""Telling an ONNX model from other files by content, without importing onnx.

An ONNX file is a serialized ``onnx.ModelProto``. Its top level is a short run
of protobuf fields: ``ir_version`` (field 1, a varint), a few strings (2, 3, 4,
6), ``model_version`` (5, varint), ``graph`` (7), ``opset_import`` (8),
``metadata_props`` (14), ``training_info`` (20) and ``functions`` (25). The
check walks those fields from the file (seeking over the large ones), so it
costs a handful of reads even for a multi-gigabyte model, and requires:

* every top-level field to be one of those, with the right wire type;
* ``ir_version`` present and plausible, and a ``graph``;
* the fields to end exactly at the end of the file.

A MindSpore MindIR file is also a protobuf ``ModelProto``, but its field 1 is a
string (tag byte ``0x0a``), so it fails the wire-type check. The suffix is
never consulted.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from polyhub import read_varint  # the core's, still importable from here as before

__all__ = ["is_onnx_model", "read_varint"]

# field number -> wire type (0 varint, 2 length-delimited)
_MODEL_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2}
_MAX_IR_VERSION = 64  # today's is 12; leaves room without accepting random varints


def _read_varint_file(f: BinaryIO) -> int:
    chunk = f.read(10)
    value, used = read_varint(chunk, 0)
    f.seek(used - len(chunk), 1)
    return value


def _walk(f: BinaryIO, size: int) -> bool:
    seen: set[int] = set()
    while True:
        pos = f.tell()
        if pos == size:
            break
        tag = _read_varint_file(f)
        number, wire = tag >> 3, tag & 7
        if _MODEL_FIELDS.get(number) != wire:
            return False
        if wire == 0:
            value = _read_varint_file(f)
            if number == 1 and not 1 <= value <= _MAX_IR_VERSION:
                return False
        else:
            length = _read_varint_file(f)
            end = f.tell() + length
            if end > size:
                return False
            f.seek(end)
        seen.add(number)
    return 1 in seen and 7 in seen


def is_onnx_model(path: Path, head: bytes = b"") -> bool:
    """True when ``path`` is a serialized ``onnx.ModelProto`` (see the module docs)."""
    if head[:1] not in (b"", b"\x08") or not path.is_file():
        # Serializers write fields in number order, so ir_version (tag 0x08)
        # comes first; checking the first byte keeps garbage cheap to refuse.
        return False
    try:
        size = path.stat().st_size
        if size < 4:
            return False
        with open(path, "rb") as f:
            if f.read(1) != b"\x08":
                return False
            f.seek(0)
            return _walk(f, size)
    except (OSError, ValueError):
        return False

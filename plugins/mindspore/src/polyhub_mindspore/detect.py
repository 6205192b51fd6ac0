"""Telling MindSpore's file formats apart by their bytes, without importing MindSpore.

* CKPT is a protobuf ``Checkpoint``: a repeated field 1 whose items are
  ``Value{tag = 1 (string), tensor = 2 (message)}``, so the file opens with
  ``0x0A <len> 0x0A <len> <parameter name> 0x12``.
* MindIR is a protobuf ``ModelProto`` of ``mind_ir.proto``: field 1 is the
  ``ir_version`` *string* (``"1.1"``), field 2 the producer (``MindSpore``).
  ONNX's ``ModelProto`` opens with field 1 as a *varint* (``0x08``), so the
  two never meet (ONNX belongs to the ONNX plugin).
* MSLite (``.ms``) is a FlatBuffer with the file identifier ``MSL1``/``MSL2``
  at bytes 4-8.
* AIR (Ascend IR, GE's ``ModelDef``) has no magic of its own: a protobuf
  opening with the model name (field 1, a string) and the ``.air`` suffix.
"""

from __future__ import annotations

import re
from pathlib import Path

from polyhub import MetadataError, read_varint

__all__ = ["detect_format"]

_VERSION = re.compile(rb"^\d+(\.\d+){0,3}$")
_PARAM_NAME = re.compile(rb"^[\x20-\x7e]{1,1024}$")


def _field(data: bytes, pos: int) -> tuple[int, int, int, int] | None:
    """(field number, wire type, payload start, payload length) of a length-delimited field."""
    try:
        tag, pos = read_varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire != 2:
            return number, wire, pos, 0
        size, start = read_varint(data, pos)
    except MetadataError:  # a truncated or over-long varint: not this format
        return None
    return number, wire, start, size


def _is_ckpt(head: bytes) -> bool:
    outer = _field(head, 0)
    if outer is None or outer[:2] != (1, 2):
        return False
    tag = _field(head, outer[2])
    if tag is None or tag[:2] != (1, 2):
        return False
    _, _, start, size = tag
    name = head[start : start + size]
    if len(name) != size or not _PARAM_NAME.match(name):
        return False
    nxt = start + size
    return nxt < len(head) and head[nxt] == 0x12


def _is_mindir(head: bytes) -> bool:
    first = _field(head, 0)
    if first is None or first[:2] != (1, 2):
        return False
    _, _, start, size = first
    version = head[start : start + size]
    if not _VERSION.match(version):
        return False
    second = _field(head, start + size)
    return second is not None and second[1] == 2 and second[0] in (2, 3, 4, 5, 6, 7)


def _is_mslite(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] in (b"MSL1", b"MSL2")


def _is_air(path: Path, head: bytes) -> bool:
    if path.suffix.lower() != ".air":
        return False
    first = _field(head, 0)
    return first is not None and first[1] in (0, 2) and 1 <= first[0] <= 15


def detect_format(path: Path, head: bytes) -> str | None:
    """``ckpt``, ``mindir``, ``mslite`` or ``air`` for a MindSpore file; ``None`` otherwise."""
    if not head:
        return None
    if _is_mslite(head):
        return "mslite"
    if _is_mindir(head):
        return "mindir"
    if _is_ckpt(head):
        return "ckpt"
    if _is_air(path, head):
        return "air"
    return None

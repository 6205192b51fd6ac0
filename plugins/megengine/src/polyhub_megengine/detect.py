"""Recognising MegEngine files by content.

- ``megengine-traced``: what ``megengine.jit.trace(...).dump(...)`` writes in
  MegEngine 1.13: a size-prefixed FlatBuffer whose file identifier ``mgv2``
  sits at bytes 8-12 (bytes 0-4 hold the size of the rest, little endian).
  Unprefixed buffers carry ``mgv2`` at bytes 4-8.
- ``megengine-pickle``: what ``megengine.save`` writes: a pickle (protocol 2 to 5
  header ``\\x80 <n>``) whose opening names numpy, MegEngine or an OrderedDict,
  as every state dict does.
- ``megengine-hubconf``: a folder holding ``hubconf.py``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["HUBCONF", "PICKLE", "TRACED", "detect"]

TRACED = "megengine-traced"
PICKLE = "megengine-pickle"
HUBCONF = "megengine-hubconf"

_MAGIC = b"mgv2"
_PICKLE_MARKERS = (b"megengine", b"numpy", b"OrderedDict")


def _is_traced(path: Path, head: bytes) -> bool:
    if len(head) >= 12 and head[8:12] == _MAGIC:
        declared = int.from_bytes(head[:4], "little")
        try:
            return declared + 4 == path.stat().st_size
        except OSError:
            return True
    return len(head) >= 8 and head[4:8] == _MAGIC


def detect(path: Path, head: bytes) -> str | None:
    """The MegEngine format of ``path`` (``head`` is its first bytes), or ``None``."""
    if path.is_dir():
        return HUBCONF if (path / "hubconf.py").is_file() else None
    if _is_traced(path, head):
        return TRACED
    if (
        len(head) >= 2
        and head[0] == 0x80
        and 2 <= head[1] <= 5
        and any(marker in head for marker in _PICKLE_MARKERS)
    ):
        return PICKLE
    return None

"""ONNX external data: find every reference in a model and refuse the ones that escape.

A tensor may keep its bytes in another file (``external_data`` entries
``location``, ``offset``, ``length``), resolved by onnx and onnxruntime
relative to the model's folder. Malicious locations (``../secret``,
``/etc/passwd``, ``sub/../../x``, a symlinked folder) have been CVEs in onnx
three times (CVE-2022-25882, CVE-2024-27318, CVE-2026-27489) and onnxruntime
misses some paths (sparse initializers). So polyhub checks every reference
itself, before any framework opens the model.

The model is read as raw protobuf through ``mmap`` (no onnx import, no copy of
the weights): tensors are found in graph initializers, sparse initializers,
node attributes (``Constant`` values, subgraphs of ``If``/``Loop``/``Scan``),
functions and training info. Graphs and tensors are walked field by field,
skipping tensor payloads by their length, so a 100 MB initializer costs a few
reads. Nodes are many and small: a node whose bytes do not contain the text
``location`` (the mandatory key of an external reference, whatever varint
encodes its length) cannot hold one, so it is skipped after a C-speed search.
"""

from __future__ import annotations

import mmap
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from polyhub import MetadataError, UnsafeArchiveError, UnsafePathError, read_varint, safe_relpath

__all__ = ["ExternalRef", "check_external_data", "external_refs"]

_LOCATION = b"location"
# Small, numerous messages: searched for _LOCATION before being walked.
_SCREENED = frozenset({"node", "attribute", "function", "training"})

# message kind -> {field number: nested message kind}
_NESTED: dict[str, dict[int, str]] = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},
    "function": {7: "node", 11: "attribute"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
    "tensor": {},
}


@dataclass(frozen=True)
class ExternalRef:
    """One tensor's external data: where it says its bytes are."""

    tensor: str
    location: str | None
    offset: int | None = None
    length: int | None = None


def _fields(buf: memoryview, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield (field number, wire type, value start, value end) for one message."""
    pos = start
    while pos < end:
        tag, pos = read_varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            _, after = read_varint(buf, pos)
        elif wire == 1:
            after = pos + 8
        elif wire == 5:
            after = pos + 4
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            after = pos + length
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if after > end:
            raise ValueError("a field runs past its message")
        yield number, wire, pos, after
        pos = after


def _tensor_ref(buf: memoryview, start: int, end: int) -> ExternalRef | None:
    name = ""
    entries: dict[str, str] = {}
    external = False
    for number, wire, s, e in _fields(buf, start, end):
        if number == 8 and wire == 2:
            name = bytes(buf[s:e]).decode("utf-8", "replace")
        elif number == 14 and wire == 0:
            external = read_varint(buf, s)[0] == 1
        elif number == 13 and wire == 2:
            key = value = ""
            for n, w, ks, ke in _fields(buf, s, e):
                text = bytes(buf[ks:ke]).decode("utf-8", "replace") if w == 2 else ""
                if n == 1:
                    key = text
                elif n == 2:
                    value = text
            entries[key] = value
    if not external and not entries:
        return None

    def number_of(key: str) -> int | None:
        raw = entries.get(key)
        if raw is None:
            return None
        if not raw.isdigit():
            raise MetadataError(
                f"tensor {name!r} has external_data {key}={raw!r}, not a byte count",
                field=f"external_data.{key}",
            )
        return int(raw)

    return ExternalRef(name, entries.get("location"), number_of("offset"), number_of("length"))


def _walk(mm: mmap.mmap, buf: memoryview, kind: str, start: int, end: int) -> Iterator[ExternalRef]:
    if kind == "tensor":
        ref = _tensor_ref(buf, start, end)
        if ref is not None:
            yield ref
        return
    if kind in _SCREENED and mm.find(_LOCATION, start, end) < 0:
        return
    nested = _NESTED[kind]
    for number, wire, s, e in _fields(buf, start, end):
        child = nested.get(number)
        if child is not None and wire == 2:
            yield from _walk(mm, buf, child, s, e)


def external_refs(path: Path) -> list[ExternalRef]:
    """Every external-data reference in the model at ``path`` (empty for most models).

    :raises MetadataError: the file is not a well-formed protobuf.
    """
    size = path.stat().st_size
    if size == 0:
        return []
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = memoryview(mm)
        try:
            return list(_walk(mm, view, "model", 0, size))
        except ValueError as exc:
            raise MetadataError(
                f"is not a well-formed ONNX protobuf: {exc}", file=str(path)
            ) from None
        finally:
            view.release()


def _escape_reason(location: str) -> str | None:
    try:
        safe_relpath(location)
    except UnsafePathError as exc:
        return exc.reason
    return None


def check_external_data(path: Path) -> list[ExternalRef]:
    """Refuse external data that could read outside the model's folder; return the references.

    Each ``location`` must be relative, have no ``..`` segment, pass through no
    symbolic link, name a regular file inside the folder, and ``offset`` plus
    ``length`` must fit in that file.

    :raises UnsafeArchiveError: a location escapes the folder (absolute, ``..``, a link).
    :raises MetadataError: a location is missing, its file is absent, or its range
        does not fit the file.
    """
    refs = external_refs(path)
    folder = path.parent
    for ref in refs:
        where = f"tensor {ref.tensor!r}"
        if ref.location is None:
            raise MetadataError(
                f"{where} stores its data externally but has no location",
                file=str(path),
                field="external_data.location",
            )
        why = _escape_reason(ref.location)
        if why is not None:
            raise UnsafeArchiveError(
                f"{path}: {where} has external_data location {ref.location!r}, which {why}; "
                "refused before loading (it must name a file inside the model's folder)"
            )
        current = folder
        mode = 0
        for part in ref.location.split("/"):
            if part in ("", "."):
                continue
            current = current / part
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                raise MetadataError(
                    f"{where} needs external data {ref.location!r}, which is not in {folder}",
                    file=str(path),
                    field="external_data.location",
                ) from None
            if stat.S_ISLNK(mode):
                raise UnsafeArchiveError(
                    f"{path}: {where} reads external data through the symbolic link "
                    f"{current}; refused before loading"
                )
        if current == folder or not stat.S_ISREG(mode):
            raise UnsafeArchiveError(
                f"{path}: {where}: external data {current} is not a regular file"
            )
        available = os.stat(current).st_size
        offset = ref.offset or 0
        length = ref.length if ref.length is not None else available - offset
        if offset > available or offset + length > available:
            raise MetadataError(
                f"{where} reads bytes {offset}..{offset + length} of {ref.location!r}, "
                f"which has {available}",
                file=str(path),
                field="external_data.length",
            )
    return refs

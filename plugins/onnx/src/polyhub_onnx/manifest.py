"""``ONNX_HUB_MANIFEST.json``: parsing into typed entries, and the publishing checks.

The manifest is a JSON list; each entry has ``model``, ``model_path``,
``onnx_version``, ``opset_version`` and ``metadata`` (``model_sha``,
``model_bytes``, ``tags``, ``io_ports``, ``model_with_data_path``,
``model_with_data_sha``, ``model_with_data_bytes``; see ``docs/onnx.md``).

One checker serves two callers: :func:`parse_manifest` keeps each broken
entry aside with the :class:`~polyhub.MetadataError` of its first problem (a
fault in one entry must not make the other 183 unusable; the source refuses
the broken entry when it is addressed and warns when listing), and
:func:`validate_manifest` collects every problem for ``polyhub validate``. Both
name the file, the entry (index and model name), the line and the field.

The manifest comes from the network, so parsing is bounded and total: a
number too long for ``int`` (Python refuses more than 4,300 digits), nesting
deeper than the JSON parser's recursion limit, and strings that cannot be
encoded (lone surrogates from ``\\ud800`` escapes, which fail later as file
names or in ``print``) all end as a :class:`~polyhub.MetadataError`: of the
whole file when it cannot be parsed, else of the one entry that holds them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeGuard
from urllib.parse import unquote

from polyhub import IOPort, MetadataError, Problem, UnsafePathError, file_sha256, safe_relpath

__all__ = [
    "BrokenEntry",
    "Manifest",
    "ManifestEntry",
    "check_relative_path",
    "entry_lines",
    "parse_manifest",
    "validate_manifest",
]

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Nearly every real path matches this; checking it first keeps parsing the
# 184-entry manifest well under a millisecond per hundred entries.
_SEGMENT = r"[A-Za-z0-9_\-](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?"
_PLAIN_PATH = re.compile(rf"^{_SEGMENT}(?:/{_SEGMENT})*$")
_LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
# Python refuses int() of more than 4,300 digits (CVE-2020-10735); longer numbers
# are kept as _LongNumber so only the entry holding one is refused.
_MAX_DIGITS = 4000
_MAX_REPR = 80


class _LongNumber:
    """A JSON number too long to convert; never valid where a number is expected."""

    __slots__ = ("digits",)

    def __init__(self, text: str) -> None:
        self.digits = len(text)

    def __repr__(self) -> str:
        return f"<a {self.digits}-digit number>"


def _parse_int(text: str) -> int | _LongNumber:
    return int(text) if len(text) <= _MAX_DIGITS else _LongNumber(text)


def _short(value: object) -> str:
    """``repr(value)`` cut to a readable length: messages quote hostile values."""
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 4] + "..." + text[-1]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unusable(raw: object) -> tuple[str, str] | None:
    """``(field, why)`` for the first value under ``raw`` that nothing can use, else ``None``.

    Iterative: a value nested a few hundred levels deep is legal JSON, and a
    recursive walk would spend the stack the caller still needs.
    """
    stack: list[tuple[str, object]] = [("", raw)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, _LongNumber):
            return where, f"is {value!r}, too long to be read as a number"
        if isinstance(value, str):
            if not _encodable(value):
                return where, f"{_short(value)} holds a lone surrogate, which no file name can"
        elif isinstance(value, dict):
            for key, item in value.items():
                if not _encodable(key):
                    return where, f"has a key {_short(key)} holding a lone surrogate"
                stack.append((f"{where}.{key}" if where else key, item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
    return None


@dataclass(frozen=True)
class ManifestEntry:
    """One manifest entry, checked.

    :ivar index: the entry's position in the manifest list (0-based).
    :ivar raw: the entry exactly as the manifest has it (every key kept).
    """

    index: int
    model: str
    model_path: str
    opset: int
    onnx_version: str | None = None
    model_sha: str | None = None
    model_bytes: int | None = None
    tags: tuple[str, ...] = ()
    inputs: tuple[IOPort, ...] = ()
    outputs: tuple[IOPort, ...] = ()
    data_path: str | None = None
    data_sha: str | None = None
    data_bytes: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def label(self) -> str:
        """How messages name the entry: ``#12 'MNIST'``."""
        return f"#{self.index} {self.model!r}"


@dataclass(frozen=True)
class BrokenEntry:
    """An entry that cannot be used, and why.

    :ivar model: its model name, when that much is readable (``None`` otherwise).
    :ivar opset: its opset, when readable.
    :ivar error: the error of its first problem (file, line, entry and field named).
    """

    index: int
    model: str | None
    opset: int | None
    error: MetadataError


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: where it came from, its usable entries and its broken ones."""

    file: str
    entries: tuple[ManifestEntry, ...]
    broken: tuple[BrokenEntry, ...] = ()

    def named(self, name: str) -> list[ManifestEntry]:
        """Entries whose model name matches ``name``, case-insensitively (as onnx.hub)."""
        wanted = name.casefold()
        return [e for e in self.entries if e.model.casefold() == wanted]

    def broken_named(self, name: str) -> list[BrokenEntry]:
        """Broken entries whose (readable) model name matches ``name``, case-insensitively.

        An entry whose name is unreadable cannot be addressed; listings warn about it.
        """
        wanted = name.casefold()
        return [b for b in self.broken if b.model is not None and b.model.casefold() == wanted]


Report = Callable[[int, str, str], None]
"""``report(index, field, message)``; index -1 is the manifest as a whole."""


def check_relative_path(value: object) -> str | None:
    """Why ``value`` is not a safe relative POSIX path inside a hub, or ``None`` when it is.

    Refuses absolute, drive and UNC paths, backslashes, ``..`` and ``.``
    segments, empty segments, NUL and control characters, and the same after
    one round of percent-decoding (a mirror or web server may decode it).
    """
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not value:
        return "must not be empty"
    if _PLAIN_PATH.match(value):
        return None
    for candidate in dict.fromkeys((value, unquote(value), unquote(unquote(value)))):
        if _CONTROL.search(candidate):
            return f"{_short(value)} contains a NUL or control character"
        # The core's rule first (what every plugin refuses), then the manifest's own,
        # stricter one: a hub path is written in one canonical spelling.
        try:
            safe_relpath(candidate)
        except UnsafePathError as exc:
            if exc.reason == "contains a backslash":
                return f"{_short(value)} contains a backslash"
            if exc.reason == "is absolute":
                return f"{_short(value)} is absolute; it must be relative to the hub"
            if exc.reason != "is empty":  # a blank segment is named below
                return f"{_short(value)} has a '..' or '.' segment; it must stay inside the hub"
        parts = candidate.split("/")
        if "." in parts:
            return f"{_short(value)} has a '..' or '.' segment; it must stay inside the hub"
        if any(not p for p in parts):
            return f"{_short(value)} has an empty segment"
        if any(p != p.rstrip(". ") for p in parts):
            return f"{_short(value)} has a segment ending in a dot or space"
    return None


def _int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _ports(raw: object, where: str, bad: Callable[[str, str], None]) -> tuple[IOPort, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        bad(where, f"must be a list of ports, not {type(raw).__name__}")
        return ()
    ports = []
    for i, port in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(port, dict):
            bad(here, f"must be an object, not {type(port).__name__}")
            continue
        name = port.get("name")
        if not isinstance(name, str):
            bad(f"{here}.name", "is missing or not a string")
            continue
        shape = port.get("shape")
        dims: tuple[int | str | None, ...] | None = None
        if shape is not None:
            if not isinstance(shape, list) or not all(
                d is None or isinstance(d, str) or _int(d) for d in shape
            ):
                bad(f"{here}.shape", "must be a list of ints, names or nulls")
                continue
            dims = tuple(shape)
        kind = port.get("type", "")
        if not isinstance(kind, str):
            bad(f"{here}.type", "must be a string such as 'tensor(float)'")
            continue
        ports.append(IOPort(name=name, shape=dims, type=kind))
    return tuple(ports)


def _entry(raw: object, index: int, report: Report) -> ManifestEntry | None:
    """Check one entry; report each problem; return the entry when it is usable."""
    if not isinstance(raw, dict):
        report(index, "", f"an entry must be an object, not {type(raw).__name__}")
        return None
    ok = True

    def bad(field_name: str, message: str) -> None:
        nonlocal ok
        ok = False
        report(index, field_name, message)

    unusable = _unusable(raw)
    if unusable is not None:
        bad(*unusable)
        return None
    model = raw.get("model")
    if not isinstance(model, str) or not model.strip():
        bad("model", "is missing or not a non-empty string")
    model_path = raw.get("model_path")
    if model_path is None:
        bad("model_path", "is missing")
    elif (why := check_relative_path(model_path)) is not None:
        bad("model_path", why)
    opset = raw.get("opset_version")
    if not _int(opset) or opset < 1:
        bad("opset_version", f"must be a positive integer, not {_short(opset)}")
    onnx_version = raw.get("onnx_version")
    if onnx_version is not None and not isinstance(onnx_version, str):
        bad("onnx_version", f"must be a string such as '1.5', not {_short(onnx_version)}")
    meta = raw.get("metadata")
    if not isinstance(meta, dict):
        bad("metadata", "is missing or not an object")
        meta = {}

    def sha(key: str) -> str | None:
        value = meta.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not _SHA256.match(value):
            bad(f"metadata.{key}", f"must be 64 hex digits (a sha256), not {_short(value)}")
            return None
        return value.lower()

    def size(key: str) -> int | None:
        value = meta.get(key)
        if value is None:
            return None
        if not _int(value) or value < 0:
            bad(f"metadata.{key}", f"must be a byte count, not {_short(value)}")
            return None
        return int(value)

    model_sha, model_bytes = sha("model_sha"), size("model_bytes")
    data_sha, data_bytes = sha("model_with_data_sha"), size("model_with_data_bytes")
    data_path = meta.get("model_with_data_path")
    if data_path is not None and (why := check_relative_path(data_path)) is not None:
        bad("metadata.model_with_data_path", why)
    tags = meta.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        bad("metadata.tags", "must be a list of strings")
        tags = []
    io_ports = meta.get("io_ports")
    inputs: tuple[IOPort, ...] = ()
    outputs: tuple[IOPort, ...] = ()
    if io_ports is not None:
        if not isinstance(io_ports, dict):
            bad("metadata.io_ports", "must be an object with 'inputs' and 'outputs'")
        else:
            inputs = _ports(io_ports.get("inputs"), "metadata.io_ports.inputs", bad)
            outputs = _ports(io_ports.get("outputs"), "metadata.io_ports.outputs", bad)
    if not ok:
        return None
    assert isinstance(model, str) and isinstance(model_path, str) and isinstance(opset, int)
    return ManifestEntry(
        index=index,
        model=model,
        model_path=model_path,
        opset=opset,
        onnx_version=onnx_version,
        model_sha=model_sha,
        model_bytes=model_bytes,
        tags=tuple(tags),
        inputs=inputs,
        outputs=outputs,
        data_path=data_path,
        data_sha=data_sha,
        data_bytes=data_bytes,
        raw=MappingProxyType(raw),
    )


def entry_lines(text: str) -> list[int]:
    """The 1-based line on which each top-level entry starts (empty if not a JSON list).

    ``json`` reports no positions for values, so this walks the list with
    ``raw_decode``; it runs only when a message needs a line.
    """
    decoder = json.JSONDecoder()
    lines: list[int] = []
    pos = _skip_ws(text, 0)
    if pos >= len(text) or text[pos] != "[":
        return lines
    pos = _skip_ws(text, pos + 1)
    while pos < len(text) and text[pos] != "]":
        lines.append(text.count("\n", 0, pos) + 1)
        try:
            _, pos = decoder.raw_decode(text, pos)
        except ValueError:
            break
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
    return lines


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _name_of(raw: object) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("model"), str):
        return f" {_short(raw['model'])}"
    return ""


def _load_json(data: bytes | str, file: str) -> tuple[str, Any]:
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise MetadataError(f"is not UTF-8 text: {exc}", file=file) from None
    try:
        return text, json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise MetadataError(
            f"is not valid JSON: {exc.msg} (column {exc.colno})", file=file, line=exc.lineno
        ) from None
    except RecursionError:
        raise MetadataError(
            "nests lists or objects too deeply to be read (a manifest is a flat list of entries)",
            file=file,
        ) from None
    except ValueError as exc:  # e.g. a float literal json cannot convert
        raise MetadataError(f"is not valid JSON: {exc}", file=file) from None


def parse_manifest(data: bytes | str, file: str) -> Manifest:
    """Parse manifest bytes fetched from ``file`` (a URL or path, used in messages).

    An entry with a missing or wrong field is kept in :attr:`Manifest.broken`
    with the error of its first problem; the other entries stay usable.

    :raises MetadataError: the file as a whole is unusable: not UTF-8, not JSON
        (or nested too deeply to parse), or not a list.
    """
    text, doc = _load_json(data, file)
    if not isinstance(doc, list):
        raise MetadataError(
            f"must be a JSON list of model entries, not {type(doc).__name__}", file=file
        )
    first_problem: dict[int, MetadataError] = {}
    lines: list[int] | None = None

    def keep(index: int, field_name: str, message: str) -> None:
        nonlocal lines
        if index in first_problem:
            return
        if lines is None:
            lines = entry_lines(text)
        first_problem[index] = MetadataError(
            message,
            file=file,
            line=lines[index] if 0 <= index < len(lines) else None,
            entry=f"#{index}{_name_of(doc[index])}",
            field=field_name or None,
        )

    entries = []
    broken = []
    for index, raw in enumerate(doc):
        entry = _entry(raw, index, keep)
        if entry is not None:
            entries.append(entry)
            continue
        model = raw.get("model") if isinstance(raw, dict) else None
        opset = raw.get("opset_version") if isinstance(raw, dict) else None
        broken.append(
            BrokenEntry(
                index=index,
                model=model if isinstance(model, str) and _encodable(model) else None,
                opset=opset if _int(opset) else None,
                error=first_problem[index],
            )
        )
    return Manifest(file=file, entries=tuple(entries), broken=tuple(broken))


def _local_file_problem(path: Path, sha: str | None, size: int | None) -> str | None:
    """Compare a published file (or its Git LFS pointer) with the manifest's sha and size."""
    if not path.is_file():
        return None  # the hub may host files elsewhere; absence is not an error here
    with open(path, "rb") as f:
        head = f.read(len(_LFS_POINTER))
        pointer = (head + f.read(1024)).decode("ascii", "replace") if head == _LFS_POINTER else None
    if pointer is not None:
        oid = re.search(r"^oid sha256:([0-9a-f]{64})$", pointer, re.M)
        got = re.search(r"^size (\d+)$", pointer, re.M)
        actual_sha = oid[1] if oid else None
        actual_size = int(got[1]) if got else None
    else:
        actual_sha, actual_size = file_sha256(path), path.stat().st_size
    if size is not None and actual_size != size:
        return f"{path.name} has {actual_size} bytes, the manifest says {size}"
    if sha is not None and actual_sha != sha:
        return f"{path.name} has sha256 {actual_sha}, the manifest says {sha}"
    return None


def validate_manifest(path: Path) -> list[Problem]:
    """Every problem of the manifest at ``path``: fields, paths, duplicates, local files.

    Files the manifest names are checked (size and sha256, or the Git LFS
    pointer's oid and size) when they exist next to it.
    """
    file = str(path)
    try:
        text, doc = _load_json(path.read_bytes(), file)
    except MetadataError as exc:
        return [Problem(file, "", str(exc).removeprefix(f"{file}:").strip(), exc.line)]
    except OSError as exc:
        return [Problem(file, "", f"cannot be read: {exc}")]
    if not isinstance(doc, list):
        return [
            Problem(file, "", f"must be a JSON list of model entries, not {type(doc).__name__}")
        ]
    lines = entry_lines(text)
    problems: list[Problem] = []

    def collect(index: int, field_name: str, message: str) -> None:
        where = f"entry #{index}{_name_of(doc[index])}"
        problems.append(
            Problem(
                file,
                field_name or "(entry)",
                f"{where}: {message}",
                lines[index] if index < len(lines) else None,
            )
        )

    seen: dict[tuple[str, int], int] = {}
    for index, raw in enumerate(doc):
        entry = _entry(raw, index, collect)
        if entry is None:
            continue
        key = (entry.model.casefold(), entry.opset)
        if key in seen:
            collect(index, "opset_version", f"duplicates entry #{seen[key]} (same model and opset)")
        seen.setdefault(key, index)
        if entry.model_sha is None:
            collect(index, "metadata.model_sha", "is missing: downloads cannot be verified")
        if entry.data_path is not None and entry.data_sha is None:
            collect(
                index, "metadata.model_with_data_sha", "is missing: test data cannot be verified"
            )
        for rel, sha, size, name in (
            (entry.model_path, entry.model_sha, entry.model_bytes, "model_path"),
            (entry.data_path, entry.data_sha, entry.data_bytes, "metadata.model_with_data_path"),
        ):
            if rel is not None and (why := _local_file_problem(path.parent / rel, sha, size)):
                collect(index, name, why)
    return problems

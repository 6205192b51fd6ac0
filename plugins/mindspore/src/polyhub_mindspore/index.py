"""The index of a hub's cards: built once per hub revision, then listed from.

Building reads every card of the tree (a few thousand markdown files), so it
is done once per hub commit (git hubs) or per tree fingerprint (local
folders: names, sizes and mtimes) and stored under
the plugin's own folder of the polyhub home (``<home>/plugins/mindspore/index/``,
``Context.storage``), written through a temporary file and an
atomic rename. Listing after that reads that file only, which is also what
makes ``list_models`` work offline. Broken cards are kept in the index with
their error, so ``polyhub list`` can say how many were skipped and why.

The file is :mod:`marshal` data (the format of Python's own ``.pyc`` files) of
plain tuples, strings and bytes, written by polyhub into its own home, like
``__pycache__``: for the 2,915 real cards it loads in 4 ms where the same
index as JSON took 95 ms (measured in one run; ``benchmarks/mindspore_index.py``).
Equal strings are shared before writing, so marshal stores each once, and each
card's raw metadata stays JSON bytes, parsed only when a filter or a caller
reads it. Anything unexpected in the file (torn, foreign, another layout) makes
it rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from polyhub import (
    Address,
    Asset,
    CodeRef,
    Context,
    DownloadError,
    MetadataError,
    ModelCard,
    PolyhubWarning,
    atomic_write,
)

from .hub import Hub
from .uid import Uid, uid_from_relpath

__all__ = [
    "FILTERS",
    "build_index",
    "cards_of",
    "filter_entries",
    "filter_indices",
    "index_path",
    "load_index",
    "to_card",
]

# 2: asset-sha256 read as text (a card's 64 zeros were the int 0, i.e. no hash, in 1).
# 3: marshal rows instead of JSON objects; metadata kept as JSON bytes.
# 4: each asset keeps the sha256 prefix its card publishes.
FORMAT_VERSION = 4
# The fields of an entry, in the order of a stored row.
_ROW = (
    "uid",
    "file",
    "name",
    "version",
    "dataset",
    "summary",
    "tags",
    "publisher",
    "license",
    "assets",
    "code",
    "metadata",
)
FILTERS = (
    "publisher",
    "mindspore_version",
    "backend",
    "module_type",
    "dataset",
    "used_for",
    "file_format",
    "model",
    "tags",
    "hub",
    "revision",
)

# Listing the same index twice in one process should not parse the JSON twice,
# nor rebuild the (immutable, so shareable) cards.
_MEMO: dict[str, tuple[int, dict[str, Any]]] = {}
_CARDS: dict[tuple[int, str, str | None], tuple[dict[str, Any], list[ModelCard]]] = {}


def _entry(card: ModelCard, uid: Uid) -> dict[str, Any]:
    code = card.code
    return {
        "uid": str(uid),
        "file": card.file,
        "name": card.name,
        "version": card.version,
        "dataset": card.dataset,
        "summary": card.summary,
        "tags": list(card.tags),
        "publisher": card.publisher,
        "license": card.license,
        "assets": [[a.url, a.sha256, a.format, a.name, a.sha256_prefix] for a in card.assets],
        "code": None
        if code is None
        else [code.url, code.revision, code.subdir, code.entry, code.kind, code.repo_id],
        "metadata": dict(card.metadata),
    }


class LazyMetadata(Mapping[str, Any]):
    """A card's raw metadata, read from its JSON on first use.

    A listing builds thousands of cards and its caller reads the metadata of a
    few; parsing all of it was a third of the cost of listing the real hub.
    """

    __slots__ = ("_data", "_raw")

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._data: Mapping[str, Any] | None = None

    def _mapping(self) -> Mapping[str, Any]:
        if self._data is None:
            value = json.loads(self._raw)
            self._data = MappingProxyType(value if isinstance(value, dict) else {})
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def __repr__(self) -> str:
        return repr(dict(self._mapping()))


def _view(doc: dict[str, Any], i: int) -> dict[str, Any]:
    """Row ``i`` of ``doc`` as an entry (a dict), its metadata parsed once and kept in ``doc``."""
    row = doc["rows"][i]
    parsed: list[dict[str, Any] | None] = doc.setdefault("_meta", [None] * len(doc["rows"]))
    meta = parsed[i]
    if meta is None:
        value = json.loads(row[-1])
        meta = parsed[i] = value if isinstance(value, dict) else {}
    entry = dict(zip(_ROW[:-1], row, strict=False))
    entry["metadata"] = meta
    return entry


def _make(cls: type[Any], fields: dict[str, Any]) -> Any:
    # The values come from cards built (and checked) by the constructors when the
    # index was made, so the constructors' normalising __post_init__ has nothing
    # left to do; skipping it and the frozen __setattr__ per field made rebuilding
    # the 2,915 real cards 4x faster. test_index checks the result is equal.
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


def to_card(
    entry: Mapping[str, Any], address_options: Mapping[str, Any], revision: str | None
) -> ModelCard:
    """Rebuild a :class:`ModelCard` from an index entry (as :func:`filter_entries` gives)."""
    row = _to_rows([entry])[0]
    return _to_card(row, MappingProxyType(dict(address_options)), revision)


def _to_card(
    row: tuple[Any, ...], options: MappingProxyType[str, Any], revision: str | None
) -> ModelCard:
    """The card of a stored row (see :data:`_ROW` for the order of its fields)."""
    uid, file, name, version, dataset, summary, tags, publisher, license_, assets, code, meta = row
    fields = {
        "address": _make(
            Address,
            {"scheme": "mindspore", "path": uid, "revision": revision, "options": options},
        ),
        "name": name,
        "source": "mindspore",
        "version": version,
        "dataset": dataset,
        "summary": summary,
        "tags": tuple(tags),
        "assets": tuple(
            [
                _make(
                    Asset,
                    {
                        "url": u,
                        "sha256": s,
                        "size": None,
                        "format": f,
                        "name": n,
                        "role": "model",
                        "sha256_prefix": p,
                    },
                )
                for u, s, f, n, p in assets
            ]
        ),
        "code": None
        if code is None
        else _make(CodeRef, dict(zip(_CODE_FIELDS, code, strict=True))),
        "inputs": (),
        "outputs": (),
        "framework": "mindspore",
        "publisher": publisher,
        "license": license_,
        "file": file,
        "metadata": LazyMetadata(meta),
    }
    return _make(ModelCard, fields)  # type: ignore[no-any-return]


_CODE_FIELDS = ("url", "revision", "subdir", "entry", "kind", "repo_id")


def build_index(hub: Hub) -> dict[str, Any]:
    """Read every card of ``hub`` into an index document (cards, and errors for broken ones)."""
    from .card import build_card, read_card  # YAML: only when an index is built

    paths = dict(hub.card_paths())
    cards: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for rel, path in paths.items():
        uid = uid_from_relpath(rel)
        if uid is None:  # publisher_intro.md and other pages that are no cards
            continue
        source, twin_of = path, None
        if uid.is_cn and uid.twin().relpath in paths:
            source, twin_of = paths[uid.twin().relpath], str(path)
        address = Address("mindspore", str(uid))
        try:
            raw = read_card(source.read_text(encoding="utf-8", errors="replace"), str(source))
            card = build_card(raw, uid, address, twin_of=twin_of)
        except MetadataError as exc:
            errors.append(
                {
                    "uid": str(uid),
                    "file": exc.file,
                    "line": exc.line,
                    "field": exc.field,
                    "message": str(exc),
                }
            )
            continue
        cards.append(_entry(card, uid))
    return {"format": FORMAT_VERSION, "hub": hub.key, "rows": _to_rows(cards), "errors": errors}


def index_path(hub: Hub, context: Context) -> Path:
    key = hub.key
    if hub.spec.kind == "local":
        key += "#" + hub.signature()
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    try:
        folder = context.storage("mindspore")
    except DownloadError:  # a read-only home: the index is built, not stored (load_index)
        folder = Path(context.config.home) / "plugins" / "mindspore"
    return folder / "index" / f"{name}.marshal"


def _to_rows(entries: list[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Entries as rows (:data:`_ROW`): equal strings shared, metadata as JSON bytes."""
    pool: dict[Any, Any] = {}

    def share(value: Any) -> Any:
        if isinstance(value, str):
            return pool.setdefault(value, value)
        if isinstance(value, (list, tuple)):
            return tuple(share(v) for v in value)
        return value

    return [
        (
            *(share(entry[k]) for k in _ROW[:-1]),
            json.dumps(entry["metadata"], separators=(",", ":")).encode(),
        )
        for entry in entries
    ]


def _dump(doc: Mapping[str, Any]) -> bytes:
    """The stored form of an index document (shared strings are stored once by marshal)."""
    return marshal.dumps({k: doc[k] for k in ("format", "hub", "rows", "errors")})


def _undump(data: bytes) -> dict[str, Any] | None:
    """The document stored by :func:`_dump`, or ``None`` for anything else."""
    try:
        stored = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(stored, dict) or stored.get("format") != FORMAT_VERSION:
        return None
    rows, errors = stored.get("rows"), stored.get("errors")
    if not isinstance(rows, list) or not isinstance(errors, list):
        return None
    if not all(
        isinstance(r, tuple) and len(r) == len(_ROW) and isinstance(r[-1], bytes) for r in rows
    ):
        return None
    return stored  # type: ignore[no-any-return]


def load_index(hub: Hub, context: Context) -> dict[str, Any]:
    """The index of ``hub``: from memory, else from disk, else built (and stored)."""
    path = index_path(hub, context)
    key = str(path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:  # absent, or the home is damaged: build it (and try to store it)
        mtime = -1
    memo = _MEMO.get(key)
    if memo is not None and memo[0] == mtime and not context.force_reload:
        return memo[1]
    doc: dict[str, Any] | None = None
    if mtime >= 0 and not context.force_reload:
        try:
            doc = _undump(path.read_bytes())  # None: a torn or foreign file, rebuilt below
        except OSError:
            doc = None
    if doc is None:
        doc = build_index(hub)
        try:
            atomic_write(path, _dump(doc))
            mtime = path.stat().st_mtime_ns
        except OSError as exc:
            # A read-only or full home still lists: the index is derived data,
            # kept in memory for this process only.
            warnings.warn(
                PolyhubWarning(
                    f"cannot store the card index {path} ({exc.strerror or exc}); it is "
                    "rebuilt in each process. Set POLYHUB_HOME to a writable folder"
                ),
                stacklevel=2,
            )
    if memo is not None:
        _CARDS.clear()  # cards of the replaced document are stale
    _MEMO[key] = (mtime, doc)
    return doc


def _norm(value: Any) -> str:
    return str(value).strip().lower()


def _matches(entry: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    meta = entry["metadata"]
    for key, wanted in filters.items():
        if wanted is None or key in ("hub", "revision"):
            continue
        if key == "tags":
            tags = {t.lower() for t in entry["tags"]}
            wanted_tags = [wanted] if isinstance(wanted, str) else list(wanted)
            if wanted_tags and not any(_norm(t) in tags for t in wanted_tags):
                return False
            continue
        want = _norm(wanted)
        if key == "publisher":
            ok = _norm(entry["publisher"]) == want
        elif key == "mindspore_version":
            # Text comparison: 1.10 is not 1.1.
            version = meta.get("mindspore-version") or entry["uid"].split("/")[-2]
            ok = _norm(version) == want
        elif key == "backend":
            ok = want in meta.get("backends", [])
        elif key == "module_type":
            ok = want in (meta.get("module-type-main"), _norm(meta.get("module-type") or ""))
        elif key == "dataset":
            ok = _norm(entry["dataset"] or "") == want
        elif key == "used_for":
            ok = want in [p.strip() for p in _norm(meta.get("used-for") or "").split(",")]
        elif key == "file_format":
            ok = any(_norm(a[2] or "") == want.lstrip(".") for a in entry["assets"])
        elif key == "model":
            ok = want in (
                _norm(entry["name"]),
                _norm(meta.get("model-name") or ""),
                _norm(entry["uid"]),
            )
        else:
            raise TypeError(
                f"unknown filter {key!r} for the mindspore source; known: {', '.join(FILTERS)}"
            )
        if not ok:
            return False
    return True


def cards_of(
    doc: dict[str, Any], options: Mapping[str, Any], revision: str | None
) -> list[ModelCard]:
    """Every card of an index document, built once per document, options and revision."""
    key = (id(doc), repr(sorted(options.items())), revision)
    hit = _CARDS.get(key)
    # The document itself is kept and compared: an id() can be reused once freed.
    if hit is not None and hit[0] is doc:
        return hit[1]
    shared = MappingProxyType(dict(options))  # one read-only view for every address
    cards = [_to_card(row, shared, revision) for row in doc["rows"]]
    if len(_CARDS) > 16:
        _CARDS.clear()
    _CARDS[key] = (doc, cards)
    return cards


def filter_indices(doc: dict[str, Any], filters: Mapping[str, Any]) -> list[int]:
    """Positions of the index entries matching every filter (see :func:`filter_entries`)."""
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise TypeError(
            f"unknown filter(s) {', '.join(unknown)} for the mindspore source; known: {', '.join(FILTERS)}"
        )
    active = {k: v for k, v in filters.items() if v is not None and k not in ("hub", "revision")}
    if not active:
        return list(range(len(doc["rows"])))
    return [i for i in range(len(doc["rows"])) if _matches(_view(doc, i), active)]


def filter_entries(doc: dict[str, Any], filters: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The index entries matching every filter.

    :raises TypeError: a filter the source does not know.
    """
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise TypeError(
            f"unknown filter(s) {', '.join(unknown)} for the mindspore source; known: {', '.join(FILTERS)}"
        )
    return [_view(doc, i) for i in filter_indices(doc, filters)]

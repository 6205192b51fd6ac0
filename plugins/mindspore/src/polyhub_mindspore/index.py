"""The index of a hub's cards: built once per hub revision, then listed from.

Building reads every card of the tree (a few thousand markdown files), so it
is done once per hub commit (git hubs) or per tree fingerprint (local
folders: names, sizes and mtimes) and stored as JSON under
``<polyhub home>/index/mindspore/``, written through a temporary file and an
atomic rename. Listing after that reads the JSON only, which is also what
makes ``list_models`` work offline. Broken cards are kept in the index with
their error, so ``polyhub list`` can say how many were skipped and why.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from polyhub import Address, Asset, CodeRef, Context, MetadataError, ModelCard, PolyhubWarning
from polyhub.atomic import atomic_write

from .card import build_card, read_card
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
FORMAT_VERSION = 2
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
        "assets": [[a.url, a.sha256, a.format, a.name] for a in card.assets],
        "code": None
        if code is None
        else [code.url, code.revision, code.subdir, code.entry, code.kind, code.repo_id],
        "metadata": dict(card.metadata),
    }


def to_card(
    entry: Mapping[str, Any], address_options: Mapping[str, Any], revision: str | None
) -> ModelCard:
    """Rebuild a :class:`ModelCard` from an index entry."""
    code = entry["code"]
    return ModelCard(
        address=Address("mindspore", entry["uid"], revision, address_options),
        name=entry["name"],
        source="mindspore",
        version=entry["version"],
        dataset=entry["dataset"],
        summary=entry["summary"],
        tags=tuple(entry["tags"]),
        assets=tuple(
            Asset(url=u, sha256=s, format=f, name=n, role="model") for u, s, f, n in entry["assets"]
        ),
        code=None if code is None else CodeRef(*code),
        framework="mindspore",
        publisher=entry["publisher"],
        license=entry["license"],
        file=entry["file"],
        metadata=entry["metadata"],
    )


def build_index(hub: Hub) -> dict[str, Any]:
    """Read every card of ``hub`` into an index document (cards, and errors for broken ones)."""
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
    return {"format": FORMAT_VERSION, "hub": hub.key, "cards": cards, "errors": errors}


def index_path(hub: Hub, context: Context) -> Path:
    key = hub.key
    if hub.spec.kind == "local":
        key += "#" + hub.signature()
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    return Path(context.config.home) / "index" / "mindspore" / f"{name}.json"


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
            doc = json.loads(path.read_bytes())
        except (OSError, ValueError):
            doc = None  # a torn or foreign file: rebuild it
        if doc is not None and doc.get("format") != FORMAT_VERSION:
            doc = None
    if doc is None:
        doc = build_index(hub)
        try:
            atomic_write(path, json.dumps(doc, separators=(",", ":")).encode())
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
    cards = [to_card(e, options, revision) for e in doc["cards"]]
    if len(_CARDS) > 16:
        _CARDS.clear()
    _CARDS[key] = (doc, cards)
    return cards


def filter_indices(doc: Mapping[str, Any], filters: Mapping[str, Any]) -> list[int]:
    """Positions of the index entries matching every filter (see :func:`filter_entries`)."""
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise TypeError(
            f"unknown filter(s) {', '.join(unknown)} for the mindspore source; known: {', '.join(FILTERS)}"
        )
    active = {k: v for k, v in filters.items() if v is not None and k not in ("hub", "revision")}
    if not active:
        return list(range(len(doc["cards"])))
    return [i for i, e in enumerate(doc["cards"]) if _matches(e, active)]


def filter_entries(doc: Mapping[str, Any], filters: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The index entries matching every filter.

    :raises TypeError: a filter the source does not know.
    """
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise TypeError(
            f"unknown filter(s) {', '.join(unknown)} for the mindspore source; known: {', '.join(FILTERS)}"
        )
    return [e for e in doc["cards"] if _matches(e, filters)]

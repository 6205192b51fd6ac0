"""The ``onnx:`` source: from an address to a :class:`~polyhub.ModelCard` through a hub manifest.

Addresses are ``onnx:<model>[@<ref>][?opset=N&hub=SPEC]``. The model name is
matched case-insensitively (as ``onnx.hub`` did), the highest opset wins unless
``opset`` is given, and ``@ref`` pins a GitHub hub's branch, tag or commit.
The hub comes from the ``hub`` option, else ``POLYHUB_ONNX_HUB``, else
``onnx/models:main``.

Nothing here downloads model bytes: cards carry URLs, sizes and hashes, and
the core fetches and verifies them.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import posixpath
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyhub import (
    Address,
    AddressError,
    Asset,
    DownloadError,
    MetadataError,
    ModelCard,
    ModelNotFoundError,
    PolyhubWarning,
    RevisionNotFoundError,
)

from .hubs import HUB_ENV, MANIFEST_NAME, HubSpec, parse_hub
from .manifest import Manifest, ManifestEntry, parse_manifest

if TYPE_CHECKING:
    from polyhub import Context

__all__ = [
    "LIST_FILTERS",
    "SCHEME",
    "card_for",
    "help_text",
    "hub_from",
    "list_cards",
    "load_manifest",
    "manifest_path_for",
    "resolve",
    "select_entry",
]

SCHEME = "onnx"
LIST_FILTERS = ("model", "tags", "hub", "opset")

# Parsed manifests keyed by (where, sha256 of the bytes): the index bytes come
# from the core's cache on every call, but parsing and checking 184 entries is
# the expensive part of `list_models`, and equal bytes always parse equally.
_PARSED: OrderedDict[tuple[str, str], Manifest] = OrderedDict()
_PARSED_MAX = 8
_PARSED_LOCK = threading.Lock()


def hub_from(options: Mapping[str, Any]) -> tuple[HubSpec, bool]:
    """The hub an address or a listing names, and whether it must be written into addresses.

    The hub is written into canonical addresses when it is not ``onnx/models``
    or when ``POLYHUB_ONNX_HUB`` is set, so the address means the same hub
    whatever the environment says later.
    """
    given = options.get("hub")
    env = os.environ.get(HUB_ENV, "").strip()
    hub = parse_hub(given if given not in (None, "") else env or None)
    return hub, (not hub.is_default) or bool(env)


def _parse_cached(data: bytes, file: str) -> Manifest:
    key = (file, hashlib.sha256(data).hexdigest())
    with _PARSED_LOCK:
        found = _PARSED.get(key)
        if found is not None:
            _PARSED.move_to_end(key)
            return found
    found = parse_manifest(data, file)  # outside the lock: a broken manifest raises here
    with _PARSED_LOCK:
        _PARSED[key] = found
        while len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return found


def load_manifest(hub: HubSpec, context: Context) -> Manifest:
    """Read ``hub``'s manifest: from disk for a folder, else through the core's index cache.

    :raises RevisionNotFoundError: a GitHub hub's ref has no manifest (HTTP 404).
    :raises ModelNotFoundError: the hub has no manifest at all.
    :raises MetadataError: the manifest is broken (file, entry, line and field named).
    """
    where = hub.manifest_url
    if hub.kind == "local":
        try:
            data = Path(where).read_bytes()
        except FileNotFoundError:
            raise ModelNotFoundError(
                f"the folder {hub.base} is not an ONNX Model Hub: it has no {MANIFEST_NAME}"
            ) from None
        except OSError as exc:
            raise MetadataError(f"cannot be read: {exc}", file=where) from None
        return _parse_cached(data, where)
    try:
        data = context.fetch_index(where)
    except DownloadError as exc:
        if exc.status != 404:
            raise
        if hub.kind == "github" and hub.ref != "main":
            raise RevisionNotFoundError(
                f"{hub.repo} has no {MANIFEST_NAME} at ref {hub.ref!r} ({where} gave 404): "
                "no such branch, tag or commit, or no hub there"
            ) from exc
        raise ModelNotFoundError(f"hub {hub} has no {MANIFEST_NAME} ({where} gave 404)") from exc
    return _parse_cached(data, where)


def _opset_number(value: object, entries: list[ManifestEntry], hub: HubSpec) -> int:
    valid = ", ".join(str(e.opset) for e in sorted(entries, key=lambda e: e.opset))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.isdigit() and len(text) <= 9:
        return int(text)
    name = entries[0].model if entries else "the model"
    # A value that cannot be an opset is the caller's mistake (a usage error on the
    # command line), not a model that is missing.
    raise AddressError(
        f"opset {str(value)[:40]!r} is not a number; {name} in hub {hub} has opsets {valid or 'none'}"
    )


def _refuse_broken(manifest: Manifest, name: str, opset: int | None, best: int | None) -> None:
    """Raise the error of a broken entry that ``name`` (at ``opset``) addresses, if any.

    Without an opset the highest wins, so a broken entry whose opset is higher
    than every usable one (or unreadable) is the one addressed: it is refused
    rather than silently replaced by an older model.
    """
    for broken in manifest.broken_named(name):
        if opset is not None:
            if broken.opset in (None, opset):
                raise broken.error
        elif best is None or broken.opset is None or broken.opset > best:
            raise broken.error


def select_entry(manifest: Manifest, name: str, opset: object, hub: HubSpec) -> ManifestEntry:
    """The entry named ``name`` at ``opset`` (``None``: the highest).

    :raises ModelNotFoundError: no such model, or no such opset (the valid ones are listed).
    :raises MetadataError: the entry addressed is broken (file, entry, line and field named).
    """
    entries = manifest.named(name)
    if manifest.broken and manifest.broken_named(name):
        wanted = None if opset is None or opset == "" else _opset_number(opset, entries, hub)
        if wanted is not None and any(e.opset == wanted for e in entries):
            return next(e for e in entries if e.opset == wanted)
        _refuse_broken(manifest, name, wanted, max((e.opset for e in entries), default=None))
    if not entries:
        names = list(dict.fromkeys(e.model for e in manifest.entries))
        folded = {n.casefold(): n for n in names}
        close = [
            folded[n] for n in difflib.get_close_matches(name.casefold(), folded, n=3, cutoff=0.6)
        ]
        close += [n for n in names if name.casefold() in n.casefold() and n not in close][:3]
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ModelNotFoundError(
            f"no model named {name!r} in ONNX hub {hub} ({len(names)} models){hint}"
        )
    if opset is None or opset == "":
        return max(entries, key=lambda e: e.opset)
    number = _opset_number(opset, entries, hub)
    for entry in entries:
        if entry.opset == number:
            return entry
    valid = ", ".join(str(e.opset) for e in sorted(entries, key=lambda e: e.opset))
    raise ModelNotFoundError(
        f"{entries[0].model} has no opset {number} in ONNX hub {hub}; valid opsets: {valid}"
    )


def card_for(
    entry: ManifestEntry, hub: HubSpec, manifest: Manifest, *, hub_in_address: bool
) -> ModelCard:
    """The card of one entry: the model and its test-data tarball as assets, nothing downloaded."""
    options: dict[str, Any] = {"opset": entry.opset}
    revision = None
    if hub.kind == "github":
        if hub_in_address:
            options["hub"] = hub.repo
        if hub.ref != "main":
            revision = hub.ref
    elif hub_in_address:
        options["hub"] = hub.base
    assets = [
        Asset(
            url=hub.file_url(entry.model_path),
            sha256=entry.model_sha,
            size=entry.model_bytes,
            format="onnx",
            name=posixpath.basename(entry.model_path),
            role="model",
        )
    ]
    if entry.data_path:
        assets.append(
            Asset(
                url=hub.file_url(entry.data_path),
                sha256=entry.data_sha,
                size=entry.data_bytes,
                format="tar.gz",
                name=posixpath.basename(entry.data_path),
                role="test-data",
            )
        )
    tags = ", ".join(entry.tags)
    return ModelCard(
        address=Address(SCHEME, entry.model, revision, options),
        name=entry.model,
        source=SCHEME,
        version=str(entry.opset),
        summary=f"{entry.model}, ONNX opset {entry.opset}" + (f" ({tags})" if tags else ""),
        tags=entry.tags,
        assets=tuple(assets),
        inputs=entry.inputs,
        outputs=entry.outputs,
        framework="onnx",
        publisher=hub.owner or None,
        file=manifest.file,
        metadata=entry.raw,
    )


def resolve(address: Address, context: Context) -> ModelCard:
    """Resolve an ``onnx:`` address to its card."""
    hub, hub_in_address = hub_from(address.options)
    hub = hub.at(address.revision)
    manifest = load_manifest(hub, context)
    entry = select_entry(manifest, address.path, address.option("opset"), hub)
    return card_for(entry, hub, manifest, hub_in_address=hub_in_address)


def _wanted_tags(tags: object) -> set[str] | None:
    if tags is None:
        return None
    items: Iterable[object] = [tags] if isinstance(tags, str) else tags  # type: ignore[assignment]
    return {str(t).casefold() for t in items}


def list_cards(filters: Mapping[str, Any], context: Context) -> list[ModelCard]:
    """Cards of every entry matching ``model`` (case-insensitive), ``tags`` (any of) and ``opset``.

    :raises TypeError: an unknown filter (the known ones are named).
    """
    unknown = sorted(set(filters) - set(LIST_FILTERS))
    if unknown:
        raise TypeError(
            f"unknown filter(s) {', '.join(unknown)} for onnx; known: {', '.join(LIST_FILTERS)}"
        )
    hub, hub_in_address = hub_from(filters)
    manifest = load_manifest(hub, context)
    if manifest.broken:
        _warn_broken(manifest)
    model = filters.get("model")
    wanted_model = str(model).casefold() if model else None
    wanted_tags = _wanted_tags(filters.get("tags"))
    opset = filters.get("opset")
    # A filter value like opset="abc" is a ModelNotFoundError, not int()'s ValueError.
    wanted_opset = _opset_number(opset, [], hub) if opset not in (None, "") else None
    cards = []
    for entry in manifest.entries:
        if wanted_model is not None and entry.model.casefold() != wanted_model:
            continue
        if wanted_tags is not None and not any(t.casefold() in wanted_tags for t in entry.tags):
            continue
        if wanted_opset is not None and entry.opset != wanted_opset:
            continue
        cards.append(card_for(entry, hub, manifest, hub_in_address=hub_in_address))
    return cards


def _warn_broken(manifest: Manifest) -> None:
    shown = manifest.broken[:5]
    more = len(manifest.broken) - len(shown)
    warnings.warn(
        f"{manifest.file}: {len(manifest.broken)} broken entr"
        f"{'y' if len(manifest.broken) == 1 else 'ies'} left out of the listing: "
        + "; ".join(f"entry {b.error.entry} field {b.error.field!r}" for b in shown)
        + (f"; and {more} more" if more else "")
        + f" (first: {shown[0].error})",
        PolyhubWarning,
        stacklevel=4,
    )


def _ports_text(title: str, ports: Iterable[Any]) -> list[str]:
    lines = []
    for port in ports:
        shape = (
            "?"
            if port.shape is None
            else "[" + ", ".join("?" if d is None else str(d) for d in port.shape) + "]"
        )
        lines.append(f"  {port.name}: {port.type or '?'} {shape}")
    return [f"{title}:", *lines] if lines else []


def help_text(card: ModelCard) -> str:
    """A plain-text description of an ONNX hub model, from its manifest entry."""
    raw = card.metadata
    meta = raw.get("metadata") or {}
    model = card.assets_with_role("model")
    lines = [
        f"{card.name} (ONNX opset {card.version}, ONNX {raw.get('onnx_version') or '?'})",
        f"address: {card.address}",
        f"tags: {', '.join(card.tags) or '-'}",
    ]
    if model:
        size = f"{model[0].size:,} bytes" if model[0].size is not None else "size unknown"
        lines.append(
            f"file: {raw.get('model_path')} ({size}, sha256 {model[0].sha256 or 'unknown'})"
        )
    lines += _ports_text("inputs", card.inputs) + _ports_text("outputs", card.outputs)
    extra = meta.get("extra_ports") if isinstance(meta, dict) else None
    if isinstance(extra, dict):
        for key, ports in extra.items():
            if isinstance(ports, list):
                names = ", ".join(str(p.get("name")) for p in ports if isinstance(p, dict))
                lines.append(f"extra ports ({key}): {names}")
    if card.assets_with_role("test-data"):
        lines.append(
            "test data: polyhub.download(address, with_test_data=True) "
            "gives test_data_set_*/input_*.pb and output_*.pb"
        )
    lines.append(f"manifest: {card.file}")
    return "\n".join(lines)


def manifest_path_for(path: Path) -> Path | None:
    """The manifest ``polyhub validate PATH`` should check, or ``None`` when PATH is not one.

    A folder holding ``ONNX_HUB_MANIFEST.json``, that file itself, or any
    ``.json`` file whose content is a list of entries with ``model_path``.
    """
    if path.is_dir():
        candidate = path / MANIFEST_NAME
        return candidate if candidate.is_file() else None
    if path.name == MANIFEST_NAME:
        return path
    if path.suffix.lower() != ".json" or not path.is_file():
        return None
    with open(path, "rb") as f:
        head = f.read(4096).lstrip()
    return path if head.startswith(b"[") and b'"model_path"' in head else None

"""The source side: from a ``megengine:`` address to a checked-out repository and cards.

Nothing here runs repository code: the checkout comes from the core (pinned
to a commit, cached by commit, mirrors applied) and ``hubconf.py`` is read
statically (:mod:`.hubconf`).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyhub import (
    CodeRef,
    ModelCard,
    ModelNotFoundError,
    PolyhubWarning,
    RevisionNotFoundError,
    parse_bool,
)

from .address import DEFAULT_REPO, RepoSpec, parse_repo, split_address
from .detect import HUBCONF as HUBCONF_FORMAT
from .hubconf import HUBCONF as HUBCONF_FILE
from .hubconf import Entry, Hubconf

if TYPE_CHECKING:
    from polyhub import Address, Context

__all__ = ["HUB_ENV", "card_for", "hubconf_for", "list_cards", "materialize", "resolve"]

HUB_ENV = "POLYHUB_MEGENGINE_HUB"
_LIST_FILTERS = frozenset(
    {
        "repo",
        "hub",
        "git_host",
        "protocol",
        "revision",
        "commit",
        "model",
        "tags",
        "pretrained",
        "kind",
    }
)

# A checkout of a commit never changes, so its static reading is kept for the process.
_read: dict[tuple[str, str], Hubconf] = {}
_read_lock = threading.Lock()
# The cards of every entrypoint of a commit, per repository spec: cards are
# immutable, so a repeated listing only filters them. Building 94 cards per call
# (and the garbage collection their allocations set off) was most of a warm listing.
_cards: dict[tuple[str, str, RepoSpec], list[tuple[Entry, ModelCard]]] = {}


def materialize(
    context: Context, url: str, revision: str | None, *, default_branch: bool = False
) -> tuple[Path, str | None]:
    """The local folder of a repository and its commit (``None`` for a plain folder).

    For reading ``hubconf.py`` statically (listing, resolving, help); the core's
    git caches a pinned commit's checkout, so the load reuses it without a git call.

    :param default_branch: ``revision`` was filled in (``master``), not asked for: a
        repository without it is read at the remote's default branch (its HEAD).
    :raises ModelNotFoundError: a local folder that does not exist.
    :raises polyhub.RevisionNotFoundError: (from the core) unknown branch, tag or commit.
    """
    if is_local(url):
        folder = Path(url)
        if not folder.is_dir():
            raise ModelNotFoundError(f"the repository folder {folder} does not exist")
        return folder, None
    try:
        checkout = context.checkout(url, revision)
    except RevisionNotFoundError:
        if not default_branch:
            raise
        # upstream's default is master; repositories made since 2020 mostly have main.
        checkout = context.checkout(url, None)
    return Path(checkout.path), checkout.commit


def is_local(url: str) -> bool:
    """A plain folder (used in place), as opposed to a git URL (scp form included)."""
    return os.path.isabs(url) and "://" not in url


def hubconf_for(root: Path, commit: str | None) -> Hubconf:
    """The static reading of ``root/hubconf.py``, shared per commit."""
    if commit is None:
        return Hubconf(root)
    key = (str(root), commit)
    with _read_lock:
        found = _read.get(key)
    if found is None:
        found = Hubconf(root)
        with _read_lock:
            _read[key] = found
    return found


def card_for(
    address: Address, spec: RepoSpec, entry: Entry, commit: str | None, conf: Hubconf
) -> ModelCard:
    """The card of one entrypoint: code only (``assets=()``), loaded by the megengine runtime."""
    tags = [entry.kind]
    if entry.decorator:
        tags.append("pretrained")
    return ModelCard(
        address=address,
        name=entry.name,
        source="megengine",
        version=commit,
        summary=entry.summary,
        tags=tuple(tags),
        assets=(),
        code=CodeRef(
            url=spec.url,
            # The commit, not the branch: the runtime loads exactly what was resolved.
            revision=commit if commit is not None else spec.revision,
            entry=entry.name,
            kind=HUBCONF_FORMAT,
            repo_id=spec.repo_id,
            file=HUBCONF_FILE,
        ),
        framework="megengine",
        publisher=spec.prefix.split("/")[0]
        if "://" not in spec.prefix and not spec.local
        else None,
        file=str(conf.file),
        metadata={
            "repo": spec.prefix,
            "repo_id": spec.repo_id,
            "url": spec.url,
            "revision": spec.revision,
            "commit": commit,
            "kind": entry.kind,
            "module": entry.module,
            "defined_in": f"{entry.file}:{entry.line}" if entry.file else None,
            "signature": entry.signature,
            "own_signature": entry.own_signature,
            "doc": entry.doc,
            "pretrained_url": entry.pretrained_url,
            "pretrained_sha256": entry.pretrained_sha256,
            "decorator": entry.decorator,
        },
    )


def resolve(address: Address, context: Context) -> ModelCard:
    """Check out the repository and describe the entrypoint, without running its code."""
    spec, name = split_address(address)
    root, commit = materialize(context, spec.url, spec.revision, default_branch=spec.default_branch)
    conf = hubconf_for(root, commit)
    entry = conf.require(name, f"{spec.prefix}" + (f"@{commit[:12]}" if commit else ""))
    return card_for(address, spec, entry, commit, conf)


def _flag(value: Any) -> bool:
    # A word that is not a clear "yes" filters nothing; any other value by its truth.
    return parse_bool(value, default=False) if isinstance(value, str) else bool(value)


def list_cards(filters: Mapping[str, Any], context: Context) -> list[ModelCard]:
    """One card per entrypoint of the repository named by ``repo=`` (or ``hub=``).

    Default repository: ``$POLYHUB_MEGENGINE_HUB``, else ``megengine/models``.
    Filters: ``model`` (exact name or substring), ``tags`` (any of), ``kind``,
    ``pretrained`` (only ``@pretrained`` entrypoints), and the repository's
    ``git_host``, ``protocol``, ``revision``/``commit``.

    :raises TypeError: an unknown filter.
    """
    unknown = set(filters) - _LIST_FILTERS
    if unknown:
        raise TypeError(
            f"unknown filter(s) for megengine: {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(_LIST_FILTERS))}"
        )
    repo_text = filters.get("repo") or filters.get("hub") or os.environ.get(HUB_ENV) or DEFAULT_REPO
    revision = filters.get("revision") or filters.get("commit")
    spec = parse_repo(
        str(repo_text),
        revision=str(revision) if revision else None,
        git_host=filters.get("git_host"),
        protocol=filters.get("protocol"),
    )
    root, commit = materialize(context, spec.url, spec.revision, default_branch=spec.default_branch)
    conf = hubconf_for(root, commit)
    wanted_tags = {
        t.lower()
        for t in (
            [filters["tags"]] if isinstance(filters.get("tags"), str) else filters.get("tags") or []
        )
    }
    model = str(filters["model"]).lower() if filters.get("model") else None
    cards = []
    entries = conf.entries()
    key = (str(root), commit or "", spec)
    with _read_lock:
        built = _cards.get(key) if commit is not None else None
    if built is None:
        built = [
            (entry, card_for(spec.address(name), spec, entry, commit, conf))
            for name, entry in entries.items()
        ]
        if commit is not None:
            with _read_lock:
                if len(_cards) > 64:
                    _cards.clear()
                _cards[key] = built
    if conf.broken:
        # A fault in one entrypoint's modules stays with it; the listing says so.
        first = next(iter(conf.broken.values()))
        warnings.warn(
            f"{conf.file}: {len(conf.broken)} entrypoint(s) left out of the listing "
            f"({', '.join(sorted(conf.broken))}); first: {first}",
            PolyhubWarning,
            stacklevel=4,
        )
    pretrained_only = _flag(filters.get("pretrained", False))
    for entry, card in built:
        name = entry.name
        if model and model != name.lower() and model not in name.lower():
            continue
        if "kind" in filters and entry.kind != filters["kind"]:
            continue
        if pretrained_only and not entry.decorator:
            continue
        if wanted_tags and not wanted_tags & {t.lower() for t in card.tags}:
            continue
        cards.append(card)
    return cards


def help_text(card: ModelCard) -> str:
    """``name(signature)``, where it is defined, its weights URL, and its docstring."""
    meta = card.metadata
    lines = [f"{card.name}{meta.get('signature') or ''}"]
    if meta.get("defined_in"):
        lines.append(f"    defined in {meta['defined_in']} ({meta.get('kind')})")
    if meta.get("pretrained_url"):
        lines.append(f"    pretrained weights: {meta['pretrained_url']}")
    doc = meta.get("doc")
    if doc:
        import inspect

        lines += ["", inspect.cleandoc(doc)]
    return "\n".join(lines)

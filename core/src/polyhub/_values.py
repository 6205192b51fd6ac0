"""The values handed to hooks: cards and their parts, load requests, demo cases, problems.

Every value a hook receives or returns is a frozen dataclass defined here (or
the parsed :class:`~polyhub.Address` and :class:`~polyhub.Device`, whose
grammars live in ``address.py`` and ``device.py``). This module sits below the
hook contract: it imports nothing of the core but those two and the errors, so
the contract, the services and the plugin manager can all import it.

A source plugin builds a :class:`ModelCard` from its hub's metadata (a manifest
entry, a markdown card, a ``hubconf.py`` entrypoint), without downloading any
model bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

from ._address import Address
from ._device import Device
from ._errors import MetadataError

__all__ = [
    "Asset",
    "CodeRef",
    "DemoCase",
    "IOPort",
    "ImportedCode",
    "LoadRequest",
    "ModelCard",
    "Problem",
]


# What a hub may publish in place of a full sha256 (MindSpore cards: 8 digits).
_PREFIX = re.compile(r"[0-9a-f]{1,63}")


def _frozen_mapping(obj: object, name: str) -> None:
    object.__setattr__(obj, name, MappingProxyType(dict(getattr(obj, name))))


@dataclass(frozen=True)
class Asset:
    """One downloadable file of a model.

    :ivar url: where to fetch it (``https://``, ``http://``, ``file://`` or a local path).
    :ivar sha256: lower-case hex digest, or ``None`` when the hub publishes none.
    :ivar size: size in bytes, or ``None`` when unknown.
    :ivar format: the format name the hub declares (``onnx``, ``ckpt``, ...), or ``None``.
    :ivar name: a relative, human-readable file name used for the cache's per-source view.
    :ivar role: ``model`` (loadable by a runtime) or ``test-data``, ``weights``, ...
    :ivar sha256_prefix: the first hex digits of the sha256 (1 to 63, lower-case), for
        hubs that publish only those; the download is refused unless its sha256 starts
        with them. ``None`` when the hub publishes no prefix.
    :raises polyhub.MetadataError: ``sha256_prefix`` is not 1 to 63 hex digits, or
        contradicts ``sha256`` (the card parser names its file and field).
    """

    url: str
    sha256: str | None = None
    size: int | None = None
    format: str | None = None
    name: str = ""
    role: str = "model"
    sha256_prefix: str | None = None

    def __post_init__(self) -> None:
        if self.sha256 is not None:
            object.__setattr__(self, "sha256", self.sha256.strip().lower())
        if not self.name:
            object.__setattr__(self, "name", self.url.rstrip("/").rsplit("/", 1)[-1] or "asset")
        if self.sha256_prefix is not None:
            prefix = str(self.sha256_prefix).strip().lower()
            if not _PREFIX.fullmatch(prefix):
                raise MetadataError(
                    f"{str(self.sha256_prefix)[:80]!r} is not a sha256 prefix of 1 to 63 "
                    f"hexadecimal digits (asset {self.name})",
                    field="sha256_prefix",
                )
            if self.sha256 is not None and not self.sha256.startswith(prefix):
                raise MetadataError(
                    f"the sha256 {self.sha256} of {self.name} does not start with its "
                    f"sha256_prefix {prefix}",
                    field="sha256_prefix",
                )
            object.__setattr__(self, "sha256_prefix", prefix)


@dataclass(frozen=True)
class CodeRef:
    """The code repository a model needs (``hubconf.py``, ``mindspore_hub_conf.py``).

    :ivar url: the git URL, after mirror rewriting is applied by the core.
    :ivar revision: the branch, tag or commit asked for; ``None`` is the repo's default.
    :ivar subdir: the folder inside the repository that holds the model code.
    :ivar entry: the entrypoint (a ``hubconf`` function or a network name).
    :ivar kind: what the code is, e.g. ``megengine-hubconf`` or ``mindspore-hub-conf``;
        a code-only card is loaded by the runtime that declares this as a format.
    :ivar repo_id: the identity trust is checked against, e.g. ``github.com/megengine/models``.
    :ivar file: the Python file the core imports, relative to ``subdir``
        (``hubconf.py``, ``mindspore_hub_conf.py``); empty when the card names none.
    :ivar function: the name the core takes from the imported file; empty means ``entry``
        (MindSpore: ``create_network``, which the runtime calls with ``entry``).
    :ivar fallback_revisions: revisions tried in order, with a logged warning, when
        ``subdir/file`` is not in the checkout at ``revision`` (a card that links a
        branch its model has since moved away from).
    """

    url: str
    revision: str | None = None
    subdir: str = ""
    entry: str = ""
    kind: str = ""
    repo_id: str = ""
    file: str = ""
    function: str = ""
    fallback_revisions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fallback_revisions", tuple(self.fallback_revisions))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view; :meth:`from_dict` reads it back (missing keys take defaults)."""
        return {
            "url": self.url,
            "revision": self.revision,
            "subdir": self.subdir,
            "entry": self.entry,
            "kind": self.kind,
            "repo_id": self.repo_id,
            "file": self.file,
            "function": self.function,
            "fallback_revisions": list(self.fallback_revisions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CodeRef:
        """The :class:`CodeRef` of a :meth:`to_dict` view, also one written before a field existed."""
        revision = data.get("revision")
        return cls(
            url=str(data.get("url") or ""),
            revision=None if revision in (None, "") else str(revision),
            subdir=str(data.get("subdir") or ""),
            entry=str(data.get("entry") or ""),
            kind=str(data.get("kind") or ""),
            repo_id=str(data.get("repo_id") or ""),
            file=str(data.get("file") or ""),
            function=str(data.get("function") or ""),
            fallback_revisions=tuple(str(r) for r in data.get("fallback_revisions") or ()),
        )


@dataclass(frozen=True)
class IOPort:
    """A model input or output: name, shape (ints, symbolic names or ``None``) and element type."""

    name: str
    shape: tuple[int | str | None, ...] | None = None
    type: str = ""


@dataclass(frozen=True)
class ModelCard:
    """What a source knows about one model, without downloading it.

    ``metadata`` keeps the hub's raw record (every key, known or not).
    ``origin`` is set by the core, not the source: the first remote URL (an index,
    a repository) read while the card was resolved, or ``None`` when everything
    read was local. A card with an origin may not name files of this machine.
    """

    address: Address
    name: str
    source: str
    version: str | None = None
    dataset: str | None = None
    summary: str = ""
    tags: tuple[str, ...] = ()
    assets: tuple[Asset, ...] = ()
    code: CodeRef | None = None
    inputs: tuple[IOPort, ...] = ()
    outputs: tuple[IOPort, ...] = ()
    framework: str | None = None
    publisher: str | None = None
    license: str | None = None
    file: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    origin: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _frozen_mapping(self, "metadata")
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "assets", tuple(self.assets))

    def assets_with_role(self, role: str) -> tuple[Asset, ...]:
        return tuple(a for a in self.assets if a.role == role)

    def replace(self, **changes: Any) -> ModelCard:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (used by ``polyhub info --json``)."""
        return {
            "address": str(self.address),
            "name": self.name,
            "source": self.source,
            "version": self.version,
            "dataset": self.dataset,
            "summary": self.summary,
            "tags": list(self.tags),
            "framework": self.framework,
            "publisher": self.publisher,
            "license": self.license,
            "file": self.file,
            "assets": [
                {
                    "url": a.url,
                    "sha256": a.sha256,
                    "size": a.size,
                    "format": a.format,
                    "name": a.name,
                    "role": a.role,
                    "sha256_prefix": a.sha256_prefix,
                }
                for a in self.assets
            ],
            "code": None if self.code is None else self.code.to_dict(),
            "inputs": [{"name": p.name, "shape": p.shape, "type": p.type} for p in self.inputs],
            "outputs": [{"name": p.name, "shape": p.shape, "type": p.type} for p in self.outputs],
        }


def _inactive() -> AbstractContextManager[None]:
    return nullcontext()


@dataclass(frozen=True)
class ImportedCode:
    """A card's code, checked out, trusted and imported by the core (``Context.import_code``).

    :ivar ref: the :class:`CodeRef`, its ``revision`` pinned to ``commit`` (and to the
        fallback revision used, if any).
    :ivar root: the folder ``ref.file`` was imported from (``subdir`` of the checkout).
    :ivar commit: the 40-hex commit, or ``None`` for a local folder used in place.
    :ivar module: the imported file, or ``None`` when only ``function`` could be
        imported (its file needs packages some other entrypoint uses).
    :ivar function: the object named by ``ref.function`` (else ``ref.entry``), or
        ``None`` when the reference names neither.
    """

    ref: CodeRef
    root: Path
    commit: str | None
    module: ModuleType | None
    function: Any
    activator: Callable[[], AbstractContextManager[None]] = field(
        default=_inactive, repr=False, compare=False
    )

    def activate(self) -> AbstractContextManager[None]:
        """A context manager under which the repository's code sees its own modules.

        Call ``function`` (and anything it returns that imports lazily) inside it:
        the repository's packages (``src``, ``official``) resolve to this checkout
        and leave ``sys.modules``/``sys.path`` as they were afterwards.
        """
        return self.activator()


@dataclass(frozen=True)
class LoadRequest:
    """What ``polyhub_runtime_load`` receives.

    :ivar path: the verified local file (or checkout folder); ``None`` for a
        code-only card.
    :ivar format: the format name, declared by the card and confirmed by detection.
    :ivar runtime: the runtime the core chose (the hook is called on its plugin only).
    :ivar device: the concrete device (never ``auto``).
    :ivar card: the model's card.
    :ivar asset: the asset ``path`` holds; ``None`` for a code-only card.
    :ivar options: keyword arguments left for the model: the address options minus
        the source's own options and the core's (``device``, ``runtime``...).
    :ivar code: the card's code, imported by the core, when the runtime declares
        ``format`` among its ``code_formats``; ``None`` otherwise (and for a card
        without code: the runtime says what it misses).
    """

    path: Path | None
    format: str
    runtime: str
    device: Device
    card: ModelCard
    asset: Asset | None
    options: Mapping[str, Any]
    code: ImportedCode | None = None


@dataclass(frozen=True)
class DemoCase:
    """What a plugin's demo loads (returned by ``polyhub_demo_build``).

    :ivar address: the address to load, e.g. ``onnx:tiny-mlp``.
    :ivar env: environment variables to set while loading; ``{base_url}`` in a value
        is replaced by the loopback URL that serves the plugin's demo directory (no
        trailing slash), ``{directory}`` by that directory's path.
    :ivar options: keyword arguments for :func:`polyhub.load`.
    :ivar run: runs one inference on the loaded model and returns a line describing
        the output.
    """

    address: str
    run: Callable[[Any], str]
    env: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""


@dataclass(frozen=True)
class Problem:
    """One failed publishing check (``polyhub validate``): printed as ``file:line: field: message``."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}"

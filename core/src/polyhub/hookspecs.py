"""The hook specifications: the whole contract between the core and its plugins.

A plugin is a module of functions marked with :data:`polyhub.hookimpl`, named
after the specs below, and exposed through an entry point in the ``polyhub``
group. ``polyhub.load(address)`` runs them in this order::

    parse address ──► polyhub_source_resolve ──► ModelCard (no download)
      ──► choose asset + runtime for the device (polyhub_runtime_devices)
      ──► polyhub_source_fetch (core default: verified download into the cache)
      ──► polyhub_format_detect ──► polyhub_runtime_load ──► native model

Who is called: a source hook only on the plugin that registered the scheme
(of the address, of ``card.source`` or the ``scheme`` argument), a runtime
hook only on the plugin that registered the runtime, so an implementation
never checks whose call it is. Format detection, validation, the blob tier
and push are asked of every plugin, in turn, until one answers (``firstresult``:
the first non-``None`` answer wins). Registration hooks are called once per
plugin manager and receive a registry. The core's own defaults are ``trylast``
so any plugin can override them.

A card's code (:class:`~polyhub.CodeRef`) is never run by a plugin on its own:
the core checks the repository out at a commit, checks trust, imports the
entry in isolation and hands the runtime the imported object
(:attr:`LoadRequest.code <polyhub.LoadRequest.code>`).

Every spec takes only the arguments it names; by pluggy's rules an
implementation may accept any subset of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from ._address import Address
    from ._context import Context
    from ._device import Device
    from ._registry import FormatRegistry, RuntimeRegistry, SourceRegistry
    from ._values import Asset, DemoCase, LoadRequest, ModelCard, Problem

hookspec = pluggy.HookspecMarker("polyhub")

hookimpl = pluggy.HookimplMarker("polyhub")
"""Marker for hook implementations: ``@polyhub.hookimpl``."""

# ---------------------------------------------------------------------------
# Registration: what each plugin provides
# ---------------------------------------------------------------------------


@hookspec
def polyhub_register_sources(registry: SourceRegistry) -> None:
    """Declare the address schemes this plugin serves.

    Called once per plugin manager, right after the plugins are loaded, by
    :func:`polyhub.list_plugins`, by address dispatch and by the error for an
    unknown scheme (which lists every registered scheme).

    :param registry: call ``registry.add(SourceInfo(scheme=..., options=...))``
        once per scheme.
    :returns: nothing; return values are ignored.
    :raises polyhub.PluginError: (from ``registry.add``) the scheme is taken.

    .. versionadded:: 0.1
    """


@hookspec
def polyhub_register_formats(registry: FormatRegistry) -> None:
    """Declare the file formats this plugin can detect.

    Called once per plugin manager, after the plugins are loaded.

    :param registry: call ``registry.add(FormatInfo(name=..., suffixes=...))``
        once per format.
    :returns: nothing.

    .. versionadded:: 0.1
    """


@hookspec
def polyhub_register_runtimes(registry: RuntimeRegistry) -> None:
    """Declare the runtimes this plugin provides: formats loaded, device kinds targeted.

    Called once per plugin manager, after the plugins are loaded. Must not
    import the framework: it runs for ``polyhub plugins`` and ``polyhub list``.

    :param registry: call ``registry.add(RuntimeInfo(name=..., formats=..., devices=...))``.
    :returns: nothing.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------
# Source hooks: from an address to a model card and files
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def polyhub_source_resolve(address: Address, context: Context) -> ModelCard | None:
    """Resolve ``address`` to a :class:`~polyhub.ModelCard`, without downloading model bytes.

    Called by :func:`polyhub.load`, :func:`polyhub.download` and
    :func:`polyhub.info`, once per call, before anything else. A source may
    fetch (and should cache, through ``context.fetch_index``) its index.

    :param address: the parsed address; its options already include the caller's
        keyword arguments.
    :param context: the core services for this call (cache, downloads, git, trust).
    :returns: the card. Called only on the plugin that registered ``address.scheme``;
        ``None`` makes the core raise :class:`~polyhub.ModelNotFoundError`.
        Stops at the first non-``None`` result.
    :raises polyhub.ModelNotFoundError: the scheme is served but the model is not there.
    :raises polyhub.RevisionNotFoundError: the ``@revision`` does not exist.
    :raises polyhub.MetadataError: the hub's metadata is broken (name file and field).
    :raises polyhub.OfflineError: offline, and the index is not cached.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def polyhub_source_list(
    scheme: str, filters: Mapping[str, Any], context: Context
) -> list[ModelCard] | None:
    """List the models a source serves, filtered.

    Called by :func:`polyhub.list_models` and ``polyhub list``, once per scheme.
    Must not download model bytes nor execute repository code.

    :param scheme: the scheme asked for.
    :param filters: keyword filters from the caller (``model``, ``tags``, ``hub``,
        and any the source documents); unknown keys should raise ``TypeError``.
    :param context: core services.
    :returns: the matching cards. Called only on the plugin that registered ``scheme``.
        Stops at the first non-``None`` result.
    :raises polyhub.OfflineError: offline, and the index is not cached.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def polyhub_source_help(card: ModelCard, context: Context) -> str | None:
    """Return the help text of a model (a docstring, a card's usage section).

    Called by :func:`polyhub.help` and ``polyhub help``. Must not execute
    repository code: read it statically.

    :param card: the card :func:`polyhub_source_resolve` returned.
    :param context: core services.
    :returns: the text, or ``None`` to use ``card.summary``. Called only on the
        plugin that registered ``card.source``. Stops at the first non-``None`` result.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def polyhub_source_fetch(card: ModelCard, asset: Asset, context: Context) -> Path | None:
    """Bring ``asset`` into the local cache and return its verified path.

    Called by :func:`polyhub.load` and :func:`polyhub.download` once per asset
    needed, on the plugin that registered ``card.source`` and then on the core's
    default (``trylast``), which downloads through the verified,
    content-addressed cache; implement it only for transports the core lacks.

    :param card: the model's card.
    :param asset: the asset of the card to bring in (its url, sha256 or
        sha256_prefix, and size).
    :param context: core services; ``context.fetch(asset)`` is the verified download
        (it checks ``asset.sha256_prefix`` too) and returns a path that ends in the
        asset's own file name.
    :returns: the local path, or ``None`` to let the core's default download it.
        Stops at the first non-``None`` result.
    :raises polyhub.HashMismatchError: the bytes do not match ``asset.sha256`` (or
        ``asset.sha256_prefix``).
    :raises polyhub.DownloadError: the download failed after retries.
    :raises polyhub.OfflineError: offline, and the asset is not cached.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def polyhub_source_validate(path: Path, context: Context) -> list[Problem] | None:
    """Run a hub's publishing checks on a local file or folder.

    Called by ``polyhub validate PATH``. Each source checks what it publishes
    (a model card, a manifest, a ``hubconf.py`` repository).

    :param path: the local file or folder given to ``polyhub validate``.
    :param context: core services.
    :returns: the problems found (empty when all pass), or ``None`` when ``path``
        is not a kind of file this plugin knows. Stops at the first non-``None`` result.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------
# Blob tier: other places that hold a blob by its sha256 (an OCI registry)
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def polyhub_blob_fetch(
    url: str, sha256: str, size: int | None, dest: Path, context: Context
) -> bool | None:
    """Write the blob ``sha256`` into ``dest`` from somewhere other than ``url``.

    Called by the cache, holding the blob's download lock, each time it would
    download ``url`` for an asset with a known sha256 that is not cached (never
    offline). A plugin answers for URLs of its own scheme (``oci://...``,
    which nothing else can download) or as a shared tier in front of every hub
    (``POLYHUB_REGISTRY``). The core hashes ``dest`` afterwards: the plugin
    need not be trusted.

    :param url: the URL the cache would download (after mirror rewriting).
    :param sha256: the lower-case hex digest the bytes must have.
    :param size: the expected size in bytes, or ``None``.
    :param dest: a temporary file to write (it does not exist yet); the core
        removes it after a failure.
    :param context: core services.
    :returns: ``True`` when ``dest`` was written, ``False`` or ``None`` when the
        plugin does not hold the blob (the next plugin, then ``url``, is tried).
        Stops at the first non-``None`` result. When the bytes do not match,
        the core downloads ``url`` with a warning if it can, else raises
        :class:`~polyhub.HashMismatchError`.
    :raises polyhub.DownloadError: the plugin's store failed; the core falls back
        to ``url`` with a warning when it can download it itself, else re-raises.

    .. versionadded:: 0.2
    """


@hookspec
def polyhub_blob_stored(url: str, sha256: str, size: int, path: Path, context: Context) -> None:
    """A blob was just downloaded from ``url`` and verified: a tier may keep a copy.

    Called by the cache once per verified download from a hub (not for blobs
    that came through :func:`polyhub_blob_fetch` nor for cache hits), with the
    blob's final, read-only path. Every plugin is called. Failures should be
    warnings: the download itself succeeded.

    :param url: where the bytes came from.
    :param sha256: their verified digest.
    :param size: their size in bytes.
    :param path: the cached blob; do not modify it.
    :param context: core services.
    :returns: nothing.

    .. versionadded:: 0.2
    """


@hookspec(firstresult=True)
def polyhub_push(
    card: ModelCard, files: Mapping[str, Path], target: str, context: Context
) -> str | None:
    """Publish a resolved, verified model to ``target`` (e.g. ``oci://REGISTRY/REPO:TAG``).

    Called by :func:`polyhub.push` and ``polyhub push`` after the core fetched
    and verified every asset of ``card`` (and checked out its code at a
    pinned commit, ``card.code.revision``).

    :param card: the model's card, its code revision pinned to a commit.
    :param files: verified local path of each asset, by the asset's sha256.
    :param target: the destination as the user wrote it.
    :param context: core services (``context.checkout`` gives the code again).
    :returns: a reference to what was published (with its digest), or ``None``
        when ``target`` is not of this plugin's kind.
        Stops at the first non-``None`` result.
    :raises polyhub.DownloadError: the destination refused or failed.

    .. versionadded:: 0.2
    """


# ---------------------------------------------------------------------------
# Format hooks: what a file is
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def polyhub_format_detect(path: Path, head: bytes) -> str | None:
    """Name the format of the file (or folder) at ``path`` by its content.

    Called by :func:`polyhub.load` after the fetch, and by the format suite of
    the conformance kit. Detection looks at content (magic bytes, protobuf
    shape), not only at the suffix, and must not import a framework.

    :param path: the local file or folder.
    :param head: the first 4096 bytes of the file (empty for a folder).
    :returns: a format name registered by this plugin, or ``None`` when the file
        is not one of its formats. Stops at the first non-``None`` result.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------
# Runtime hooks: from a file to a native model on a device
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def polyhub_runtime_devices(runtime: str) -> list[Device] | None:
    """List the devices ``runtime`` can use on this machine now, best first.

    Called when the core plans a load (``device="auto"`` picks the first), and
    to explain an :class:`~polyhub.UnsupportedError`. May import the framework;
    cache the answer, it is asked on every load.

    :param runtime: a runtime name from ``polyhub_register_runtimes``.
    :returns: the devices (``cpu`` included where supported). Called only on the
        plugin that registered ``runtime``. Stops at the first non-``None`` result.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def polyhub_runtime_explain(runtime: str, device: Device) -> str | None:
    """Say why ``runtime`` cannot use ``device`` on this machine.

    Called by the core when it plans a load on a device that
    ``polyhub_runtime_devices`` did not list, so the
    :class:`~polyhub.UnsupportedError` tells the user what is missing (a
    provider, a library, a driver) and what exists instead.

    :param runtime: a runtime name from ``polyhub_register_runtimes``.
    :param device: the device asked for.
    :returns: one or two sentences, or ``None`` when it has nothing to add. Called
        only on the plugin that registered ``runtime``. Stops at the first non-``None`` result.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def polyhub_runtime_load(request: LoadRequest, context: Context) -> object | None:
    """Load ``request.path`` (in ``request.format``) onto ``request.device``.

    Called by :func:`polyhub.load` once, after the fetch and the format check,
    on the plugin that registered the runtime the core chose (``request.runtime``).
    Framework imports happen here, never at plugin import.

    :param request: the file, its format, the device, the card, the options left
        for the model (the source's own options removed) and, for a format of the
        runtime's ``code_formats``, ``request.code``: the card's code, checked out,
        trusted and imported by the core (an untrusted repository never gets here).
    :param context: core services (weights named by model code go through
        ``context.fetch_url``).
    :returns: the native model object (an ``nn.Cell``, an ``InferenceSession``,
        a MegEngine ``Module``...); ``None`` means the runtime cannot load it
        (the core raises :class:`~polyhub.UnsupportedError`).
        Stops at the first non-``None`` result.
    :raises polyhub.UnsupportedError: the device is missing (say which exist).

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------
# Demo: the embedded default hubs
# ---------------------------------------------------------------------------


@hookspec
def polyhub_demo_build(directory: Path) -> DemoCase | None:
    """Write a tiny demo hub under ``directory`` and say what to load from it.

    Called by ``polyhub demo`` once per plugin. The core serves ``directory``
    on 127.0.0.1 and loads ``DemoCase.address`` through the public API. Real
    tiny models only, made with the real framework; no network.

    :param directory: an empty folder owned by this plugin.
    :returns: the demo case, or ``None`` when the plugin has no demo.

    .. versionadded:: 0.1
    """

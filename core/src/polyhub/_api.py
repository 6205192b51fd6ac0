"""The public API: ``load``, ``download``, ``list_models``, ``info``, ``help``, ``plan``.

Every call builds one :class:`~polyhub.Context` (:func:`make_context`) and
reaches the plugins only through the typed calls of
:class:`polyhub._plugins.Plugins`.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._address import Address, parse_address
from ._context import Context
from ._device import Device, parse_device
from ._errors import MetadataError, PolyhubError, UnsupportedError
from ._loading import Plan, plan_load
from ._plugins import PluginRecord, Plugins, default_plugins
from ._values import Asset, ImportedCode, LoadRequest, ModelCard, Problem

__all__ = [
    "download",
    "fetch",
    "help",
    "info",
    "list_models",
    "list_plugins",
    "load",
    "make_context",
    "plan",
    "validate",
]

log = logging.getLogger(__name__)

# Keywords the core consumes itself; never passed on to sources' models.
CORE_OPTIONS = ("device", "runtime", "offline", "trust_repo", "force_reload", "verify")


def _core_options(addr: Address, **explicit: Any) -> tuple[Address, dict[str, Any]]:
    """Take the core's options out of the address: explicit keywords win over the query.

    ``load("onnx:mnist?device=cpu")`` and ``load("onnx:mnist", device="cpu")`` are the
    same call, and neither makes ``device`` part of the model's identity.
    """
    values = {k: addr.options[k] for k in CORE_OPTIONS if k in addr.options}
    values.update({k: v for k, v in explicit.items() if v is not None})
    return addr.without_options(*CORE_OPTIONS), values


def make_context(
    *,
    offline: bool | None = None,
    trust_repo: bool | str | None = None,
    force_reload: bool = False,
    verify: bool = False,
    plugins: Plugins | None = None,
) -> Context:
    """A :class:`~polyhub.Context` from the ``POLYHUB_*`` variables and the installed plugins.

    What every API call builds first; for code outside a hook (compatibility
    shims, scripts) that needs the core's services.

    :param plugins: the plugin manager (default: the process-wide one).
    """
    from ._config import read_config

    config = read_config(
        offline=offline, trust_repo=trust_repo, force_reload=force_reload, verify=verify
    )
    return (plugins or default_plugins()).context(config)


def _resolve(address: Address, context: Context) -> ModelCard:
    return default_plugins().resolve(address, context)


def _model_options(address: Address, context: Context) -> dict[str, Any]:
    consumed = set(CORE_OPTIONS) | set(context.source_info(address.scheme).options)
    return {k: v for k, v in address.options.items() if k not in consumed}


def info(
    address: str | Address,
    *,
    offline: bool | None = None,
    force_reload: bool | None = None,
    **options: Any,
) -> ModelCard:
    """Describe a model without downloading it: name, version, assets with sha256 and size, io ports.

    ``force_reload=True`` asks the hub again for indexes and branches it has cached.
    """
    addr, core = _core_options(
        parse_address(address, **options), offline=offline, force_reload=force_reload
    )
    context = make_context(offline=core.get("offline"), force_reload=bool(core.get("force_reload")))
    return _resolve(addr, context)


def help(address: str | Address, *, offline: bool | None = None, **options: Any) -> str:
    """The model's help text (entrypoint docstring, card usage). Never runs repository code."""
    addr, core = _core_options(parse_address(address, **options), offline=offline)
    context = make_context(offline=core.get("offline"))
    card = _resolve(addr, context)
    text = default_plugins().help_text(card, context)
    return text if text is not None else card.summary


@contextmanager
def _gc_paused() -> Iterator[None]:
    # A listing builds thousands of small frozen objects (a card, its address and
    # assets per model); the cyclic collector, triggered over and over by the
    # allocations, took a third of the time of listing the 2,915 MindSpore cards.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def list_models(
    scheme: str | None = None,
    *,
    offline: bool | None = None,
    force_reload: bool = False,
    **filters: Any,
) -> list[ModelCard]:
    """List models of one source (``scheme``) or of every installed source.

    Filters are the source's own (``model=``, ``tags=``, ``hub=``...). No model
    bytes are downloaded and no repository code runs. ``force_reload=True`` asks
    the hub again for indexes and branches it has cached. Listing every source,
    one that fails (unreachable hub, cold cache offline) is skipped with a
    :class:`~polyhub.PolyhubWarning`; the call fails only when all of them do.
    """
    plugins = default_plugins()
    context = make_context(offline=offline, force_reload=force_reload)
    if scheme is not None and scheme not in plugins.sources:
        raise plugins.unknown_scheme(scheme)
    schemes = [scheme] if scheme else list(plugins.sources)
    cards: list[ModelCard] = []
    failures: list[PolyhubError] = []
    for name in schemes:
        try:
            with _gc_paused():
                found = plugins.list_cards(name, filters, context)
        except PolyhubError as exc:
            if scheme is not None:
                raise
            failures.append(exc)
            context.warn(f"skipped the {name!r} source: {exc}")
            continue
        cards.extend(found)
    if failures and len(failures) == len(schemes):
        raise failures[0]
    return cards


def plan(
    address: str | Address,
    *,
    device: str | Device | None = None,
    runtime: str | None = None,
    offline: bool | None = None,
    **options: Any,
) -> Plan:
    """Say which asset, runtime and device :func:`load` would use, and why. Downloads nothing."""
    addr, core = _core_options(
        parse_address(address, **options), device=device, runtime=runtime, offline=offline
    )
    context = make_context(offline=core.get("offline"))
    card = _resolve(addr, context)
    return plan_load(
        card, parse_device(core.get("device")), default_plugins(), runtime=core.get("runtime")
    )


def _fetch(card: ModelCard, asset: Asset, context: Context) -> Path:
    return default_plugins().fetch(card, asset, context)


def fetch(
    card: ModelCard,
    asset: Asset,
    *,
    offline: bool | None = None,
    force_reload: bool = False,
    verify: bool = False,
) -> Path:
    """Bring one asset of a resolved card into the cache, verified, and return its path.

    For callers that chose the asset themselves (a compatibility shim picking the
    last checkpoint); goes through the card's source as :func:`download` does.

    :raises polyhub.HashMismatchError: the bytes do not match the asset's sha256.
    :raises polyhub.DownloadError: the download failed after retries.
    :raises polyhub.OfflineError: offline, and the asset is not cached.
    """
    context = make_context(offline=offline, force_reload=force_reload, verify=verify)
    return _fetch(card, asset, context)


def detect_format(path: Path, plugins: Plugins | None = None) -> str | None:
    """Name the format of ``path`` by content, or ``None`` when no plugin knows it."""
    return (plugins or default_plugins()).detect_format(path)


@dataclass(frozen=True)
class Loaded:
    """What one load did: the model, the card, the plan and the verified file (for the CLI and demo)."""

    model: Any
    card: ModelCard
    plan: Plan
    path: Path | None


def _code_for(card: ModelCard, fmt: str, runtime: str, context: Context) -> ImportedCode | None:
    """The card's code, imported, when the runtime needs it for ``fmt`` (else nothing is fetched).

    The core, not the plugin, checks it out and checks trust: a runtime is never
    handed code from a repository that is not trusted.
    """
    plugins = default_plugins()
    info = plugins.runtimes[runtime]
    if card.code is None or fmt not in info.code_formats:
        return None
    return context.import_code(
        card.code,
        scheme=_trust_scheme(card, info.plugin, plugins, context),
        purpose=f"build {card.address} with its code",
    )


def _trust_scheme(card: ModelCard, runtime_plugin: str, plugins: Plugins, context: Context) -> str:
    """The source whose trusted organisations apply to the card's code.

    The card's own source; else a source of the plugin whose runtime runs the code,
    when that one trusts the repository (the framework's own organisations, as its
    runtime always trusted them): a MegEngine/Models hubconf repackaged by a
    registry (``oci:``) is still MegEngine's code. Untrusted by both, the card's
    source is the one named in the refusal or prompt.
    """
    assert card.code is not None
    if context.is_trusted(card.code.repo_id, scheme=card.source):
        return card.source
    for scheme in plugins.sources:
        if plugins.sources[scheme].plugin == runtime_plugin and context.is_trusted(
            card.code.repo_id, scheme=scheme
        ):
            return scheme
    return card.source


def load(
    address: str | Address,
    *,
    device: str | Device | None = None,
    runtime: str | None = None,
    offline: bool | None = None,
    trust_repo: bool | str | None = None,
    force_reload: bool | None = None,
    verify: bool | None = None,
    lock: str | Path | None = None,
    **options: Any,
) -> Any:
    """Load a model from any hub into its runtime, on ``device``.

    :param address: ``scheme:path[@revision][?key=value]``, e.g. ``"onnx:mnist"``.
    :param device: ``auto`` (the default), ``cpu``, ``gpu[:N]`` or ``ascend[:N]``.
    :param runtime: force a runtime (``"onnx"`` gives an ``onnx.ModelProto``).
    :param offline: no network at all (default: ``POLYHUB_OFFLINE``).
    :param trust_repo: ``True``, ``False`` or ``"check"``, for models that run repository code.
    :param force_reload: download again even when cached.
    :param verify: re-hash cached files before use (default: ``POLYHUB_VERIFY``; otherwise
        their size and mtime are compared with those recorded when they were cached).
    :param lock: a lock file (``polyhub lock``): refuse the model unless its assets and
        code are the locked ones (:class:`~polyhub.LockMismatchError`), and
        run the locked commit of its code.
    :param options: the source's options (``hub=``, ``opset=``...) and the model's
        keyword arguments (``pretrained=True``, ``num_classes=10``).
    :returns: the runtime's native model object.
    """
    return load_detailed(
        address,
        device=device,
        runtime=runtime,
        offline=offline,
        trust_repo=trust_repo,
        force_reload=force_reload,
        verify=verify,
        lock=lock,
        **options,
    ).model


def load_detailed(
    address: str | Address,
    *,
    device: str | Device | None = None,
    runtime: str | None = None,
    offline: bool | None = None,
    trust_repo: bool | str | None = None,
    force_reload: bool | None = None,
    verify: bool | None = None,
    lock: str | Path | None = None,
    **options: Any,
) -> Loaded:
    """:func:`load`, also returning the card, the plan and the file, resolved once."""
    addr, core = _core_options(
        parse_address(address, **options),
        device=device,
        runtime=runtime,
        offline=offline,
        trust_repo=trust_repo,
        force_reload=force_reload,
        verify=verify,
    )
    context = make_context(
        offline=core.get("offline"),
        trust_repo=core.get("trust_repo"),
        force_reload=bool(core.get("force_reload")),
        verify=bool(core.get("verify")),
    )
    card = _resolve(addr, context)
    if lock is not None:
        from ._lockfile import apply_lock, read

        card = apply_lock(card, read(lock), context, address=str(address))
    chosen = plan_load(
        card, parse_device(core.get("device")), default_plugins(), runtime=core.get("runtime")
    )
    log.debug("plan for %s: %s", addr, "; ".join(chosen.reasons))
    path: Path | None = None
    fmt = chosen.format
    if chosen.asset is not None:
        path = _fetch(card, chosen.asset, context)
        detected = context.detect_format(path)
        if detected is not None and detected != fmt:
            raise MetadataError(
                f"the card says {fmt!r} but the file {path} is {detected!r}",
                file=card.file or str(card.address),
                field="format",
            )
        if detected is None and fmt in context.formats:
            raise MetadataError(
                f"the file {path} does not look like {fmt!r} (checked by content)",
                file=card.file or str(card.address),
                field="format",
            )
    request = LoadRequest(
        path=path,
        format=fmt,
        runtime=chosen.runtime,
        device=chosen.device,
        card=card,
        asset=chosen.asset,
        options=_model_options(addr, context),
        code=_code_for(card, fmt, chosen.runtime, context),
    )
    model = default_plugins().runtime_load(request, context)
    return Loaded(model, card, chosen, path)


def download(
    address: str | Address,
    *,
    with_test_data: bool = False,
    device: str | Device | None = None,
    offline: bool | None = None,
    force_reload: bool | None = None,
    verify: bool | None = None,
    **options: Any,
) -> Path:
    """Download (and verify) a model's file into the cache and return its path.

    The path is the cache's read-only blob, named by its sha256 (a model with
    external data: the model file in a folder beside its data files).

    With ``with_test_data=True``, also fetch the card's ``test-data`` archive,
    extract it safely and return the extracted folder instead.
    """
    addr, core = _core_options(
        parse_address(address, **options),
        device=device,
        offline=offline,
        force_reload=force_reload,
        verify=verify,
    )
    context = make_context(
        offline=core.get("offline"),
        force_reload=bool(core.get("force_reload")),
        verify=bool(core.get("verify")),
    )
    card = _resolve(addr, context)
    if with_test_data:
        archives = card.assets_with_role("test-data")
        if not archives:
            raise UnsupportedError(f"{card.address} publishes no test data")
        archive = archives[0]
        blob = _fetch(card, archive, context)
        return context.extract(
            blob,
            key=archive.sha256 or blob.resolve().name,  # the blob's sha256, not its file name
            max_bytes=None if archive.size is None else max(archive.size * 64, 1 << 30),
        )
    models = card.assets_with_role("model")
    if not models:
        raise UnsupportedError(f"{card.address} has no downloadable model file (its model is code)")
    try:
        # Chosen from what the runtimes declare, never by importing one to probe its
        # devices (onnxruntime's probe cost a warm download 0.5 s of CPU).
        device_ = parse_device(core.get("device"))
        asset = plan_load(card, device_, default_plugins(), probe=False).asset or models[0]
    except UnsupportedError:
        asset = models[0]  # downloading needs no runtime
    # The blob itself, named by its sha256, as download always returned (loads get
    # the asset's own file name, a link to it).
    return context.cache.unnamed(_fetch(card, asset, context))


def list_plugins() -> list[PluginRecord]:
    """Every plugin: loaded ones, then those that failed (``error`` says why)."""
    plugins = default_plugins()
    return [*plugins.records, *plugins.failed]


def validate(path: str | Path) -> list[Problem]:
    """Run the publishing checks of the hub that owns ``path`` (a card, manifest or repo)."""
    context = make_context()
    result = default_plugins().validate(Path(path), context)
    if result is None:
        raise UnsupportedError(f"no installed plugin knows how to validate {path}")
    return list(result)

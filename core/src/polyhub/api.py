"""The public API: ``load``, ``download``, ``list_models``, ``info``, ``help``, ``plan``."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .address import Address, parse_address
from .card import ModelCard
from .context import Context
from .device import Device, parse_device
from .errors import MetadataError, ModelNotFoundError, PolyhubError, UnsupportedError
from .loading import LoadRequest, Plan, plan_load
from .plugins import PluginRecord, Plugins, default_plugins
from .validation import Problem

__all__ = [
    "download",
    "help",
    "info",
    "list_models",
    "list_plugins",
    "load",
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


def _unknown_scheme(scheme: str, plugins: Plugins) -> ModelNotFoundError:
    known = ", ".join(plugins.sources) or "none"
    failed = [p for p in plugins.failed if p.name == scheme or scheme in p.module]
    hint = f" (plugin {failed[0].name!r} failed to load: {failed[0].error})" if failed else ""
    # The project's own plugins are named polyhub-<scheme>; a third-party scheme may be
    # served by any distribution, so only `polyhub plugins` can say more.
    install = (
        # polyhub-onnx alone has no runtime: the extra spares a second round trip.
        "install it with: pip install 'polyhub-onnx[cpu]' (or 'polyhub-onnx[gpu]' for CUDA)"
        if scheme == "onnx"
        else f"install it with: pip install polyhub-{scheme}"
        if scheme in _FIRST_PARTY_SCHEMES
        else f"is a plugin for it installed? (`polyhub plugins` lists them; the project's own "
        f"are {', '.join(f'polyhub-{s}' for s in _FIRST_PARTY_SCHEMES)})"
    )
    return ModelNotFoundError(
        f"no installed plugin serves the scheme {scheme!r}{hint}; installed schemes: {known}; "
        + install
    )


_FIRST_PARTY_SCHEMES = ("onnx", "mindspore", "megengine", "oci")


def _resolve(address: Address, context: Context) -> ModelCard:
    if address.scheme not in context.plugins.sources:
        raise _unknown_scheme(address.scheme, context.plugins)
    card = context.plugins.hook.polyhub_source_resolve(address=address, context=context)
    if card is None:
        raise ModelNotFoundError(f"no plugin resolved {address}")
    if not isinstance(card, ModelCard):
        raise PolyhubError(
            f"plugin for scheme {address.scheme!r} returned {type(card).__name__}, not a ModelCard"
        )
    return card


def _model_options(address: Address, context: Context) -> dict[str, Any]:
    consumed = set(CORE_OPTIONS) | set(context.plugins.sources[address.scheme].options)
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
    context = Context.from_environment(
        offline=core.get("offline"), force_reload=bool(core.get("force_reload"))
    )
    return _resolve(addr, context)


def help(address: str | Address, *, offline: bool | None = None, **options: Any) -> str:
    """The model's help text (entrypoint docstring, card usage). Never runs repository code."""
    addr, core = _core_options(parse_address(address, **options), offline=offline)
    context = Context.from_environment(offline=core.get("offline"))
    card = _resolve(addr, context)
    text = context.plugins.hook.polyhub_source_help(card=card, context=context)
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
    context = Context.from_environment(offline=offline, force_reload=force_reload)
    if scheme is not None and scheme not in context.plugins.sources:
        raise _unknown_scheme(scheme, context.plugins)
    schemes = [scheme] if scheme else list(context.plugins.sources)
    cards: list[ModelCard] = []
    failures: list[PolyhubError] = []
    for name in schemes:
        try:
            with _gc_paused():
                found = context.plugins.hook.polyhub_source_list(
                    scheme=name, filters=dict(filters), context=context
                )
            if found is None:
                raise UnsupportedError(f"the source {name!r} cannot list its models")
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
    context = Context.from_environment(offline=core.get("offline"))
    card = _resolve(addr, context)
    return plan_load(card, parse_device(core.get("device")), context, runtime=core.get("runtime"))


def _fetch(card: ModelCard, asset: Any, context: Context) -> Path:
    path = context.plugins.hook.polyhub_source_fetch(card=card, asset=asset, context=context)
    if path is None:
        raise UnsupportedError(f"no plugin can fetch {asset.url}")
    return Path(path)


def detect_format(path: Path, plugins: Plugins | None = None) -> str | None:
    """Name the format of ``path`` by content, or ``None`` when no plugin knows it."""
    plugins = plugins or default_plugins()
    head = b""
    if path.is_file():
        with open(path, "rb") as f:
            head = f.read(4096)
    result = plugins.hook.polyhub_format_detect(path=path, head=head)
    return str(result) if result is not None else None


@dataclass(frozen=True)
class Loaded:
    """What one load did: the model, the card, the plan and the verified file (for the CLI and demo)."""

    model: Any
    card: ModelCard
    plan: Plan
    path: Path | None


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
        code are the locked ones (:class:`~polyhub.lockfile.LockMismatchError`), and
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
    context = Context.from_environment(
        offline=core.get("offline"),
        trust_repo=core.get("trust_repo"),
        force_reload=bool(core.get("force_reload")),
        verify=bool(core.get("verify")),
    )
    card = _resolve(addr, context)
    if lock is not None:
        from .lockfile import apply_lock, read

        card = apply_lock(card, read(lock), context, address=str(address))
    chosen = plan_load(card, parse_device(core.get("device")), context, runtime=core.get("runtime"))
    log.debug("plan for %s: %s", addr, "; ".join(chosen.reasons))
    path: Path | None = None
    fmt = chosen.format
    if chosen.asset is not None:
        path = _fetch(card, chosen.asset, context)
        detected = detect_format(path, context.plugins)
        if detected is not None and detected != fmt:
            raise MetadataError(
                f"the card says {fmt!r} but the file {path} is {detected!r}",
                file=card.file or str(card.address),
                field="format",
            )
        if detected is None and fmt in context.plugins.formats:
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
        context=context,
    )
    model = context.plugins.hook.polyhub_runtime_load(request=request)
    if model is None:
        raise UnsupportedError(f"runtime {chosen.runtime!r} did not load {card.address}")
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
    context = Context.from_environment(
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
            key=archive.sha256 or blob.name,
            max_bytes=None if archive.size is None else max(archive.size * 64, 1 << 30),
        )
    models = card.assets_with_role("model")
    if not models:
        raise UnsupportedError(f"{card.address} has no downloadable model file (its model is code)")
    try:
        # Chosen from what the runtimes declare, never by importing one to probe its
        # devices (onnxruntime's probe cost a warm download 0.5 s of CPU).
        device_ = parse_device(core.get("device"))
        asset = plan_load(card, device_, context, probe=False).asset or models[0]
    except UnsupportedError:
        asset = models[0]  # downloading needs no runtime
    return _fetch(card, asset, context)


def list_plugins() -> list[PluginRecord]:
    """Every plugin: loaded ones, then those that failed (``error`` says why)."""
    plugins = default_plugins()
    return [*plugins.records, *plugins.failed]


def validate(path: str | Path) -> list[Problem]:
    """Run the publishing checks of the hub that owns ``path`` (a card, manifest or repo)."""
    context = Context.from_environment()
    result = context.plugins.hook.polyhub_source_validate(path=Path(path), context=context)
    if result is None:
        raise UnsupportedError(f"no installed plugin knows how to validate {path}")
    return list(result)

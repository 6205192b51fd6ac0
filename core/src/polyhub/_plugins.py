"""The plugin manager: builtins, then the ``polyhub`` entry points, one by one.

A plugin that fails to import, registers a misspelled hook or breaks its
registration is recorded with the reason (``polyhub plugins`` shows it) and
the other plugins keep working.

The core calls hooks only through the typed helpers of :class:`Plugins`: a
source hook goes to the plugin that registered the scheme, a runtime hook to
the plugin that registered the runtime (pluggy's ``subset_hook_caller``), so
no implementation has to check whose call it is.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from ._config import env_flag
from ._context import Context
from ._errors import ModelNotFoundError, PluginError, UnsupportedError
from ._registry import FormatRegistry, RuntimeRegistry, SourceRegistry
from ._values import ModelCard
from .hookspecs import hookimpl

if TYPE_CHECKING:
    from ._address import Address
    from ._config import Config
    from ._device import Device
    from ._values import Asset, LoadRequest, Problem

__all__ = ["PluginRecord", "Plugins", "get_plugin_manager", "hookimpl"]

log = logging.getLogger(__name__)

# Core features built as plugins, registered before the entry points.
# name -> module. The name is what `polyhub plugins` shows and users may know; the
# module is private like the rest of the core.
BUILTIN_PLUGINS = {"polyhub.builtin": "polyhub._builtin"}


@dataclass(frozen=True)
class PluginRecord:
    """A plugin: name, distribution, version, what it provides; ``error`` when it failed to load."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    hooks: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    runtimes: tuple[str, ...] = ()
    error: str | None = None
    #: why a runtime of the plugin cannot load here (its framework is not installed), each
    #: with the install command; the plugin's sources still work.
    missing: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


def _failed(name: str, module: str, reason: str) -> PluginRecord:
    return PluginRecord(name=name, module=module, error=reason)


class Plugins:
    """A loaded plugin manager with its registries. Build it with :func:`get_plugin_manager`."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.sources = SourceRegistry()
        self.formats = FormatRegistry()
        self.runtimes = RuntimeRegistry()
        self.records: list[PluginRecord] = []
        self.failed: list[PluginRecord] = []
        self._dists: dict[str, tuple[str | None, str | None]] = {}
        self._subsets: dict[tuple[str, str], Any] = {}

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def register(
        self, plugin: object, name: str, *, dist: tuple[str | None, str | None] = (None, None)
    ) -> bool:
        """Register ``plugin``; on a contract violation record it as failed and return False."""
        try:
            self.pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self.failed.append(
                _failed(name, _target(plugin), f"invalid hook implementation: {exc}")
            )
            return False
        try:
            # Catches misspelled hooks (polyhub_sorce_resolve) that would never be called.
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(name=name)
            self.failed.append(_failed(name, _target(plugin), f"unknown hook: {exc}"))
            return False
        self._dists[name] = dist
        self._subsets.clear()
        return True

    def _call_registration(self, hook_name: str, registry: Any) -> set[str]:
        broken: set[str] = set()
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            registry.current_plugin = impl.plugin_name
            try:
                impl.function(**{a: registry for a in impl.argnames})
            except Exception as exc:
                self.failed.append(
                    _failed(impl.plugin_name, _target(impl.plugin), f"{hook_name} failed: {exc}")
                )
                broken.add(impl.plugin_name)
        return broken

    def finish(self) -> None:
        """Run the registration hooks and build the records."""
        broken: set[str] = set()
        broken |= self._call_registration("polyhub_register_sources", self.sources)
        broken |= self._call_registration("polyhub_register_formats", self.formats)
        broken |= self._call_registration("polyhub_register_runtimes", self.runtimes)
        for name in broken:
            self.pm.unregister(name=name)
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            callers = self.pm.get_hookcallers(plugin) or []
            dist, version = self._dists.get(name, (None, None))
            self.records.append(
                PluginRecord(
                    name=name,
                    module=_target(plugin),
                    distribution=dist,
                    version=version,
                    hooks=tuple(sorted(c.name for c in callers)),
                    sources=tuple(s for s in self.sources if self.sources[s].plugin == name),
                    formats=tuple(f for f in self.formats if self.formats[f].plugin == name),
                    runtimes=tuple(r for r in self.runtimes if self.runtimes[r].plugin == name),
                    missing=tuple(
                        f"runtime {r}: {self.runtimes[r].missing_reason()}"
                        for r in self.runtimes
                        if self.runtimes[r].plugin == name and self.runtimes[r].missing()
                    ),
                )
            )

    # -- calls: each hook of the contract, typed, on the plugins it concerns ----

    def _owned(self, hook_name: str, owner: str) -> Any:
        """The hook ``hook_name`` restricted to plugin ``owner`` and the builtins."""
        key = (hook_name, owner)
        caller = self._subsets.get(key)
        if caller is None:
            others = [
                plugin
                for name, plugin in self.pm.list_name_plugin()
                if plugin is not None and name != owner and name not in BUILTIN_PLUGINS
            ]
            caller = self._subsets[key] = self.pm.subset_hook_caller(hook_name, others)
        return caller

    def _source_owner(self, scheme: str) -> str:
        if scheme not in self.sources:
            raise self.unknown_scheme(scheme)
        return self.sources[scheme].plugin

    def unknown_scheme(self, scheme: str) -> ModelNotFoundError:
        """The error for a scheme no installed plugin serves: what is installed, what to install."""
        known = ", ".join(self.sources) or "none"
        failed = [p for p in self.failed if p.name == scheme or scheme in p.module]
        hint = f" (plugin {failed[0].name!r} failed to load: {failed[0].error})" if failed else ""
        # The project's own plugins are named polyhub-<scheme>; a third-party scheme may be
        # served by any distribution, so only `polyhub plugins` can say more.
        install = (
            # polyhub-onnx alone has no runtime: the extra spares a second round trip.
            "install it with: pip install 'polyhub-onnx[cpu]' (or 'polyhub-onnx[gpu]' for CUDA)"
            if scheme == "onnx"
            else f"install it with: pip install polyhub-{scheme}"
            if scheme in _FIRST_PARTY_SCHEMES
            else "is a plugin for it installed? (`polyhub plugins` lists them; the project's own "
            f"are {', '.join(f'polyhub-{s}' for s in _FIRST_PARTY_SCHEMES)})"
        )
        return ModelNotFoundError(
            f"no installed plugin serves the scheme {scheme!r}{hint}; installed schemes: {known}; "
            + install
        )

    def context(self, config: Config) -> Context:
        """A :class:`~polyhub.Context` for one call, with these plugins' services."""
        tier = _HookTier(self)
        context = Context(
            config,
            sources={name: self.sources[name] for name in self.sources},
            formats={name: self.formats[name] for name in self.formats},
            detect=self.detect_format,
            devices=self.runtime_devices,
            tier=tier,
            runtimes=[name for name in self.runtimes],
        )
        tier.context = context
        return context

    def resolve(self, address: Address, context: Context) -> ModelCard:
        """``polyhub_source_resolve`` on the plugin serving ``address.scheme``.

        :raises polyhub.ModelNotFoundError: no plugin serves the scheme, or it found nothing.
        :raises polyhub.PluginError: the plugin returned something else than a card.
        """
        owner = self._source_owner(address.scheme)
        context._resolving()
        card = self._owned("polyhub_source_resolve", owner)(address=address, context=context)
        if card is None:
            raise ModelNotFoundError(f"the {owner!r} plugin resolved nothing for {address}")
        if not isinstance(card, ModelCard):
            raise PluginError(
                f"plugin {owner!r} returned {type(card).__name__} for {address}, not a ModelCard"
            )
        return context._resolved(card)

    def list_cards(
        self, scheme: str, filters: Mapping[str, Any], context: Context
    ) -> list[ModelCard]:
        """``polyhub_source_list`` on the plugin serving ``scheme``.

        :raises polyhub.UnsupportedError: the plugin does not list its models.
        """
        owner = self._source_owner(scheme)
        found = self._owned("polyhub_source_list", owner)(
            scheme=scheme, filters=dict(filters), context=context
        )
        if found is None:
            raise UnsupportedError(f"the source {scheme!r} cannot list its models")
        return list(found)

    def help_text(self, card: ModelCard, context: Context) -> str | None:
        """``polyhub_source_help`` on the plugin serving ``card.source`` (``None``: it has none)."""
        if card.source not in self.sources:
            return None
        owner = self.sources[card.source].plugin
        text = self._owned("polyhub_source_help", owner)(card=card, context=context)
        return None if text is None else str(text)

    def fetch(self, card: ModelCard, asset: Asset, context: Context) -> Path:
        """``polyhub_source_fetch`` on the plugin serving ``card.source``, then the core's default."""
        if card.source in self.sources:
            caller = self._owned("polyhub_source_fetch", self.sources[card.source].plugin)
        else:  # a card of a scheme no longer installed (a lock file's): the core's download
            caller = self._owned("polyhub_source_fetch", "")
        path = caller(card=card, asset=asset, context=context)
        if path is None:
            raise UnsupportedError(f"no plugin can fetch {asset.url}")
        return Path(path)

    def validate(self, path: Path, context: Context) -> list[Problem] | None:
        """``polyhub_source_validate`` of the first plugin that knows ``path``; ``None``: none does."""
        result = self.hook.polyhub_source_validate(path=path, context=context)
        return None if result is None else list(result)

    def detect_format(self, path: Path) -> str | None:
        """The format of ``path`` by content (the first plugin that names it), or ``None``."""
        head = b""
        if path.is_file():
            with open(path, "rb") as f:
                head = f.read(4096)
        result = self.hook.polyhub_format_detect(path=path, head=head)
        return str(result) if result is not None else None

    def _runtime_owner(self, runtime: str) -> str:
        if runtime not in self.runtimes:
            raise UnsupportedError(
                f"no runtime named {runtime!r}; installed runtimes: "
                f"{', '.join(self.runtimes) or 'none'}"
            )
        return self.runtimes[runtime].plugin

    def runtime_devices(self, runtime: str) -> list[Device]:
        """``polyhub_runtime_devices`` on the plugin of ``runtime``.

        :raises polyhub.UnsupportedError: no such runtime, or its plugin did not answer.
        """
        owner = self._runtime_owner(runtime)
        devices = self._owned("polyhub_runtime_devices", owner)(runtime=runtime)
        if devices is None:
            raise UnsupportedError(f"the {owner!r} plugin lists no devices for {runtime!r}")
        return list(devices)

    def runtime_explain(self, runtime: str, device: Device) -> str | None:
        """``polyhub_runtime_explain`` on the plugin of ``runtime``."""
        owner = self._runtime_owner(runtime)
        why = self._owned("polyhub_runtime_explain", owner)(runtime=runtime, device=device)
        return None if why is None else str(why)

    def runtime_load(self, request: LoadRequest, context: Context) -> object:
        """``polyhub_runtime_load`` on the plugin of ``request.runtime``.

        :raises polyhub.UnsupportedError: the runtime returned nothing.
        """
        owner = self._runtime_owner(request.runtime)
        model = self._owned("polyhub_runtime_load", owner)(request=request, context=context)
        if model is None:
            raise UnsupportedError(
                f"runtime {request.runtime!r} did not load {request.card.address}"
            )
        return model

    def push(
        self, card: ModelCard, files: Mapping[str, Path], target: str, context: Context
    ) -> str | None:
        """``polyhub_push`` of the first plugin that publishes to ``target``; ``None``: none does."""
        result = self.hook.polyhub_push(card=card, files=files, target=target, context=context)
        return None if result is None else str(result)


_FIRST_PARTY_SCHEMES = ("onnx", "mindspore", "megengine", "oci")


class _HookTier:
    """The cache's blob tier: the ``polyhub_blob_fetch`` / ``polyhub_blob_stored`` hooks."""

    def __init__(self, plugins: Plugins) -> None:
        self.plugins = plugins
        self.context: Context | None = None

    def get(self, url: str, sha256: str, size: int | None, dest: Path) -> bool:
        return bool(
            self.plugins.hook.polyhub_blob_fetch(
                url=url, sha256=sha256, size=size, dest=dest, context=self.context
            )
        )

    def stored(self, url: str, sha256: str, size: int, path: Path) -> None:
        self.plugins.hook.polyhub_blob_stored(
            url=url, sha256=sha256, size=size, path=path, context=self.context
        )


def _target(plugin: object) -> str:
    return plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__qualname__


def _entry_points() -> Iterable[Any]:
    from importlib import metadata  # ~20 ms: only when plugins are first needed

    return metadata.entry_points(group="polyhub")


def _trace(pm: pluggy.PluginManager) -> None:
    def before(hook_name: str, impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        names = ", ".join(i.plugin_name for i in impls)
        print(f"[polyhub] {hook_name}({', '.join(kwargs)}) -> [{names}]", file=sys.stderr)

    def after(
        outcome: Any, hook_name: str, impls: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> None:
        exc = outcome.exception
        result = f"raised {exc!r}" if exc else repr(outcome.get_result())[:200]
        print(f"[polyhub] {hook_name} {result}", file=sys.stderr)

    pm.add_hookcall_monitoring(before, after)


def get_plugin_manager(
    *, load_entry_points: bool = True, plugins: Sequence[tuple[str, object]] = ()
) -> Plugins:
    """Build a plugin manager: builtins, then entry points, then ``plugins`` (name, object).

    ``POLYHUB_DISABLE_PLUGIN_AUTOLOAD=1`` skips the entry points;
    ``POLYHUB_DISABLED_PLUGINS=a,b`` blocks plugins by name;
    ``POLYHUB_TRACE_PLUGINS=1`` prints every hook call to stderr.
    """
    pm = pluggy.PluginManager("polyhub")
    pm.add_hookspecs(hookspecs)
    result = Plugins(pm)
    blocked = {
        n.strip() for n in os.environ.get("POLYHUB_DISABLED_PLUGINS", "").split(",") if n.strip()
    }
    for name in blocked:
        if not name.startswith("polyhub."):  # builtins are essential
            pm.set_blocked(name)
    for name, modname in BUILTIN_PLUGINS.items():
        if not result.register(importlib.import_module(modname), name):
            raise PluginError(f"builtin plugin {name} is broken: {result.failed[-1].error}")
    if load_entry_points and not env_flag("POLYHUB_DISABLE_PLUGIN_AUTOLOAD"):
        seen: set[str] = set()
        for ep in sorted(_entry_points(), key=lambda e: e.name):
            if ep.name in seen or pm.is_blocked(ep.name):
                continue
            seen.add(ep.name)
            try:
                module = ep.load()
            except Exception as exc:  # one broken plugin must not break the others
                log.debug("plugin %s failed to import", ep.name, exc_info=True)
                result.failed.append(_failed(ep.name, ep.value, f"{type(exc).__name__}: {exc}"))
                continue
            dist = ep.dist.name if ep.dist is not None else None
            version = ep.dist.version if ep.dist is not None else None
            result.register(module, ep.name, dist=(dist, version))
    for name, plugin in plugins:
        result.register(plugin, name)
    if env_flag("POLYHUB_TRACE_PLUGINS"):
        _trace(pm)
    result.finish()
    return result


_default: Plugins | None = None


def default_plugins() -> Plugins:
    """The process-wide plugin manager, built on first use (never at import)."""
    global _default
    if _default is None:
        _default = get_plugin_manager()
    return _default


def reset_plugins(plugins: Plugins | None = None) -> None:
    """Replace (or with ``None``, forget) the process-wide plugin manager; for tests."""
    global _default
    _default = plugins

"""The plugin manager: builtins, then the ``polyhub`` entry points, one by one.

A plugin that fails to import, registers a misspelled hook or breaks its
registration is recorded with the reason (``polyhub plugins`` shows it) and
the other plugins keep working.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .config import env_flag
from .errors import PluginError
from .registry import FormatRegistry, RuntimeRegistry, SourceRegistry

__all__ = ["PluginRecord", "Plugins", "get_plugin_manager", "hookimpl"]

log = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker("polyhub")
"""Marker for hook implementations: ``@polyhub.hookimpl``."""

# Core features built as plugins, registered before the entry points.
BUILTIN_PLUGINS = ("polyhub.builtin",)


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
    for modname in BUILTIN_PLUGINS:
        if not result.register(importlib.import_module(modname), modname):
            raise PluginError(f"builtin plugin {modname} is broken: {result.failed[-1].error}")
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

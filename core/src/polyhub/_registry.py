"""What plugins declare: sources (schemes), formats and runtimes.

The registration hooks (``polyhub_register_*``) receive these registries. A
registry checks each entry when it is added, so a plugin that declares a
scheme twice or a runtime with no formats fails at start-up with a message
that names it, not later in the middle of a load.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from ._device import DEVICE_KINDS
from ._errors import PluginError

__all__ = [
    "FormatInfo",
    "FormatRegistry",
    "RuntimeInfo",
    "RuntimeRegistry",
    "SourceInfo",
    "SourceRegistry",
]

_NAME = re.compile(r"^[a-z][a-z0-9+.\-_]*$")


@dataclass(frozen=True)
class SourceInfo:
    """A source: the scheme it serves and what it understands.

    :ivar scheme: the address scheme, e.g. ``onnx``.
    :ivar summary: one line for ``polyhub plugins`` and the unknown-scheme error.
    :ivar options: address options the source consumes (``hub``, ``opset``...). The
        core does not pass them on to the runtime or the model's constructor.
    :ivar trusted: repo-id prefixes trusted by default (the hub's official
        organisations), e.g. ``github.com/megengine/``.
    :ivar hub_env: the environment variable that names the default hub, if any.
    """

    scheme: str
    summary: str = ""
    options: tuple[str, ...] = ()
    trusted: tuple[str, ...] = ()
    hub_env: str | None = None
    plugin: str = ""


@dataclass(frozen=True)
class FormatInfo:
    """A file format: its name, usual suffixes and one line of description."""

    name: str
    summary: str = ""
    suffixes: tuple[str, ...] = ()
    plugin: str = ""


@dataclass(frozen=True)
class RuntimeInfo:
    """A runtime: the formats it loads and the device kinds it can target at all.

    Whether a device is present on this machine is answered later, by
    ``polyhub_runtime_devices``, because that needs the framework imported.

    :ivar default: ``False`` for a runtime used only when asked for by name
        (``runtime="onnx"`` returns a bare ``ModelProto`` instead of a session).
    :ivar requires: top-level modules the runtime imports when it loads (its
        framework, e.g. ``("onnxruntime",)``). A plugin installs without its
        framework where the framework has no wheel; the core then skips the
        runtime and says what to install, without importing anything.
    :ivar install: the command that installs what ``requires`` names, shown to users.
    :ivar code_formats: the formats for which the runtime needs the card's code
        (``CodeRef``): for those the core checks the code out, checks trust and
        imports it before calling ``polyhub_runtime_load``, which receives it as
        ``request.code``. A format not listed never makes the core fetch or run code.
    """

    name: str
    formats: tuple[str, ...]
    devices: tuple[str, ...] = ("cpu",)
    summary: str = ""
    default: bool = True
    plugin: str = ""
    requires: tuple[str, ...] = ()
    install: str = ""
    code_formats: tuple[str, ...] = ()

    def missing(self) -> tuple[str, ...]:
        """The modules of :attr:`requires` that are not installed (looked up, not imported)."""
        import importlib.util

        return tuple(m for m in self.requires if importlib.util.find_spec(m) is None)

    def missing_reason(self) -> str:
        """``""`` when the runtime can load; else which modules are missing and how to install them."""
        missing = self.missing()
        if not missing:
            return ""
        return f"{', '.join(missing)} not installed" + (
            f" ({self.install})" if self.install else ""
        )


_T = TypeVar("_T", SourceInfo, FormatInfo, RuntimeInfo)


class _Registry(Generic[_T]):
    _what = "entry"

    def __init__(self) -> None:
        self._items: dict[str, _T] = {}
        self.current_plugin = ""

    def _key(self, item: _T) -> str:
        raise NotImplementedError

    def _check(self, item: _T) -> None:
        key = self._key(item)
        if not _NAME.match(key):
            raise PluginError(
                f"plugin {self.current_plugin or '?'!r} registers {self._what} {key!r}: "
                "names are lower-case letters, digits and '+.-_'"
            )

    def add(self, item: _T) -> None:
        """Add ``item``; a name already taken by another plugin is an error."""
        self._check(item)
        key = self._key(item)
        if key in self._items:
            raise PluginError(
                f"{self._what} {key!r} is registered twice: by plugin "
                f"{self._items[key].plugin!r} and by plugin {self.current_plugin!r}"
            )
        if not item.plugin:
            item = type(item)(**{**item.__dict__, "plugin": self.current_plugin})
        self._items[key] = item

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __getitem__(self, key: str) -> _T:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)


class SourceRegistry(_Registry[SourceInfo]):
    """Passed to ``polyhub_register_sources``; ``add(SourceInfo(...))`` once per scheme."""

    _what = "source scheme"

    def _key(self, item: SourceInfo) -> str:
        return item.scheme


class FormatRegistry(_Registry[FormatInfo]):
    """Passed to ``polyhub_register_formats``; ``add(FormatInfo(...))`` once per format."""

    _what = "format"

    def _key(self, item: FormatInfo) -> str:
        return item.name


class RuntimeRegistry(_Registry[RuntimeInfo]):
    """Passed to ``polyhub_register_runtimes``; ``add(RuntimeInfo(...))`` once per runtime."""

    _what = "runtime"

    def _key(self, item: RuntimeInfo) -> str:
        return item.name

    def _check(self, item: RuntimeInfo) -> None:
        super()._check(item)
        if not item.formats:
            raise PluginError(f"runtime {item.name!r} declares no formats")
        foreign = [f for f in item.code_formats if f not in item.formats]
        if foreign:
            raise PluginError(
                f"runtime {item.name!r} declares code_formats {foreign} that are not among "
                f"its formats {list(item.formats)}"
            )
        bad = [d for d in item.devices if d not in DEVICE_KINDS]
        if bad:
            raise PluginError(
                f"runtime {item.name!r} declares unknown device kinds {bad}; "
                f"known: {', '.join(DEVICE_KINDS)}"
            )

    def for_format(self, fmt: str) -> list[RuntimeInfo]:
        """Runtimes that load ``fmt``, in name order."""
        return [self._items[k] for k in sorted(self._items) if fmt in self._items[k].formats]

"""polyhub: load pre-trained models from any model hub into any runtime with one call.

    >>> import polyhub
    >>> sess = polyhub.load("onnx:mnist", opset=8, device="cpu")

Plugins need only :data:`hookimpl` and the value types re-exported here.
"""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: importing typing (and re) costs more than the
# rest of `import polyhub`; type checkers read this name the same way.
TYPE_CHECKING = False

if TYPE_CHECKING:  # the names, for type checkers; at run time each loads on first use
    from typing import Any

    from .address import Address, AddressError, parse_address
    from .api import download, help, info, list_models, list_plugins, load, plan, validate
    from .card import Asset, CodeRef, IOPort, ModelCard
    from .config import get_dir, set_dir
    from .context import Context
    from .demo import DemoCase
    from .device import Device, DeviceError, parse_device
    from .errors import (
        DownloadError,
        HashMismatchError,
        MetadataError,
        MissingDependencyError,
        ModelNotFoundError,
        OfflineError,
        PluginError,
        PolyhubDeprecationWarning,
        PolyhubError,
        PolyhubWarning,
        RevisionNotFoundError,
        UnsafeArchiveError,
        UnsupportedError,
        UntrustedError,
    )
    from .git import Checkout, repo_id_from_url
    from .loading import LoadRequest, Plan
    from .plugins import PluginRecord, hookimpl
    from .registry import FormatInfo, RuntimeInfo, SourceInfo
    from .validation import Problem

# Each public name and the module that defines it. `import polyhub` loads none of
# them: the plugin manager (pluggy), the HTTP stack (requests, urllib3), git and
# subprocess cost tens of milliseconds that a CLI's --help or a script importing
# the package for one name should not pay.
_EXPORTS: dict[str, str] = {
    "Address": "address",
    "AddressError": "address",
    "parse_address": "address",
    "download": "api",
    "help": "api",
    "info": "api",
    "list_models": "api",
    "list_plugins": "api",
    "load": "api",
    "plan": "api",
    "validate": "api",
    "Asset": "card",
    "CodeRef": "card",
    "IOPort": "card",
    "ModelCard": "card",
    "get_dir": "config",
    "set_dir": "config",
    "Context": "context",
    "DemoCase": "demo",
    "Device": "device",
    "DeviceError": "device",
    "parse_device": "device",
    "DownloadError": "errors",
    "HashMismatchError": "errors",
    "MetadataError": "errors",
    "MissingDependencyError": "errors",
    "ModelNotFoundError": "errors",
    "OfflineError": "errors",
    "PluginError": "errors",
    "PolyhubDeprecationWarning": "errors",
    "PolyhubError": "errors",
    "PolyhubWarning": "errors",
    "RevisionNotFoundError": "errors",
    "UnsafeArchiveError": "errors",
    "UnsupportedError": "errors",
    "UntrustedError": "errors",
    "Checkout": "git",
    "repo_id_from_url": "git",
    "LoadRequest": "loading",
    "Plan": "loading",
    "PluginRecord": "plugins",
    "hookimpl": "plugins",
    "FormatInfo": "registry",
    "RuntimeInfo": "registry",
    "SourceInfo": "registry",
    "Problem": "validation",
}

__version__ = "0.1.0"


__all__ = [
    "Address",
    "AddressError",
    "Asset",
    "Checkout",
    "CodeRef",
    "Context",
    "DemoCase",
    "Device",
    "DeviceError",
    "DownloadError",
    "FormatInfo",
    "HashMismatchError",
    "IOPort",
    "LoadRequest",
    "MetadataError",
    "MissingDependencyError",
    "ModelCard",
    "ModelNotFoundError",
    "OfflineError",
    "Plan",
    "PluginError",
    "PluginRecord",
    "PolyhubDeprecationWarning",
    "PolyhubError",
    "PolyhubWarning",
    "Problem",
    "RevisionNotFoundError",
    "RuntimeInfo",
    "SourceInfo",
    "UnsafeArchiveError",
    "UnsupportedError",
    "UntrustedError",
    "download",
    "get_dir",
    "help",
    "hookimpl",
    "info",
    "list_models",
    "list_plugins",
    "load",
    "parse_address",
    "parse_device",
    "plan",
    "repo_id_from_url",
    "set_dir",
    "validate",
]


_logging_ready = False


def _set_up_logging() -> None:
    """A library prints nothing unless asked: a ``NullHandler`` on the ``polyhub`` logger, and
    ``POLYHUB_LOG_LEVEL`` applied. Done on first use, not at import: ``logging`` alone costs
    about as much to import as the rest of ``import polyhub``."""
    global _logging_ready
    _logging_ready = True
    import logging

    from .logs import configure_from_env

    _add_null_handler(logging)
    configure_from_env()


def _add_null_handler(logging: Any) -> None:
    logger = logging.getLogger("polyhub")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


# Where logging is loaded already its cost is paid: set up at import, so a record from a
# submodule used before any public name (``import logging, polyhub`` then
# ``polyhub.cache``'s logger) meets the NullHandler, or POLYHUB_LOG_LEVEL's handler,
# not logging's last-resort stderr handler.
if "logging" in __import__("sys").modules:
    if __import__("os").environ.get("POLYHUB_LOG_LEVEL", "").strip():
        _set_up_logging()
    else:  # the NullHandler alone: reading the variable needs polyhub.logs (~10 ms)
        _add_null_handler(__import__("sys").modules["logging"])


def __getattr__(name: str) -> Any:
    from importlib import import_module

    if not _logging_ready:
        _set_up_logging()
    module = _EXPORTS.get(name)
    if module is None:
        # `polyhub.api`, `polyhub.cache`...: a submodule, imported on first use as
        # the eager imports of the package used to make them available.
        if name.startswith("_"):
            raise AttributeError(f"module 'polyhub' has no attribute {name!r}")
        try:
            return import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'polyhub' has no attribute {name!r}") from None
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

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

    from ._address import Address, AddressError, parse_address
    from ._api import (
        download,
        fetch,
        help,
        info,
        list_models,
        list_plugins,
        load,
        make_context,
        plan,
        validate,
    )
    from ._archive import extract_tar
    from ._atomic import atomic_folder, atomic_write
    from ._config import dir_was_set, get_dir, set_dir
    from ._context import Context
    from ._device import Device, DeviceError, parse_device
    from ._errors import (
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
    from ._flags import parse_bool
    from ._git import Checkout, repo_id_from_url
    from ._hashing import file_sha256
    from ._lfs import GitLfsPointerError
    from ._loading import Plan
    from ._locations import is_local
    from ._lockfile import LockMismatchError
    from ._logs import framework_output
    from ._paths import UnsafePathError, safe_join, safe_relpath
    from ._plugins import PluginRecord
    from ._protobuf import read_varint
    from ._registry import (
        FormatInfo,
        FormatRegistry,
        RuntimeInfo,
        RuntimeRegistry,
        SourceInfo,
        SourceRegistry,
    )
    from ._repocode import missing_dependencies
    from ._values import (
        Asset,
        CodeRef,
        DemoCase,
        ImportedCode,
        IOPort,
        LoadRequest,
        ModelCard,
        Problem,
    )
    from .hookspecs import hookimpl

# Each public name and the module that defines it. `import polyhub` loads none of
# them: the plugin manager (pluggy), the HTTP stack (requests, urllib3), git and
# subprocess cost tens of milliseconds that a CLI's --help or a script importing
# the package for one name should not pay.
_EXPORTS: dict[str, str] = {
    "Address": "_address",
    "AddressError": "_address",
    "parse_address": "_address",
    "download": "_api",
    "fetch": "_api",
    "help": "_api",
    "info": "_api",
    "list_models": "_api",
    "list_plugins": "_api",
    "load": "_api",
    "plan": "_api",
    "validate": "_api",
    "extract_tar": "_archive",
    "atomic_folder": "_atomic",
    "atomic_write": "_atomic",
    "Asset": "_values",
    "CodeRef": "_values",
    "ImportedCode": "_values",
    "missing_dependencies": "_repocode",
    "IOPort": "_values",
    "ModelCard": "_values",
    "dir_was_set": "_config",
    "get_dir": "_config",
    "set_dir": "_config",
    "Context": "_context",
    "DemoCase": "_values",
    "Device": "_device",
    "DeviceError": "_device",
    "parse_device": "_device",
    "DownloadError": "_errors",
    "HashMismatchError": "_errors",
    "MetadataError": "_errors",
    "MissingDependencyError": "_errors",
    "ModelNotFoundError": "_errors",
    "OfflineError": "_errors",
    "PluginError": "_errors",
    "PolyhubDeprecationWarning": "_errors",
    "PolyhubError": "_errors",
    "PolyhubWarning": "_errors",
    "RevisionNotFoundError": "_errors",
    "UnsafeArchiveError": "_errors",
    "UnsupportedError": "_errors",
    "UntrustedError": "_errors",
    "parse_bool": "_flags",
    "LockMismatchError": "_lockfile",
    "Checkout": "_git",
    "repo_id_from_url": "_git",
    "file_sha256": "_hashing",
    "GitLfsPointerError": "_lfs",
    "is_local": "_locations",
    "framework_output": "_logs",
    "UnsafePathError": "_paths",
    "safe_join": "_paths",
    "safe_relpath": "_paths",
    "read_varint": "_protobuf",
    "LoadRequest": "_values",
    "Plan": "_loading",
    "PluginRecord": "_plugins",
    "hookimpl": "hookspecs",
    "make_context": "_api",
    "FormatInfo": "_registry",
    "FormatRegistry": "_registry",
    "RuntimeInfo": "_registry",
    "RuntimeRegistry": "_registry",
    "SourceInfo": "_registry",
    "SourceRegistry": "_registry",
    "Problem": "_values",
}

__version__ = "0.1.0"

# A library prints nothing unless asked: the application (or POLYHUB_LOG_LEVEL) decides.
# This costs the import of logging, which most programs have made already.
import logging as _logging  # noqa: E402
import os as _os  # noqa: E402

_logging.getLogger("polyhub").addHandler(_logging.NullHandler())
if _os.environ.get("POLYHUB_LOG_LEVEL"):
    from ._logs import configure_from_env as _configure_from_env

    _configure_from_env()


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
    "FormatRegistry",
    "GitLfsPointerError",
    "HashMismatchError",
    "IOPort",
    "ImportedCode",
    "LoadRequest",
    "LockMismatchError",
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
    "RuntimeRegistry",
    "SourceInfo",
    "SourceRegistry",
    "UnsafeArchiveError",
    "UnsafePathError",
    "UnsupportedError",
    "UntrustedError",
    "atomic_folder",
    "atomic_write",
    "dir_was_set",
    "download",
    "extract_tar",
    "fetch",
    "file_sha256",
    "framework_output",
    "get_dir",
    "help",
    "hookimpl",
    "info",
    "is_local",
    "list_models",
    "list_plugins",
    "load",
    "make_context",
    "missing_dependencies",
    "parse_address",
    "parse_bool",
    "parse_device",
    "plan",
    "read_varint",
    "repo_id_from_url",
    "safe_join",
    "safe_relpath",
    "set_dir",
    "validate",
]


def __getattr__(name: str) -> Any:
    from importlib import import_module

    module = _EXPORTS.get(name)
    if module is None:
        # The public submodules (`polyhub.hookspecs`, `polyhub.testing`), imported on
        # first use; the private ones (`_api`, `_cache`...) are no attributes until
        # somebody imports them by name.
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

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
    from .api import (
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
    from .archive import extract_tar
    from .atomic import atomic_folder, atomic_write
    from .config import get_dir, set_dir
    from .context import Context
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
    from .flags import parse_bool
    from .git import Checkout, repo_id_from_url
    from .hashing import file_sha256
    from .hookspecs import hookimpl
    from .lfs import GitLfsPointerError
    from .loading import Plan
    from .locations import is_local
    from .logs import framework_output
    from .paths import UnsafePathError, safe_join, safe_relpath
    from .plugins import PluginRecord
    from .protobuf import read_varint
    from .registry import (
        FormatInfo,
        FormatRegistry,
        RuntimeInfo,
        RuntimeRegistry,
        SourceInfo,
        SourceRegistry,
    )
    from .repocode import missing_dependencies
    from .values import (
        Asset,
        CodeRef,
        DemoCase,
        ImportedCode,
        IOPort,
        LoadRequest,
        ModelCard,
        Problem,
    )

# Each public name and the module that defines it. `import polyhub` loads none of
# them: the plugin manager (pluggy), the HTTP stack (requests, urllib3), git and
# subprocess cost tens of milliseconds that a CLI's --help or a script importing
# the package for one name should not pay.
_EXPORTS: dict[str, str] = {
    "Address": "address",
    "AddressError": "address",
    "parse_address": "address",
    "download": "api",
    "fetch": "api",
    "help": "api",
    "info": "api",
    "list_models": "api",
    "list_plugins": "api",
    "load": "api",
    "plan": "api",
    "validate": "api",
    "extract_tar": "archive",
    "atomic_folder": "atomic",
    "atomic_write": "atomic",
    "Asset": "values",
    "CodeRef": "values",
    "ImportedCode": "values",
    "missing_dependencies": "repocode",
    "IOPort": "values",
    "ModelCard": "values",
    "get_dir": "config",
    "set_dir": "config",
    "Context": "context",
    "DemoCase": "values",
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
    "parse_bool": "flags",
    "Checkout": "git",
    "repo_id_from_url": "git",
    "file_sha256": "hashing",
    "GitLfsPointerError": "lfs",
    "is_local": "locations",
    "framework_output": "logs",
    "UnsafePathError": "paths",
    "safe_join": "paths",
    "safe_relpath": "paths",
    "read_varint": "protobuf",
    "LoadRequest": "values",
    "Plan": "loading",
    "PluginRecord": "plugins",
    "hookimpl": "hookspecs",
    "make_context": "api",
    "FormatInfo": "registry",
    "FormatRegistry": "registry",
    "RuntimeInfo": "registry",
    "RuntimeRegistry": "registry",
    "SourceInfo": "registry",
    "SourceRegistry": "registry",
    "Problem": "values",
}

__version__ = "0.1.0"

# A library prints nothing unless asked: the application (or POLYHUB_LOG_LEVEL) decides.
# This costs the import of logging, which most programs have made already.
import logging as _logging  # noqa: E402
import os as _os  # noqa: E402

_logging.getLogger("polyhub").addHandler(_logging.NullHandler())
if _os.environ.get("POLYHUB_LOG_LEVEL"):
    from .logs import configure_from_env as _configure_from_env

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

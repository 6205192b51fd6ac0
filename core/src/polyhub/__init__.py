"""polyhub: load pre-trained models from any model hub into any runtime with one call.

    >>> import polyhub
    >>> sess = polyhub.load("onnx:mnist", opset=8, device="cpu")

Plugins need only :data:`hookimpl` and the value types re-exported here.
"""

from __future__ import annotations

import logging as _logging

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
from .logs import configure_from_env as _configure_logging_from_env
from .plugins import PluginRecord, hookimpl
from .registry import FormatInfo, RuntimeInfo, SourceInfo
from .validation import Problem

__version__ = "0.1.0"

# A library prints nothing unless asked: the application (or POLYHUB_LOG_LEVEL) decides.
_logging.getLogger("polyhub").addHandler(_logging.NullHandler())
_configure_logging_from_env()

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

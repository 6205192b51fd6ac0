"""Telling local sources (``file://`` URLs, plain paths) from network ones.

Kept apart from :mod:`polyhub._downloader` so that the warm paths (a cached
blob, a fresh cached index) can ask without importing the HTTP stack.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["is_local", "local_path"]


def is_local(url: str) -> bool:
    """True for ``file://`` URLs and plain paths."""
    scheme = urlparse(url).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and sys.platform == "win32")


def local_path(url: str) -> Path:
    """The path a ``file://`` URL or plain path names."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(url)

"""The error and warning types polyhub raises.

Every error derives from :class:`PolyhubError`, so ``except polyhub.PolyhubError``
catches anything polyhub raises on purpose. Where Python already has the concept
the error also derives from the built-in (``ModelNotFoundError`` is a
``LookupError``), so callers that catch the built-in keep working.
"""

from __future__ import annotations

from typing import Any

from ._redact import redact, redact_url

__all__ = [
    "DownloadError",
    "HashMismatchError",
    "MetadataError",
    "MissingDependencyError",
    "ModelNotFoundError",
    "OfflineError",
    "PluginError",
    "PolyhubDeprecationWarning",
    "PolyhubError",
    "PolyhubWarning",
    "RevisionNotFoundError",
    "UnsafeArchiveError",
    "UnsupportedError",
    "UntrustedError",
]


class PolyhubError(Exception):
    """Base class of every error polyhub raises.

    Its message never holds credentials: the user info of any URL in it and
    secret-looking query values (``token=``, signatures) are masked.
    """

    __module__ = "polyhub"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Keywords pass through to a second base that takes them (ImportError's name=, path=).
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args), **kwargs)


class ModelNotFoundError(PolyhubError, LookupError):
    """The address names no model that the source serves."""

    __module__ = "polyhub"


class RevisionNotFoundError(PolyhubError, LookupError):
    """The ``@revision`` of an address (branch, tag or commit) does not exist."""

    __module__ = "polyhub"


class MetadataError(PolyhubError, ValueError):
    """A model card, manifest or index is broken.

    The message names the file (or URL), the line or entry, and the field.
    """

    __module__ = "polyhub"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        entry: str | None = None,
        field: str | None = None,
    ) -> None:
        self.file = redact(file) if file else file
        self.line = line
        self.entry = entry
        self.field = field
        where = self.file or ""
        if line is not None:
            where += f":{line}"
        if entry is not None:
            where += f" [{entry}]" if where else f"[{entry}]"
        parts = [p for p in (where, f"field {field!r}" if field else "") if p]
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class DownloadError(PolyhubError, OSError):
    """A download failed for good: after retries, or with a status that is never retried."""

    __module__ = "polyhub"

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        self.url = redact_url(url) if url else url
        self.status = status
        super().__init__(message)

    def __str__(self) -> str:
        # OSError's own __str__ would print the args tuple.
        return str(self.args[0]) if self.args else ""


class HashMismatchError(DownloadError):
    """Bytes do not have the sha256 the metadata (or the first download) promised."""

    __module__ = "polyhub"

    def __init__(self, *, url: str, expected: str, actual: str, what: str = "") -> None:
        self.expected = expected
        self.actual = actual
        subject = what or url
        super().__init__(
            f"sha256 mismatch for {subject}: expected {expected}, got {actual} (from {url}); "
            "nothing was written to the cache",
            url=url,
        )


class OfflineError(PolyhubError, ConnectionError):
    """Offline mode is on and what was asked for is not in the cache."""

    __module__ = "polyhub"


class UntrustedError(PolyhubError, PermissionError):
    """Running code (or unpickling objects) from a repository that is not trusted."""

    __module__ = "polyhub"


class UnsafeArchiveError(PolyhubError, ValueError):
    """An archive member would escape its destination, or is a link or device."""

    __module__ = "polyhub"


class UnsupportedError(PolyhubError, NotImplementedError):
    """No runtime can load that format on that device, or a feature is not available.

    The message says which runtimes, formats and devices exist.
    """

    __module__ = "polyhub"


class MissingDependencyError(PolyhubError, ImportError):
    """Repository code (``hubconf.py``, ``mindspore_hub_conf.py``) imports packages that are not installed.

    The message names every missing top-level import name, the pip distribution
    where known, and the files (``path:line``) that import it; ``missing`` lists
    the import names. Also raised when an installed package lacks a name the
    code imports (a version the repository was not written for).
    """

    __module__ = "polyhub"

    def __init__(
        self,
        message: str,
        *,
        name: str | None = None,
        path: str | None = None,
        missing: list[str] | None = None,
    ) -> None:
        super().__init__(message, name=name, path=path)
        self.missing = list(missing or [])


class PluginError(PolyhubError):
    """A plugin failed to load or broke the hook contract."""

    __module__ = "polyhub"


class PolyhubWarning(UserWarning):
    """Base class of every warning polyhub emits."""

    __module__ = "polyhub"


class PolyhubDeprecationWarning(PolyhubWarning, DeprecationWarning):
    """A polyhub feature is deprecated."""

    __module__ = "polyhub"

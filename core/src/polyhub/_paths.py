"""Checks for paths that come from metadata (manifest paths, URL basenames, uids).

Nothing a hub says is allowed to name a location outside the folder it is
written into: no ``..``, no absolute or drive paths, no NUL, no backslashes.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from ._errors import PolyhubError

__all__ = ["UnsafePathError", "safe_join", "safe_relpath"]

_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafePathError(PolyhubError, ValueError):
    """A path from metadata would escape its folder.

    :ivar reason: why, as the end of a sentence about the path: ``"is absolute"``,
        ``"climbs out with '..'"``, ``"contains a backslash"``...
    """

    def __init__(self, name: object, reason: str, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message or f"path {name!r} {reason}")


def safe_relpath(name: str) -> PurePosixPath:
    """Return ``name`` as a relative POSIX path, or raise :class:`UnsafePathError`.

    For a path that a hub, a manifest or an archive names and that is to be joined
    to a local folder: ``"a/./b//c"`` gives ``PurePosixPath("a/b/c")``.

    :raises UnsafePathError: (a ``ValueError``) the name is empty or blank, holds a
        NUL or a backslash, is absolute (``/x``, ``C:x``, ``//host/share``), names
        no file (``"."``, ``"./"``) or has a ``..`` segment.
    """
    if not isinstance(name, str) or not name or (name.strip() != name and not name.strip()):
        raise UnsafePathError(name, "is empty", f"empty path {name!r}")
    if "\x00" in name:
        raise UnsafePathError(name, "contains a NUL character")
    if "\\" in name:
        raise UnsafePathError(name, "contains a backslash")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafePathError(name, "is absolute")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts:
        raise UnsafePathError(name, "names no file")
    if ".." in parts:
        raise UnsafePathError(name, "climbs out with '..'")
    return PurePosixPath(*parts)


def safe_join(root: Path, name: str) -> Path:
    """``root / name`` after :func:`safe_relpath`, checked to stay inside ``root``.

    :raises UnsafePathError: ``name`` fails :func:`safe_relpath`, or a symbolic link
        inside ``root`` takes it outside.
    """
    rel = safe_relpath(name)
    target = root.joinpath(*rel.parts)
    base = root.resolve()
    if not target.resolve().is_relative_to(base):
        # A symlink inside root pointing out would otherwise be followed.
        raise UnsafePathError(name, f"resolves outside {root}")
    return target

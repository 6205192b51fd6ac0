"""Checks for paths that come from metadata (manifest paths, URL basenames, uids).

Nothing a hub says is allowed to name a location outside the folder it is
written into: no ``..``, no absolute or drive paths, no NUL, no backslashes.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

__all__ = ["UnsafePathError", "safe_join", "safe_relpath"]

_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafePathError(ValueError):
    """A path from metadata would escape its folder."""


def safe_relpath(name: str) -> PurePosixPath:
    """Return ``name`` as a relative POSIX path, or raise :class:`UnsafePathError`.

    Rejects empty names, ``..`` segments, absolute, drive and UNC paths,
    backslashes and NUL characters.
    """
    if not isinstance(name, str) or not name or (name.strip() != name and not name.strip()):
        raise UnsafePathError(f"empty path {name!r}")
    if "\x00" in name:
        raise UnsafePathError(f"path {name!r} contains a NUL character")
    if "\\" in name:
        raise UnsafePathError(f"path {name!r} contains a backslash")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafePathError(f"path {name!r} is absolute")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts:
        raise UnsafePathError(f"path {name!r} names no file")
    if ".." in parts:
        raise UnsafePathError(f"path {name!r} climbs out with '..'")
    return PurePosixPath(*parts)


def safe_join(root: Path, name: str) -> Path:
    """``root / name`` after :func:`safe_relpath`, checked to stay inside ``root``."""
    rel = safe_relpath(name)
    target = root.joinpath(*rel.parts)
    base = root.resolve()
    if not target.resolve().is_relative_to(base):
        # A symlink inside root pointing out would otherwise be followed.
        raise UnsafePathError(f"path {name!r} resolves outside {root}")
    return target

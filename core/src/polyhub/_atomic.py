"""Atomic file writes: a temporary file in the same folder, then a rename.

Readers see the old content or the new, never a half-written file. Kept apart
from the cache so that light modules (git, trust) can use it without pulling
in the HTTP stack.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["COMPLETE_MARK", "atomic_folder", "atomic_write", "umask_mode"]

#: The file that marks a folder made by :func:`atomic_folder` as complete.
COMPLETE_MARK = ".polyhub-complete"


def umask_mode(mode: int = 0o666) -> int:
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_folder(dest: Path, fill: Callable[[Path], None]) -> Path:
    """The folder ``dest``, made by ``fill(tmp)`` in a temporary folder beside it, then renamed.

    Readers see a complete folder or none. A folder already marked complete is
    reused as it is; when another process publishes first, its folder wins and
    this one is discarded; a leftover without the mark (a process killed before
    the rename finished) is replaced. Whatever ``fill`` raises leaves nothing.
    """
    if (dest / COMPLETE_MARK).exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp"))
    try:
        fill(tmp)
        (tmp / COMPLETE_MARK).touch()
        try:
            os.rename(tmp, dest)
        except OSError:
            if (dest / COMPLETE_MARK).exists():
                shutil.rmtree(tmp)
                return dest
            shutil.rmtree(dest, ignore_errors=True)
            os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest

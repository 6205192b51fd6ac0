"""Who owns a file being downloaded: an advisory lock held for as long as the writer lives.

A download writes ``<home>/tmp/<key>.<pid>.<random>.tmp``. The writing process
holds an exclusive ``flock`` on that file from its creation until it publishes
or gives up; the kernel drops the lock when the process ends, however it ends
(SIGKILL, SIGTERM, a power cut). So "the lock is free" means "nobody is
writing this file": it can be continued (resumed) by the next download of the
same key, or removed by ``polyhub cache prune`` and by the next download.

The lock only decides who may touch a leftover; nothing relies on it for the
correctness of the bytes (every blob is hashed before it is published). Where
``flock`` does not exist (Windows) every file counts as unowned, and only the
age threshold of ``prune`` protects a running download.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

__all__ = ["create_owned", "release", "try_own"]


def _lock(fd: int, *, wait: bool) -> bool:
    if sys.platform == "win32":
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError:
        # A filesystem without flock (some FUSE mounts): no ownership information.
        return True
    return True


def create_owned(path: Path) -> int:
    """Create ``path`` (it must not exist), private to this user, and own it.

    :returns: the descriptor holding the lock; :func:`release` it when done.
    :raises OSError: the folder is not writable, or the file exists.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    _lock(fd, wait=True)
    return fd


def try_own(path: Path) -> int | None:
    """Take over ``path`` if no living process owns it.

    :returns: a descriptor holding the lock, or ``None`` when the file is gone or
        another process still writes it.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    if not _lock(fd, wait=False):
        os.close(fd)
        return None
    # The file may have been renamed (claimed by another process) between the
    # open and the lock: the name must still lead to the inode that is locked.
    try:
        same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except OSError:
        same = False
    if not same:
        os.close(fd)
        return None
    return fd


def release(fd: int | None) -> None:
    """Close the descriptor, which drops the lock."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)

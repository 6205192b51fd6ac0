"""Who owns a file being downloaded: an advisory lock held for as long as the writer lives.

A download writes ``<home>/tmp/<key>.<pid>.<random>.tmp``. The writing process
holds an exclusive ``flock`` on that file from its creation until it publishes
or gives up; the kernel drops the lock when the process ends, however it ends
(SIGKILL, SIGTERM, a power cut). So "the lock is free" means "nobody is
writing this file": it can be continued (resumed) by the next download of the
same key, or removed by ``polyhub cache prune`` and by the next download.

The lock only decides who may touch a leftover; nothing relies on it for the
correctness of the bytes (every blob is hashed before it is published). Where
``flock`` lies (some NFS, Lustre and GPFS mounts grant every caller the lock),
a second check keeps processes of the same machine apart: the writer's pid is
part of the file name, and a file whose writer is alive and wrote in the last
:data:`QUIET` seconds is never taken over. Where ``flock`` does not exist
(Windows) only that check and the age threshold of ``prune`` protect a
running download.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import time
from pathlib import Path

__all__ = ["QUIET", "create_owned", "release", "try_own"]

# A file its (living) writer touched this recently is in use, whatever the lock says.
QUIET = 120.0


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

    :returns: a descriptor holding the lock, or ``None`` when the file is gone,
        another process still writes it, or it is not a regular file (a folder,
        FIFO, device or symlink left there by someone else).
    """
    # O_NONBLOCK: opening a FIFO someone left in tmp/ would otherwise wait for a
    # writer forever; O_NOFOLLOW: a symlink there must not lead prune elsewhere.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        regular = False
    if not regular:  # a folder, FIFO or device is nothing polyhub wrote
        os.close(fd)
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
    if not same or _writer_alive(path, os.fstat(fd).st_mtime):
        os.close(fd)
        return None
    return fd


def _writer_alive(path: Path, mtime: float) -> bool:
    """Whether the pid in ``<key>.<pid>.<random>.tmp`` is another living process of this machine
    that wrote the file lately."""
    parts = path.name.split(".")
    if len(parts) < 4 or not parts[-3].isdigit() or time.time() - mtime > QUIET:
        return False
    pid = int(parts[-3])
    if pid == os.getpid():
        return False
    if sys.platform == "win32":
        return True  # os.kill(pid, 0) would end the process there; assume it is in use
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by another user
    return True


def release(fd: int | None) -> None:
    """Close the descriptor, which drops the lock."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)

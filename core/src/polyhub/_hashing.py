"""The sha256 of a file, read in blocks so that a multi-gigabyte model costs 1 MiB of memory.

Kept apart from :mod:`polyhub._cache` so that a plugin (or ``polyhub sha256``) can hash
a file without importing the cache and its HTTP stack.
"""

from __future__ import annotations

import hashlib
import os

__all__ = ["file_sha256"]

_BLOCK = 1 << 20  # 1 MiB: large enough that the hash, not the reads, sets the pace


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of the file at ``path``, as 64 lowercase hex digits.

    Reads the file in 1 MiB blocks; a symbolic link is followed.

    :raises OSError: the file cannot be opened or read (``FileNotFoundError``,
        ``IsADirectoryError``...); callers that hand the failure to a user wrap it
        in the :class:`polyhub.PolyhubError` that names what the file was for.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()

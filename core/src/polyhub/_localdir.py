"""``polyhub download --local-dir``: the downloaded files in a folder of the user's, by name.

The files are copies, never links into the cache: a symlink breaks when the cache
is pruned, and a hard link shares the cache's inode, so editing the "local" file in
place would silently change the verified blob. Each file is written to a temporary
name beside its destination and renamed, so a reader sees the old file or the new
one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from ._errors import PolyhubError

__all__ = ["place"]

# Markers the cache keeps inside extracted folders; not part of the data.
_SKIP = frozenset({".polyhub-complete"})


def _copy_atomic(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        # copyfile, not copy: the cache's files are read-only, the user's copy need not be.
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def place(path: Path, directory: Path, *, name: str | None = None) -> Iterator[Path]:
    """Copy ``path`` into ``directory``: a file as ``name`` (default: its own name), a folder's
    files under their paths in it. Yields each destination as it is written.

    :raises polyhub.PolyhubError: ``name`` is not a plain file name, or the folder cannot be
        written (the message names it).
    """
    from ._paths import UnsafePathError, safe_join

    # Said up front: otherwise the copy fails on a file inside it, with "File exists"
    # for a file that does not exist.
    if directory.is_symlink() and not directory.exists():
        raise PolyhubError(f"cannot write into {directory}: it is a link to a missing folder")
    if directory.exists() and not directory.is_dir():
        raise PolyhubError(f"cannot write into {directory}: it is a file, not a folder")
    try:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.name not in _SKIP)
            targets = [(f, safe_join(directory, f.relative_to(path).as_posix())) for f in files]
        else:
            # The hub chose the name: it must not climb out of the folder.
            targets = [(path, safe_join(directory, Path(name or path.name).name))]
    except UnsafePathError as exc:
        raise PolyhubError(f"refusing to write outside {directory}: {exc}") from None
    for src, dest in targets:
        try:
            _copy_atomic(src, dest)
        except OSError as exc:
            raise PolyhubError(f"cannot write {dest}: {exc.strerror or exc}") from None
        yield dest

"""Safe extraction of tar archives (ONNX test data and the like).

Layered, because ``tarfile``'s ``filter="data"`` alone has been bypassed
repeatedly: only regular files and folders are allowed (no symlinks, hard
links, devices or FIFOs), every member name is checked and must resolve
inside the destination (``commonpath``-style, not ``startswith``), the total
size is capped, and extraction goes to a temporary folder renamed into place
at the end, so a crash never leaves a half-extracted folder behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from .errors import UnsafeArchiveError
from .paths import UnsafePathError, safe_relpath

__all__ = ["extract_tar"]

_MARKER = ".polyhub-complete"


def extract_tar(archive: Path, dest: Path, *, max_bytes: int | None = None) -> Path:
    """Extract ``archive`` into ``dest`` (created); return ``dest``.

    An already complete extraction is returned as is.

    :raises UnsafeArchiveError: a member is not a regular file or folder, escapes
        ``dest``, or the members add up to more than ``max_bytes``.
    """
    if (dest / _MARKER).exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp"))
    try:
        _extract_into(archive, tmp, max_bytes)
        (tmp / _MARKER).touch()
        try:
            os.rename(tmp, dest)
        except OSError:
            if (dest / _MARKER).exists():  # another process finished first
                shutil.rmtree(tmp)
                return dest
            shutil.rmtree(dest, ignore_errors=True)  # a leftover without marker
            os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _extract_into(archive: Path, root: Path, max_bytes: int | None) -> None:
    total = 0
    base = root.resolve()
    try:
        tar = tarfile.open(archive, mode="r:*")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError) as exc:
        raise UnsafeArchiveError(f"{archive} is not a readable tar archive: {exc}") from exc
    with tar:
        for member in tar:
            where = f"{archive}: member {member.name!r}"
            if not (member.isfile() or member.isdir()):
                kind = (
                    "a symlink"
                    if member.issym()
                    else "a hard link"
                    if member.islnk()
                    else "a device or FIFO"
                )
                raise UnsafeArchiveError(
                    f"{where} is {kind}; only regular files and folders are allowed"
                )
            try:
                rel = safe_relpath(member.name)
            except UnsafePathError as exc:
                raise UnsafeArchiveError(f"{where}: {exc}") from None
            target = root.joinpath(*rel.parts)
            if os.path.commonpath([base, target.resolve()]) != str(base):
                raise UnsafeArchiveError(f"{where} resolves outside the destination")
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            total += member.size
            if max_bytes is not None and total > max_bytes:
                raise UnsafeArchiveError(
                    f"{archive} expands to more than {max_bytes} bytes; refusing (decompression bomb?)"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(member)
            if src is None:
                raise UnsafeArchiveError(f"{where} has no data")
            if target.exists():
                raise UnsafeArchiveError(f"{where} appears twice in the archive")
            with contextlib.closing(src), open(target, "xb") as out:
                written = 0
                while block := src.read(1 << 20):
                    written += len(block)
                    if written > member.size:
                        raise UnsafeArchiveError(f"{where} holds more bytes than its header says")
                    out.write(block)

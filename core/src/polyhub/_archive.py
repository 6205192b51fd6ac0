"""Safe extraction of tar archives (ONNX test data and the like).

Layered, because ``tarfile``'s ``filter="data"`` alone has been bypassed
repeatedly: only regular files and folders are allowed (no symlinks, hard
links, devices or FIFOs), every member name is checked and must resolve
inside the destination (``commonpath``-style, not ``startswith``), the total
size is capped, and extraction goes to a temporary folder renamed into place
at the end, so a crash never leaves a half-extracted folder behind.

Corrupt archives are refused the same way: a stream cut short (also between
members, which ``tarfile`` alone takes for the end), a bad CRC, a name that
is both a file and a folder, a name too long for the filesystem, or more than
100,000 members all raise :class:`~polyhub.UnsafeArchiveError` naming the
archive and the member, never ``EOFError``, ``BadGzipFile``, ``ReadError``,
``FileExistsError`` or ``OSError``.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from ._atomic import atomic_folder
from ._errors import UnsafeArchiveError
from ._paths import UnsafePathError, safe_relpath

__all__ = ["extract_tar"]


def extract_tar(archive: Path, dest: Path, *, max_bytes: int | None = None) -> Path:
    """Extract ``archive`` into ``dest`` (created); return ``dest``.

    An already complete extraction is returned as is.

    :raises UnsafeArchiveError: a member is not a regular file or folder, escapes
        ``dest``, clashes with another or has a name too long; the members add up
        to more than ``max_bytes``; or the archive is corrupt or cut short.
    """
    return atomic_folder(dest, lambda tmp: _extract_into(archive, tmp, max_bytes))


_NAME_MAX = 255  # bytes in one path component (Linux, macOS, Windows)
_PATH_MAX = 1024  # bytes in a member name; deeper trees are no test data
_MAX_MEMBERS = 100_000
_MAX_TRAILER = 1 << 20
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError)
"""What a corrupt archive raises while read: gzip.BadGzipFile (a bad CRC) is an
OSError, a stream cut short EOFError or tarfile.ReadError."""


class _Extraction:
    """One extraction's running state: the member being read, bytes and kinds seen."""

    def __init__(self, archive: Path, root: Path, max_bytes: int | None) -> None:
        self.archive = archive
        self.root = root
        self.base = root.resolve()
        self.max_bytes = max_bytes
        self.total = 0
        self.count = 0
        self.member = ""
        self.kinds: dict[PurePosixPath, str] = {}

    def where(self, name: str) -> str:
        return f"{self.archive}: member {name!r}"

    def run(self, tar: tarfile.TarFile) -> None:
        for member in tar:
            self.member = member.name
            self.count += 1
            if self.count > _MAX_MEMBERS:
                raise UnsafeArchiveError(
                    f"{self.archive} has more than {_MAX_MEMBERS} members; refusing"
                )
            self.one(tar, member)
        self.member = ""
        _check_end(tar, self.archive)

    def _claim(self, rel: PurePosixPath, kind: str, where: str) -> None:
        """Record ``rel`` as a file or folder; refuse a name that is both, or a file twice."""
        for parent in list(rel.parents)[:-1]:
            if self.kinds.get(parent) == "file":
                raise UnsafeArchiveError(f"{where} lies under {str(parent)!r}, which is a file")
            self.kinds[parent] = "dir"
        seen = self.kinds.get(rel)
        if seen == "file":
            what = (
                "appears twice in the archive" if kind == "file" else "is both a file and a folder"
            )
            raise UnsafeArchiveError(f"{where} {what}")
        if seen == "dir" and kind == "file":
            raise UnsafeArchiveError(f"{where} is both a file and a folder")
        self.kinds[rel] = kind

    def one(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        where = self.where(member.name)
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
        encoded = os.fsencode(str(rel))
        if len(encoded) > _PATH_MAX or any(len(os.fsencode(p)) > _NAME_MAX for p in rel.parts):
            raise UnsafeArchiveError(
                f"{where}: name too long (at most {_NAME_MAX} bytes a part, "
                f"{_PATH_MAX} in all); refusing"
            )
        target = self.root.joinpath(*rel.parts)
        if os.path.commonpath([self.base, target.resolve()]) != str(self.base):
            raise UnsafeArchiveError(f"{where} resolves outside the destination")
        self._claim(rel, "dir" if member.isdir() else "file", where)
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            return
        self.total += member.size
        if self.max_bytes is not None and self.total > self.max_bytes:
            raise UnsafeArchiveError(
                f"{self.archive} expands to more than {self.max_bytes} bytes; "
                "refusing (decompression bomb?)"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        src = tar.extractfile(member)
        if src is None:
            raise UnsafeArchiveError(f"{where} has no data")
        with contextlib.closing(src), open(target, "xb") as out:
            written = 0
            while block := src.read(1 << 20):
                written += len(block)
                if written > member.size:
                    raise UnsafeArchiveError(f"{where} holds more bytes than its header says")
                out.write(block)
            if written != member.size:
                raise UnsafeArchiveError(f"{where} is cut short: {written} of {member.size} bytes")


def _check_end(tar: tarfile.TarFile, archive: Path) -> None:
    """Refuse an archive that stops without its end-of-archive block.

    ``tarfile`` takes a header cut short after the first member for the end of
    the archive, so an archive cut between members would extract in part.
    """
    fileobj = tar.fileobj
    assert fileobj is not None
    fileobj.seek(tar.offset)
    if fileobj.read(tarfile.BLOCKSIZE) != bytes(tarfile.BLOCKSIZE):
        raise UnsafeArchiveError(
            f"{archive} ends without an end-of-archive block at byte {tar.offset}: "
            "it is cut short or corrupt"
        )
    # Read to the end: gzip checks its CRC and length only there, and a cut
    # trailer shows only there. Writers pad to 10 KiB records; more is refused.
    rest = 0
    while block := fileobj.read(1 << 16):
        rest += len(block)
        if rest > _MAX_TRAILER:
            raise UnsafeArchiveError(
                f"{archive} has more than {_MAX_TRAILER} bytes after its end-of-archive block"
            )


def _extract_into(archive: Path, root: Path, max_bytes: int | None) -> None:
    try:
        tar = tarfile.open(archive, mode="r:*")  # noqa: SIM115 (closed by the with below)
    except _READ_ERRORS as exc:
        raise UnsafeArchiveError(f"{archive} is not a readable tar archive: {exc}") from exc
    job = _Extraction(archive, root, max_bytes)
    with tar:
        try:
            job.run(tar)
        except UnsafeArchiveError:
            raise
        except _READ_ERRORS as exc:
            at = f" at member {job.member!r}" if job.member else ""
            raise UnsafeArchiveError(
                f"{archive} is corrupt or cut short{at}: {type(exc).__name__}: {exc}"
            ) from None

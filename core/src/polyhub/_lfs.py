"""Git LFS pointers: recognise one where a file was expected, and say so.

A repository that keeps large files in Git LFS stores, at each file's path, a
small text "pointer" (spec: https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md)::

    version https://git-lfs.github.com/spec/v1
    oid sha256:<64 hex digits>
    size <bytes>

A host that does not (or no longer does) serve the LFS objects answers a
download of such a path with the pointer itself, with HTTP 200. Taken for the
file, it looks like a short body: the downloader would retry, try to resume
past its end (HTTP 416) and end with an error that hides the cause. So the
first bytes of every body are looked at once, here, and a pointer is refused
at once with its ``oid`` and ``size`` named.

Only the exact pointer shape counts: the spec's first line byte for byte,
then ``key value`` lines with an ``oid sha256:`` of 64 hex digits and a
decimal ``size``, everything under 1024 bytes (the spec's bound). A small
file that merely starts with similar text is not a pointer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ._errors import DownloadError

__all__ = ["MAX_POINTER", "GitLfsPointerError", "LfsPointer", "check_body_head", "parse_pointer"]

SPEC_LINE = b"version https://git-lfs.github.com/spec/v1\n"
# The spec: "Pointer files must be less than 1024 bytes in size".
MAX_POINTER = 1024
_KEY_VALUE = re.compile(rb"^[a-z0-9.\-]+ [^\n]*$")
_OID = re.compile(rb"^sha256:([0-9a-f]{64})$")


@dataclass(frozen=True)
class LfsPointer:
    """A parsed pointer: the sha256 and size of the object it stands for."""

    oid: str
    size: int


class GitLfsPointerError(DownloadError):
    """A download returned a Git LFS pointer text instead of the file it points to.

    :ivar pointer: the pointer's ``oid`` (sha256 hex) and ``size`` (bytes).
    """

    def __init__(self, url: str, pointer: LfsPointer, *, hint: str = "") -> None:
        self.pointer = pointer
        super().__init__(
            f"GET {url} returned a Git LFS pointer (oid sha256:{pointer.oid}, size "
            f"{pointer.size} bytes), not the file: this host serves the pointer text, not the "
            "LFS object it stands for. "
            + (
                hint
                or "Fetch the file from a host that serves the object itself (a mirror of the "
                "repository's LFS files; POLYHUB_MIRRORS can redirect the URL)"
            ),
            url=url,
        )


def parse_pointer(data: bytes) -> LfsPointer | None:
    """The pointer ``data`` is, or ``None`` when it is anything else (a real file).

    ``data`` must be the whole body: a pointer is at most :data:`MAX_POINTER` bytes.
    """
    if len(data) >= MAX_POINTER or not data.startswith(SPEC_LINE) or not data.endswith(b"\n"):
        return None
    fields: dict[bytes, bytes] = {}
    for line in data[len(SPEC_LINE) : -1].split(b"\n"):
        if not _KEY_VALUE.match(line):
            return None
        key, _, value = line.partition(b" ")
        if key in fields:
            return None
        fields[key] = value
    oid = _OID.match(fields.get(b"oid", b""))
    size = fields.get(b"size", b"")
    if oid is None or not size.isdigit():
        return None
    return LfsPointer(oid[1].decode("ascii"), int(size))


def check_body_head(
    url: str, head: bytes, expected_size: int | None, read_more: Callable[[], bytes]
) -> bytes:
    """Refuse a body that is a Git LFS pointer; return ``head``, extended if more was read.

    Call it with the first bytes of a body, before they are written anywhere.
    When ``head`` could be the start of a pointer, up to :data:`MAX_POINTER`
    bytes are read through ``read_more`` (which returns ``b""`` at the end) to
    see the whole of it. A body of exactly ``expected_size`` bytes is the file
    that was asked for, whatever it looks like.

    :raises GitLfsPointerError: the body is a pointer (its oid and size named).
    """
    if not (SPEC_LINE.startswith(head) or head.startswith(SPEC_LINE)):
        return head  # the common case: one comparison of a few bytes
    while len(head) < MAX_POINTER and (more := read_more()):
        head += more
    pointer = parse_pointer(head)
    if pointer is not None and expected_size != len(head):
        raise GitLfsPointerError(url, pointer)
    return head

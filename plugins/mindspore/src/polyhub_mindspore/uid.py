"""MindSpore Hub model uids: ``[publisher/][backend/]version/name``.

Two layouts live in the hub side by side. The current one (hub master, r1.8+)
is ``publisher/mindspore_version/name``; the legacy one (branches r1.0-r1.6,
and ``noah-cvlab`` on master) has a backend level,
``publisher/backend/version/name``. A publisher may be left out; it then is
``mindspore``, so ``ascend/1.0/alexnet_v1_cifar10`` is the legacy uid
``mindspore/ascend/1.0/alexnet_v1_cifar10``.

Every segment comes from a user or from hub metadata and ends up in a file
path, so each one is checked here, before anything touches the disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from polyhub import ModelNotFoundError

__all__ = [
    "BACKENDS",
    "DEFAULT_PUBLISHER",
    "Uid",
    "UnsafeUidError",
    "check_filename",
    "check_segment",
    "parse_uid",
    "uid_from_relpath",
]

BACKENDS = ("ascend", "cpu", "gpu")
DEFAULT_PUBLISHER = "mindspore"

# Real cards only ever use these characters (checked over all 4,259 real cards);
# anything else in a segment is refused rather than escaped.
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]*$")


class UnsafeUidError(ModelNotFoundError):
    """A uid segment that could escape the hub folder (``..``, ``/x``, ``%2e%2e``, NUL...)."""


def check_segment(segment: str, what: str = "uid segment") -> str:
    """Return ``segment`` when it is a plain file name; raise :class:`UnsafeUidError` otherwise.

    Percent-escapes are decoded once, so ``%2e%2e`` is caught as ``..``; a second
    level of escaping keeps its ``%`` and fails the character check.
    """
    decoded = unquote(segment)
    if (
        not decoded
        or decoded in (".", "..")
        or decoded != segment
        or not _SEGMENT.match(decoded)
        or decoded.endswith((".", " "))
        or len(decoded) > 200
    ):
        raise UnsafeUidError(f"{what} {segment!r} is not a plain name (letters, digits, '._+-')")
    return decoded


def check_filename(name: str, what: str = "file name") -> str:
    """Return ``name`` when it is one harmless file name; raise :class:`UnsafeUidError` otherwise.

    Looser than :func:`check_segment` because real asset names carry ``@`` and
    ``=`` (``..._P@1acc42.7.ckpt``, ``..._acctop1=78.81.ckpt``); what matters is
    that the name cannot leave its folder or mean something special on any OS.
    """
    if (
        not name
        or name in (".", "..")
        or any(c in name for c in '/\\:*?"<>|')
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
        or name.startswith("-")
        or name.endswith((".", " "))
        or "%" in name
        or len(name) > 255
    ):
        raise UnsafeUidError(f"{what} {name!r} is not a safe file name")
    return name


@dataclass(frozen=True)
class Uid:
    """A card's identity in a hub: ``publisher/[backend/]version/name``."""

    publisher: str
    version: str
    name: str
    backend: str | None = None

    def __str__(self) -> str:
        parts = [self.publisher, self.backend, self.version, self.name]
        return "/".join(p for p in parts if p)

    @property
    def relpath(self) -> str:
        """The card's path relative to ``mshub_res/assets``."""
        return f"{self}.md"

    @property
    def is_cn(self) -> bool:
        return self.name.endswith("_cn")

    def twin(self) -> Uid:
        """The English card a ``_cn`` card is read through."""
        return Uid(self.publisher, self.version, self.name[: -len("_cn")], self.backend)


def parse_uid(path: str) -> Uid:
    """Parse an address path (without scheme, revision or query) into a :class:`Uid`.

    :raises ModelNotFoundError: the path has the wrong number of parts or an unsafe part.
    """
    text = path.strip()
    if text.startswith("/"):
        raise UnsafeUidError(f"{path!r} is an absolute path, not a MindSpore Hub uid")
    text = text.rstrip("/")
    if text.endswith(".md"):
        text = text[: -len(".md")]
    if "\\" in text or "\x00" in text:
        raise UnsafeUidError(f"{path!r} is not a MindSpore Hub uid (backslash or NUL)")
    parts = text.split("/")
    for part in parts:
        check_segment(part)
    if len(parts) == 4:
        publisher, backend, version, name = parts
        if backend.lower() not in BACKENDS:
            raise ModelNotFoundError(
                f"{path!r}: in a 4-part uid the second part is a backend "
                f"({', '.join(BACKENDS)}), not {backend!r}"
            )
        return Uid(publisher, version, name, backend.lower())
    if len(parts) == 3:
        first, version, name = parts
        if first.lower() in BACKENDS:
            return Uid(DEFAULT_PUBLISHER, version, name, first.lower())
        return Uid(first, version, name)
    if len(parts) == 2:
        return Uid(DEFAULT_PUBLISHER, parts[0], parts[1])
    raise ModelNotFoundError(
        f"{path!r} is not a MindSpore Hub uid: expected 'publisher/version/name' "
        "(e.g. 'mindspore/1.6/lenet_mnist'), 'publisher/backend/version/name' "
        "(e.g. 'mindspore/ascend/1.0/alexnet_v1_cifar10') or 'backend/version/name'"
    )


def uid_from_relpath(relpath: str) -> Uid | None:
    """The uid of a card at ``relpath`` under ``assets/``; ``None`` when it is no card path."""
    if not relpath.endswith(".md"):
        return None
    parts = relpath[: -len(".md")].split("/")
    try:
        for part in parts:
            check_segment(part)
    except UnsafeUidError:
        return None
    if len(parts) == 4 and parts[1].lower() in BACKENDS:
        return Uid(parts[0], parts[2], parts[3], parts[1].lower())
    if len(parts) == 3 and parts[1].lower() not in BACKENDS and parts[0].lower() not in BACKENDS:
        return Uid(parts[0], parts[1], parts[2])
    return None

"""Where an ONNX Model Hub lives: hub specs and the URLs of its manifest and files.

A hub is one of three things, named by a spec string:

* ``owner/name[:ref]``: a GitHub repository, read as ``onnx.hub`` did: the
  manifest from ``raw.githubusercontent.com`` and model blobs from
  ``media.githubusercontent.com`` (the Git LFS media host). The default hub is
  ``onnx/models:main``.
* an ``http(s)://`` base URL serving ``ONNX_HUB_MANIFEST.json`` and the files
  next to it.
* a local directory (absolute, ``./``, ``../``, ``~`` or ``file://``) holding
  the manifest and the files.

Every URL is built from the spec here and nowhere else, so ``POLYHUB_MIRRORS``
(applied by the core to every fetch) can redirect the GitHub hosts.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from polyhub import UnsupportedError

__all__ = [
    "DEFAULT_HUB",
    "HUB_ENV",
    "MANIFEST_NAME",
    "HubSpec",
    "parse_hub",
]

MANIFEST_NAME = "ONNX_HUB_MANIFEST.json"
HUB_ENV = "POLYHUB_ONNX_HUB"
DEFAULT_HUB = "onnx/models:main"
DEFAULT_REF = "main"

RAW_HOST = "https://raw.githubusercontent.com"
MEDIA_HOST = "https://media.githubusercontent.com/media"

_GITHUB = re.compile(
    r"^(?P<owner>[A-Za-z0-9_.\-]+)/(?P<name>[A-Za-z0-9_.\-]+)(?::(?P<ref>[^\s:]+))?$"
)
# Git refs cannot contain these (git check-ref-format); refusing them keeps the
# ref from reshaping the URL path it is pasted into.
_BAD_REF = re.compile(r"(\.\.|[\x00-\x20~^:?*\[\\]|^/|/$|@\{|^-)")


@dataclass(frozen=True)
class HubSpec:
    """A parsed hub location.

    :ivar kind: ``github``, ``url`` or ``local``.
    :ivar owner: the GitHub owner (``github`` only).
    :ivar name: the GitHub repository name (``github`` only).
    :ivar ref: the branch, tag or commit (``github`` only).
    :ivar base: the base URL (``url``) or the absolute directory (``local``).
    """

    kind: str
    owner: str = ""
    name: str = ""
    ref: str = ""
    base: str = ""

    def __str__(self) -> str:
        if self.kind == "github":
            return f"{self.owner}/{self.name}:{self.ref}"
        return self.base

    @property
    def repo(self) -> str:
        """``owner/name`` for a GitHub hub, the base otherwise."""
        return f"{self.owner}/{self.name}" if self.kind == "github" else self.base

    @property
    def is_default(self) -> bool:
        """True for ``onnx/models`` (any ref): the hub an address names when it names none."""
        return self.kind == "github" and (self.owner, self.name) == ("onnx", "models")

    @property
    def manifest_url(self) -> str:
        """Where the manifest is: a URL, or a local file path for a local hub."""
        return self.file_url(MANIFEST_NAME, lfs=False)

    def file_url(self, relative: str, *, lfs: bool = True) -> str:
        """The URL (or local path) of ``relative``, a checked path from the manifest.

        ``lfs`` picks GitHub's LFS media host, where model blobs live; the
        manifest itself is a plain file on the raw host.
        """
        if self.kind == "local":
            # String joins, not Path: listing builds two of these per entry.
            return self.base.rstrip(os.sep) + os.sep + relative.replace("/", os.sep)
        quoted = quote(relative, safe="/")
        if self.kind == "url":
            return f"{self.base}/{quoted}"
        host = MEDIA_HOST if lfs else RAW_HOST
        return f"{host}/{self.owner}/{self.name}/{quote(self.ref, safe='/')}/{quoted}"

    def at(self, revision: str | None) -> HubSpec:
        """This hub pinned to ``revision`` (an address's ``@revision``).

        :raises UnsupportedError: the hub is a URL or a folder, which have no revisions.
        """
        if not revision:
            return self
        if self.kind != "github":
            raise UnsupportedError(
                f"@{revision}: only a GitHub hub (owner/name[:ref]) can be pinned to a revision; "
                f"the hub {self.base} is a {'folder' if self.kind == 'local' else 'URL'}"
            )
        _check_ref(revision, what=f"revision {revision!r}")
        return HubSpec("github", self.owner, self.name, revision)


def _check_ref(ref: str, *, what: str) -> None:
    if _BAD_REF.search(ref):
        raise UnsupportedError(f"{what} is not a valid git ref name")


def _looks_local(text: str) -> bool:
    return (
        text.startswith(("/", "./", "../", "~", "file:"))
        or text in (".", "..")
        or os.path.isabs(text)
    )


def parse_hub(text: str | os.PathLike[str] | None) -> HubSpec:
    """Parse a hub spec; ``None`` or empty gives the default hub, ``onnx/models:main``.

    :raises UnsupportedError: the text is none of the three kinds of hub.
    """
    if text is None or not str(text).strip():
        text = DEFAULT_HUB
    raw = os.fspath(text).strip() if not isinstance(text, str) else text.strip()
    if raw.startswith(("http://", "https://")):
        parts = urlsplit(raw)
        if not parts.netloc:
            raise UnsupportedError(f"hub {raw!r} is a URL without a host")
        return HubSpec("url", base=raw.rstrip("/"))
    if _looks_local(raw):
        path = unquote(urlsplit(raw).path) if raw.startswith("file:") else raw
        return HubSpec("local", base=str(Path(os.path.expanduser(path)).absolute()))
    match = _GITHUB.match(raw)
    if match:
        ref = match["ref"] or DEFAULT_REF
        _check_ref(ref, what=f"the ref of hub {raw!r}")
        return HubSpec("github", match["owner"], match["name"], ref)
    if os.path.isdir(raw):
        return HubSpec("local", base=str(Path(raw).absolute()))
    raise UnsupportedError(
        f"hub {raw!r} is not 'owner/name[:ref]' (a GitHub repository), an http(s) base URL "
        "nor an existing folder"
    )

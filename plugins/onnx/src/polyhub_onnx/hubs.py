"""Where an ONNX Model Hub lives: hub specs and the URLs of its manifest and files.

A hub is one of three things, named by a spec string:

* ``owner/name[:ref]``: a GitHub repository. The manifest comes from
  ``raw.githubusercontent.com``; the files it names (``model_path``,
  ``model_with_data_path``) from the file host :data:`FILES_ENV` picks. By
  default that is, for ``onnx/models`` (the default hub, ``onnx/models:main``),
  the Hugging Face mirror of the zoo, and for any other repository GitHub's Git
  LFS media host ``media.githubusercontent.com``, as ``onnx.hub`` did.
* an ``http(s)://`` base URL serving ``ONNX_HUB_MANIFEST.json`` and the files
  next to it.
* a local directory (absolute, ``./``, ``../``, ``~`` or ``file://``) holding
  the manifest and the files.

Why the mirror: GitHub stopped serving the zoo's Git LFS objects on
2025-07-01 and answers a model path with the ~130-byte pointer text; the
files were copied, same paths and bytes, to the Hugging Face repository
``onnxmodelzoo/legacy_models``, whose ``main`` is the zoo's ``main``. A ref of
``onnx/models`` other than ``main`` (``onnx:mnist@<commit>``) still reads its
manifest at that ref and its files from the mirror: the paths are the same,
and the manifest's sha256 decides whether the mirror's bytes are that ref's.

Every URL is built from the spec here and nowhere else, so ``POLYHUB_MIRRORS``
(applied by the core to every fetch) can redirect each host.
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
    "FILES_ENV",
    "HF_FILES",
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
# The ONNX Model Zoo's files since GitHub's LFS downloads ended: same paths, same bytes.
HF_FILES = "https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main"
# Where a GitHub hub's files come from: "auto" (unset), "github", "huggingface" or a base URL.
FILES_ENV = "POLYHUB_ONNX_FILES"

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

        ``lfs`` marks a file the manifest names (a model, a tarball): for a
        GitHub hub it comes from :meth:`files_base`; the manifest itself is a
        plain file on the raw host.

        :raises UnsupportedError: ``POLYHUB_ONNX_FILES`` holds no valid choice.
        """
        if self.kind == "local":
            # String joins, not Path: listing builds two of these per entry.
            return self.base.rstrip(os.sep) + os.sep + relative.replace("/", os.sep)
        quoted = quote(relative, safe="/")
        if self.kind == "url":
            return f"{self.base}/{quoted}"
        if not lfs:
            return f"{RAW_HOST}/{self.owner}/{self.name}/{quote(self.ref, safe='/')}/{quoted}"
        return f"{self.files_base()}/{quoted}"

    def files_base(self) -> str:
        """The base URL of a GitHub hub's files, from ``POLYHUB_ONNX_FILES``.

        * unset or ``auto``: the Hugging Face mirror :data:`HF_FILES` for
          ``onnx/models`` (any ref), GitHub's LFS media host for other repositories;
        * ``github``: GitHub's LFS media host at the hub's ref, for every repository;
        * ``huggingface``: the Hugging Face mirror, for every repository;
        * an ``http(s)://`` base URL: ``{base}/{model_path}`` (a private copy of the zoo).

        :raises UnsupportedError: any other value.
        """
        media = f"{MEDIA_HOST}/{self.owner}/{self.name}/{quote(self.ref, safe='/')}"
        choice = os.environ.get(FILES_ENV, "").strip()
        if choice in ("", "auto"):
            return HF_FILES if self.is_default else media
        if choice == "github":
            return media
        if choice == "huggingface":
            return HF_FILES
        if choice.startswith(("http://", "https://")) and urlsplit(choice).netloc:
            return choice.rstrip("/")
        raise UnsupportedError(
            f"{FILES_ENV}={choice!r} is not 'auto', 'github', 'huggingface' nor an "
            "http(s):// base URL"
        )

    @property
    def files_from_mirror(self) -> bool:
        """True when a GitHub hub's files come from the mirror of ``onnx/models`` main."""
        return self.kind == "github" and self.files_base() == HF_FILES

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

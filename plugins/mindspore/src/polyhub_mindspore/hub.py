"""Hub locations: where the ``mshub_res`` card tree comes from, and reading cards from it.

A hub is named by ``hub=``, else ``POLYHUB_MINDSPORE_HUB``, else the upstream
repository. Three kinds:

* a **git repository** (a URL ending in ``.git``, ``git+<url>``, ``ssh://``,
  ``git@host:...``; a ref after ``#`` or ``@``, else the address's
  ``@revision``, else the default branch), checked out through the core, so
  it is pinned to a commit, cached by commit and mirror-rewritten;
* an **http(s) base** serving the repository's raw files (``.../raw/master``,
  or the ``mshub_res`` folder itself); ``{revision}`` in it is replaced by the
  address's revision. Cards are fetched one by one through the core's
  ETag-cached index fetch, so they are available offline once read;
* a **local folder**: the hub repository's root, or its ``mshub_res`` folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from polyhub import Context, DownloadError, ModelNotFoundError, UnsupportedError

from .names import HUB_ENV
from .uid import Uid

__all__ = ["DEFAULT_HUB", "HUB_ENV", "Hub", "HubSpec", "open_hub", "parse_hub"]

DEFAULT_HUB = "https://gitee.com/mindspore/hub.git"
DEFAULT_BRANCH = "master"


@dataclass(frozen=True)
class HubSpec:
    """A parsed hub location: ``kind`` is ``git``, ``http`` or ``local``."""

    kind: str
    location: str
    revision: str | None = None

    def __str__(self) -> str:
        return self.location if not self.revision else f"{self.location}#{self.revision}"


def _is_git(text: str) -> bool:
    base = text.split("#", 1)[0]
    return (
        text.startswith(("git+", "ssh://", "git://", "git@"))
        or base.endswith(".git")
        or ".git@" in base
        or base[-5:] == ".git/"
    )


def parse_hub(value: str | None, revision: str | None = None) -> HubSpec:
    """Parse a hub location (``None``: ``POLYHUB_MINDSPORE_HUB``, else the upstream hub)."""
    text = (value if value is not None else os.environ.get(HUB_ENV, "")).strip() or DEFAULT_HUB
    if _is_git(text):
        url = text.removeprefix("git+")
        ref: str | None = None
        if "#" in url:
            url, ref = url.split("#", 1)
        elif ".git@" in url:
            url, ref = url.rsplit("@", 1)
        return HubSpec("git", url.rstrip("/"), revision or ref or None)
    parts = urlsplit(text)
    if parts.scheme in ("http", "https"):
        return HubSpec("http", text.rstrip("/"), revision)
    path = unquote(parts.path) if parts.scheme == "file" else text
    folder = Path(os.path.expanduser(path))
    if revision and folder.name == "mshub_res" and (folder.parent / ".git").exists():
        # The clone's mshub_res folder names the same hub as the clone itself.
        folder = folder.parent
    if revision and (folder / ".git").exists():
        # A pinned revision of a local clone is read through git, not from the work tree.
        return HubSpec("git", "file://" + str(folder.resolve()), revision)
    return HubSpec("local", str(folder.absolute()), revision)


def mshub_root(folder: Path) -> Path | None:
    """The ``mshub_res`` folder of a hub checkout: ``folder/mshub_res`` or ``folder`` itself."""
    if (folder / "mshub_res" / "assets").is_dir():
        return folder / "mshub_res"
    if (folder / "assets").is_dir():
        return folder
    return None


class Hub:
    """An opened hub: reads cards by uid and, for trees on disk, walks them.

    ``key`` names the hub's content at this moment (the commit of a git hub),
    which is what the index is cached under.
    """

    def __init__(
        self, spec: HubSpec, *, root: Path | None, base_url: str | None, key: str, context: Context
    ):
        self.spec = spec
        self.root = root  # the mshub_res folder, for git and local hubs
        self.base_url = base_url  # the mshub_res URL, for http hubs
        self.key = key
        self.context = context

    @property
    def assets(self) -> Path | None:
        return None if self.root is None else self.root / "assets"

    def card_location(self, uid: Uid) -> str:
        if self.root is not None:
            return str(self.root / "assets" / uid.relpath)
        return f"{self.base_url}/assets/{uid.relpath}"

    def exists(self, uid: Uid) -> bool:
        if self.root is not None:
            return self._local_path(uid) is not None
        try:
            self.read(uid)
        except ModelNotFoundError:
            return False
        return True

    def _local_path(self, uid: Uid) -> Path | None:
        assert self.root is not None
        assets = (self.root / "assets").resolve()
        path = self.root / "assets" / uid.relpath
        if not path.is_file():
            return None
        # A symlink in a hub repository must not read a file outside it.
        if not path.resolve().is_relative_to(assets):
            raise ModelNotFoundError(f"{path} points outside the hub's assets folder")
        return path

    def read(self, uid: Uid) -> tuple[str, str]:
        """The text of the card of ``uid`` and where it came from (path or URL).

        :raises ModelNotFoundError: the hub has no such card.
        """
        if self.root is not None:
            path = self._local_path(uid)
            if path is None:
                raise ModelNotFoundError(self._missing(uid))
            return path.read_text(encoding="utf-8", errors="replace"), str(path)
        url = self.card_location(uid)
        try:
            data = self.context.fetch_index(url)
        except DownloadError as exc:
            if exc.status in (403, 404, 410):
                raise ModelNotFoundError(self._missing(uid) + f" ({exc})") from None
            raise
        return data.decode("utf-8", errors="replace"), url

    def _missing(self, uid: Uid) -> str:
        hint = ""
        if uid.backend and uid.publisher == "mindspore":
            hint = (
                "; cards with a backend level (mindspore/<backend>/<version>/...) live on the "
                "hub's r1.0-r1.6 branches: add '@r1.6' to the address, or use the current uid "
                "'mindspore/<version>/<name>'"
            )
        return f"no card {uid.relpath} in the MindSpore hub {self.spec}{hint}"

    def card_paths(self) -> Iterator[tuple[str, Path]]:
        """Every ``(relpath, path)`` of a ``.md`` file under ``assets/``, sorted; disk hubs only."""
        if self.root is None:
            raise UnsupportedError(
                f"the MindSpore hub {self.spec} is served over http(s), which cannot list its "
                "cards: point hub= (or POLYHUB_MINDSPORE_HUB) at the hub's git repository or a "
                "local checkout to list models"
            )
        assets = self.root / "assets"
        found: list[tuple[str, Path]] = []
        for dirpath, dirnames, filenames in os.walk(assets):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel_dir = os.path.relpath(dirpath, assets)
            for name in filenames:
                if name.endswith(".md") and not name.lower().startswith("readme"):
                    rel = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
                    found.append((rel, Path(dirpath, name)))
        found.sort()
        yield from found

    def signature(self) -> str:
        """A cheap fingerprint of a local tree's cards (names, sizes, mtimes).

        ``os.scandir`` rather than pathlib: this runs on every listing of a local
        hub, and a few thousand ``Path`` objects cost more than the stat calls.
        """
        import hashlib

        if self.root is None:
            return ""
        # One sort and one hash at the end rather than a sort per folder and an
        # update per file: this runs on every first listing of a process.
        lines: list[str] = []
        stack = [str(self.root / "assets")]
        while stack:
            folder = stack.pop()
            with os.scandir(folder) as it:
                for entry in it:
                    name = entry.name
                    if name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=True):
                        stack.append(entry.path)
                    elif name.endswith(".md"):
                        st = entry.stat()
                        lines.append(f"{entry.path}\0{st.st_size}\0{st.st_mtime_ns}")
        lines.sort()
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def open_hub(spec: HubSpec, context: Context) -> Hub:
    """Make ``spec`` readable: check out a git hub, find the ``mshub_res`` folder.

    :raises ModelNotFoundError: the location is no MindSpore hub.
    :raises polyhub.RevisionNotFoundError: the git revision does not exist.
    """
    if spec.kind == "git":
        checkout = context.checkout(spec.location, spec.revision)
        root = mshub_root(checkout.path)
        if root is None:
            raise ModelNotFoundError(
                f"{spec.location}@{checkout.commit[:12]} is no MindSpore hub: it has neither "
                "mshub_res/assets/ nor assets/"
            )
        return Hub(
            spec,
            root=root,
            base_url=None,
            key=f"git:{spec.location}@{checkout.commit}",
            context=context,
        )
    if spec.kind == "http":
        base = spec.location.replace("{revision}", spec.revision or DEFAULT_BRANCH)
        if not base.rstrip("/").endswith("/mshub_res"):
            base = base.rstrip("/") + "/mshub_res"
        return Hub(spec, root=None, base_url=base, key=f"http:{base}", context=context)
    folder = Path(spec.location)
    root = mshub_root(folder)
    if root is None:
        raise ModelNotFoundError(
            f"{folder} is no MindSpore hub: expected the hub repository (with mshub_res/assets/) "
            "or its mshub_res folder (with assets/)"
        )
    return Hub(spec, root=root, base_url=None, key=f"local:{root.resolve()}", context=context)

"""Disk use of a polyhub home, item by item, and removal of what nobody used for a while.

``polyhub cache ls`` and ``polyhub cache prune --older-than AGE`` are built on
:func:`scan`. Sizes are bytes on disk (allocated blocks, each inode counted once),
the measure ``du -sB1`` reports, so the total equals ``du`` of the home.

The last use of an item is the latest access or modification time of anything in
it. Every cache hit on a blob sets its access time (at most once a minute), whatever
the mount options; for checkouts and extracted folders, Linux's default ``relatime``
moves the access time of a read file at least once a day, which is all an age counted
in days needs, and on a ``noatime`` mount their last use falls back to when they were
written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PRUNABLE", "Item", "Usage", "parse_age", "remove_item", "scan"]

# Kinds that are rebuilt from the hubs on the next use, so prune may remove them.
# "storage" is a plugin's folder (Context.storage): what a plugin keeps is rebuilt too.
PRUNABLE = ("blob", "checkout", "repo", "extracted", "storage")


@dataclass(frozen=True)
class Item:
    """One thing in the home: ``kind`` (blob, checkout, repo, extracted, index, ...),
    where it is, its size on disk in bytes, its last use (seconds since the epoch),
    and a short ``label`` (a sha256 prefix and the names it is known by, a repo/commit)."""

    kind: str
    path: Path
    size: int
    last_used: float
    label: str


@dataclass(frozen=True)
class Usage:
    """Every item of a home, and ``total``: bytes on disk of the whole home, as ``du -sB1``."""

    home: Path
    items: tuple[Item, ...]
    total: int

    @property
    def unlisted(self) -> int:
        """Bytes in no item: the folders that hold the items."""
        return self.total - sum(i.size for i in self.items)


def _walk(path: Path) -> Iterator[os.stat_result]:
    """lstat of ``path`` and, for a real folder, of everything under it (links not followed)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    yield st
    if stat.S_ISDIR(st.st_mode):
        try:
            children = list(os.scandir(path))
        except OSError:
            return
        for child in children:
            yield from _walk(Path(child.path))


def _measure(path: Path, seen: set[tuple[int, int]]) -> tuple[int, float]:
    size, last = 0, 0.0
    for st in _walk(path):
        # Listing a folder (as this scan does) updates its access time: only a file
        # being read counts as a use.
        used = st.st_mtime if stat.S_ISDIR(st.st_mode) else max(st.st_atime, st.st_mtime)
        last = max(last, used)
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue
        seen.add(key)
        size += st.st_blocks * 512
    return size, last


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _views(home: Path) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    root = home / "views"
    if root.is_dir():
        for link in root.rglob("*"):
            if link.is_symlink():
                names.setdefault(Path(os.readlink(link)).name, []).append(
                    str(link.relative_to(root))
                )
    return names


def _candidates(home: Path) -> Iterator[tuple[str, Path, str]]:
    views = _views(home)
    for top in _children(home):
        name = top.name
        if name == "blobs":
            for algo in _children(top):
                for fan in _children(algo):
                    for blob in _children(fan):
                        shown = ", ".join(sorted(views.get(blob.name, []))) or "-"
                        yield "blob", blob, f"{blob.name[:16]}  {shown}"
        elif name == "git":
            for part in _children(top):
                if part.name == "checkouts":
                    for repo in _children(part):
                        for commit in _children(repo):
                            kind = "temporary" if commit.name.startswith(".") else "checkout"
                            yield kind, commit, f"{repo.name} @ {commit.name[:12]}"
                elif part.name == "repos":
                    for repo in _children(part):
                        kind = "temporary" if repo.name.startswith(".") else "repo"
                        yield kind, repo, repo.name.removesuffix(".git")
                else:
                    yield "git-" + part.name, part, f"git/{part.name}"
        elif name == "extracted":
            for folder in _children(top):
                yield "extracted", folder, folder.name
        elif name == "tmp":
            for path in _children(top):
                yield "temporary", path, path.name
        elif name in ("index", "urls", "locks", "views", "stat", "names"):
            yield name, top, name
        elif name == "plugins":
            for folder in _children(top):
                yield "storage", folder, f"plugins/{folder.name}"
        elif top.is_dir():
            # A folder polyhub does not write (an older version's plugin folder, e.g.
            # mindspore/links): shown and counted, never pruned.
            yield "plugin", top, name
        else:
            yield "file", top, name


def scan(home: Path) -> Usage:
    """Everything under ``home`` as :class:`Item` s, with sizes that add up to ``du``'s total."""
    seen: set[tuple[int, int]] = set()
    items = []
    for kind, path, label in _candidates(home):
        size, last = _measure(path, seen)
        items.append(Item(kind, path, size, last, label))
    # The folders that hold the items, measured last so nothing is counted twice.
    total = sum(i.size for i in items) + _measure(home, seen)[0]
    return Usage(home, tuple(items), total)


def parse_age(text: str) -> float:
    """Seconds in an age such as ``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or a bare number of seconds.

    :raises ValueError: anything else (the CLI turns it into a usage error).
    """
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    value = text.strip().lower()
    factor = units.get(value[-1:])
    number = value[:-1] if factor else value
    try:
        seconds = float(number) * (factor or 1)
    except ValueError:
        raise ValueError(f"{text!r} is not an age: use e.g. 30d, 12h, 90m or 45s") from None
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"{text!r} is not an age: it must be zero or more")
    return seconds


def remove_item(item: Item) -> None:
    """Remove one item so that it is either whole or gone: a folder is renamed away first."""
    path = item.path
    if item.kind == "repo":
        # The branch resolutions point into this repository; without it they would
        # name commits that cannot be checked out again.
        refs = path.parent.parent / "refs" / f"{path.name.removesuffix('.git')}.json"
        with contextlib.suppress(FileNotFoundError):
            refs.unlink()
    if path.is_dir() and not path.is_symlink():
        doomed = path.with_name(f".{path.name}.removing-{os.getpid()}-{time.monotonic_ns()}")
        os.rename(path, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

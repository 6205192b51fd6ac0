"""The verified, content-addressed cache under the polyhub home.

Layout::

    <home>/CACHEDIR.TAG
    <home>/blobs/sha256/<ab>/<abcdef...>   verified files, named by their sha256 (read-only)
    <home>/stat/sha256/<ab>/<abcdef...>.json  size and mtime_ns of each blob when published
    <home>/tmp/                            downloads in progress (never a final path)
    <home>/locks/                          file locks (only to avoid double downloads)
    <home>/urls/<key>.json                 first-seen sha256 of URLs that publish none
    <home>/index/<key>.{body,json}         hub indexes (manifests) with their ETag
    <home>/extracted/<key>/                archives extracted safely
    <home>/git/                            bare repos and checkouts by commit
    <home>/views/<scheme>/<path>           human-readable links to blobs
    <home>/names/sha256/<ab>/<abcdef...>/<file name>  a link to the blob under the
                                           asset's own file name (what a load gets)
    <home>/plugins/<name>/                 what a plugin keeps for itself (Context.storage)

A blob appears at its final path only after its sha256 was checked, through
a temporary file in the same filesystem and an atomic rename. Correctness
never depends on the lock (locks lie on NFS and Lustre): two processes that
both download write distinct temporary files and publish the same bytes.

What the cache guarantees about a blob it returns (integrity at rest):

- it had the expected sha256 when it was published, and was then made
  read-only (mode 0444 less the umask);
- its size and ``mtime_ns`` still equal those recorded at publication. Any
  write to the file changes its mtime, so an edit, a truncation or a copy over
  it is caught on the next use; the blob is then re-hashed, and used only if
  the hash still matches, else fetched again (offline: ``HashMismatchError``);
- with ``verify=True`` or ``POLYHUB_VERIFY=1`` it is re-hashed on every use.

A blob is returned under its asset's file name (``model.onnx``, ``net.ckpt``:
some frameworks refuse a file by its suffix) as a link in a folder named by the
blob's sha256: that folder only ever holds names of those bytes, so the link
cannot be re-pointed by another model that uses the same file name, and every
check above applies to the blob it resolves to.

What it does not guarantee without ``verify``: a change that keeps the size
and restores the mtime (``os.utime``, ``touch -d``), or a bit rot below the
filesystem, goes unnoticed until ``polyhub cache verify`` or a verified load.

Leftovers of downloads (temporary files under ``tmp/``) are owned by the
writing process through a lock (:mod:`polyhub._partials`): the next download of
the same file continues the longest unowned one (with ``Range``, when size and
sha256 are known) and removes the others, and ``polyhub cache prune`` never
touches a file whose writer is alive.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from . import _partials as partials
from ._atomic import atomic_write, umask_mode
from ._config import Config, home_source
from ._errors import (
    DownloadError,
    HashMismatchError,
    OfflineError,
    PolyhubWarning,
    UntrustedError,
)
from ._hashing import file_sha256 as file_sha256  # cache.file_sha256: its former home
from ._locations import is_local
from ._paths import UnsafePathError, safe_join, safe_relpath
from ._redact import redact_url

if TYPE_CHECKING:
    from ._downloader import Downloaded

__all__ = ["BlobInfo", "Cache"]

log = logging.getLogger(__name__)

_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by polyhub.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


# A temporary file nobody owns (its writer died) is kept this long for a later
# resume of the same file, then removed by the next download of anything.
STALE_AFTER = 24 * 3600.0

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

# What a first response looks like when it is not the file: a Git LFS pointer
# (the repository stored the file in LFS and the raw URL serves the pointer) or
# an HTML/XML error or login page. Such bytes are never pinned as a first-seen hash.
_NOT_A_FILE = (
    (b"version https://git-lfs", "a Git LFS pointer"),
    (b"<!doctype html", "an HTML page"),
    (b"<html", "an HTML page"),
    (b"<?xml", "an XML document"),
)


# A path segment that is a full git commit id (sha1 or sha256): an index under it
# is immutable, so its cached copy never expires.
_IMMUTABLE = re.compile(r"/(?:[0-9a-f]{40}|[0-9a-f]{64})/", re.IGNORECASE)


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# The names polyhub gives files under tmp/: ``<stem>.<pid>.<8 hex>.tmp`` while
# written, ``<sha256>.part`` when kept for a resume. Prune and the stale-leftover
# sweep touch nothing else.
_SCRATCH_NAME = re.compile(r"[0-9a-f]{64}\.part|[A-Za-z0-9-]+\.[0-9]+\.[0-9a-f]{8}\.tmp")


def is_scratch_name(name: str) -> bool:
    """Whether ``name`` is one polyhub gives a temporary or partial file under ``tmp/``."""
    return _SCRATCH_NAME.fullmatch(name) is not None


def sniff_not_a_file(path: Path) -> str | None:
    """What ``path`` looks like when it is an error response rather than a model file.

    :returns: e.g. ``"a Git LFS pointer"``, or ``None`` when nothing is wrong with it.
    """
    with open(path, "rb") as f:
        head = f.read(512).lstrip().lower()
    for magic, what in _NOT_A_FILE:
        if head.startswith(magic):
            return what
    return None


@dataclass(frozen=True)
class _Problem:
    """Why a cached blob may not be used; ``actual`` is its sha256 when it was re-hashed."""

    why: str
    actual: str | None = None


class BlobTier(Protocol):
    """Another store of blobs by sha256, asked before a hub (see ``polyhub_blob_fetch``)."""

    def get(self, url: str, sha256: str, size: int | None, dest: Path) -> bool: ...

    def stored(self, url: str, sha256: str, size: int, path: Path) -> None: ...


def _mark_used(blob: Path, st: os.stat_result) -> None:
    """Set the access time of ``blob`` to now: its last use for ``cache ls`` and ``prune``.

    A cache hit only stats the file, and ``relatime`` mounts move the access time of a
    read file at most once a day after its download, so ``prune --older-than 12h``
    removed a model used a minute ago. The mtime (the integrity record) is kept to the
    nanosecond; a read-only cache just keeps its old times.
    """
    now = time.time_ns()
    if now - st.st_atime_ns > 60 * 10**9:  # at most one write of the inode a minute
        with contextlib.suppress(OSError):
            os.utime(blob, ns=(now, st.st_mtime_ns))


def _label(url: str, blob: Path) -> str:
    """The file's own name for its progress bar (the blob's is a hash nobody recognises)."""
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(url).path)).name or blob.name[:12]


@dataclass(frozen=True)
class BlobInfo:
    """A cached blob, as ``polyhub cache ls`` shows it."""

    sha256: str
    path: Path
    size: int
    views: tuple[str, ...]


class Cache:
    """The cache of one polyhub home. Cheap to build: creates folders on first write."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.root = config.home
        # Set by the Context from the plugins' blob hooks; None: hubs only.
        self.tier: BlobTier | None = None
        # Hubs (host:port) that failed to answer during this call (a cache lives for
        # one call of the API): their cached indexes are used without asking again,
        # so a listing reading 2,915 cards from a hub that is down costs one failed
        # request and one warning.
        self._down_hubs: set[str] = set()

    # -- layout -------------------------------------------------------------

    def ensure(self) -> None:
        """Create the home and its ``CACHEDIR.TAG``.

        :raises DownloadError: the home cannot be created or written (it names the
            folder and ``POLYHUB_HOME``).
        """
        if not (self.root / "CACHEDIR.TAG").exists():
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                atomic_write(self.root / "CACHEDIR.TAG", _TAG.encode())
            except OSError as exc:
                raise self.write_error(exc, self.root) from exc

    def write_error(self, exc: OSError, path: Path, url: str | None = None) -> DownloadError:
        """The :class:`DownloadError` for an ``OSError`` while writing ``path`` in the cache."""
        if exc.errno in _DISK_FULL:
            return DownloadError(
                f"cannot write {path}: {exc.strerror or exc} (the disk or quota is full); "
                "the partial file was deleted. Free some space, or set POLYHUB_HOME to a "
                "folder on a larger disk",
                url=url,
            )
        # Name what chose this folder (the variable to change), not always POLYHUB_HOME.
        where = f"the polyhub cache {self.root} ({home_source()})"
        return DownloadError(
            f"{where} is not writable: cannot write {exc.filename or path}: "
            f"{exc.strerror or exc}. Set POLYHUB_HOME to a writable folder",
            url=url,
        )

    def read_error(self, exc: OSError, path: Path) -> DownloadError:
        """The :class:`DownloadError` for an ``OSError`` while reading ``path`` in the cache."""
        return DownloadError(
            f"cannot read {exc.filename or path} in the polyhub cache {self.root}: "
            f"{exc.strerror or exc}. Remove it (polyhub cache rm), or set POLYHUB_HOME "
            "to another folder"
        )

    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / "sha256" / sha256[:2] / sha256

    def _names_dir(self, sha256: str) -> Path:
        return self.root / "names" / "sha256" / sha256[:2] / sha256

    def named(self, blob: Path, sha256: str, name: str | None) -> Path:
        """``blob`` under the file name ``name`` (its last segment): a link in a folder of its sha256.

        Returns ``blob`` itself when ``name`` is empty or not a plain file name
        (``..``, a NUL, a backslash: nothing from metadata may name a path), or when
        the link cannot be made (a read-only cache without it).
        """
        base = PurePosixPath(name or "").name
        try:
            safe_relpath(base)
        except UnsafePathError:
            return blob
        if base == blob.name or len(base.encode()) > 255:
            return blob
        folder = self._names_dir(sha256)
        link = folder / base
        target = os.path.relpath(blob, folder)
        tmp = folder / f".{os.getpid()}.{os.urandom(4).hex()}.lnk"
        try:
            if link.is_symlink() and os.readlink(link) == target:
                return link
            folder.mkdir(parents=True, exist_ok=True)
            os.symlink(target, tmp)
            os.replace(tmp, link)  # atomic: a reader sees no link or the right one
        except OSError as exc:  # a read-only cache, a filesystem without links
            log.debug("could not name %s %s: %s", blob, base, exc)
            with contextlib.suppress(OSError):
                tmp.unlink()
            return blob
        return link

    def unnamed(self, path: Path) -> Path:
        """The blob a path of :meth:`named` links to; any other path as it is."""
        names = self.root / "names" / "sha256"
        if path.is_symlink() and path.parent.parent.parent == names:
            return self.blob_path(path.parent.name)
        return path

    def _stat_path(self, sha256: str) -> Path:
        return self.root / "stat" / "sha256" / sha256[:2] / f"{sha256}.json"

    def extract_dir(self, key: str) -> Path:
        return self.root / "extracted" / _key(key)

    @contextlib.contextmanager
    def lock(self, key: str, *, what: str = "") -> Iterator[None]:
        """Hold the download lock for ``key``; waits are bounded and logged.

        ``what`` (a URL) names the download in the message a wait logs.
        """
        # filelock imports asyncio (~30 ms): only a download takes a lock.
        import filelock

        self.ensure()
        locks = self.root / "locks"
        path = locks / f"{key}.lock"
        try:
            locks.mkdir(parents=True, exist_ok=True)
            lock = filelock.FileLock(str(path), mode=umask_mode(0o666))
        except OSError as exc:
            raise self.write_error(exc, path) from exc
        deadline = time.monotonic() + self.config.lock_timeout
        waited = False
        while True:
            try:
                # A first short try, so a wait is announced at once, not after 10 s of silence.
                timeout = 0.2 if not waited else min(10.0, deadline - time.monotonic())
                lock.acquire(timeout=max(0.1, timeout))
                break
            except filelock.Timeout:
                if time.monotonic() >= deadline:
                    raise DownloadError(
                        f"gave up waiting {self.config.lock_timeout:.0f}s for the lock {path}; "
                        "another process is downloading the same file (POLYHUB_LOCK_TIMEOUT)"
                    ) from None
                log.info(
                    "%s for another process to finish downloading %s (lock %s)",
                    "still waiting" if waited else "waiting",
                    what or key,
                    path,
                )
                waited = True
            except OSError as exc:
                raise self.write_error(exc, path) from exc
        try:
            yield
        finally:
            lock.release()

    # -- blobs --------------------------------------------------------------

    def _problem(self, blob: Path, sha256: str, size: int | None) -> _Problem | None:
        """Why the cached ``blob`` may not be used (``None``: it may).

        Cheap when the blob is as published (one ``stat``); re-hashes it when its
        size or mtime changed since, when no record exists, or with ``verify``.
        A blob that fails its hash is deleted, so it is never used again.
        """
        try:
            st = blob.stat()
        except FileNotFoundError:
            return _Problem("missing")
        except OSError as exc:  # a symlink loop, a file where a folder belongs...
            raise self.read_error(exc, blob) from exc
        if size is not None and st.st_size != size:
            log.warning(
                "cached %s has %d bytes, expected %d: fetching again", blob, st.st_size, size
            )
            return _Problem(f"it has {st.st_size} bytes instead of {size}")
        record = self._read_stat(sha256)
        as_published = record == {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        if as_published and not self.config.verify:
            _mark_used(blob, st)
            return None
        try:
            actual = file_sha256(blob)
        except OSError as exc:  # a folder or an unreadable file in the blob's place
            raise self.read_error(exc, blob) from exc
        if actual != sha256:
            log.warning(
                "cached %s was altered after download (its sha256 is now %s): fetching again",
                blob,
                actual,
            )
            with contextlib.suppress(OSError):
                blob.unlink()
            return _Problem("it was altered after download", actual)
        if not as_published:
            self._record_stat(sha256, blob)  # touched, or cached by an older polyhub
        _mark_used(blob, st)
        return None

    def _read_stat(self, sha256: str) -> dict[str, int] | None:
        try:
            data = json.loads(self._stat_path(sha256).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _record_stat(self, sha256: str, blob: Path) -> None:
        try:
            st = blob.stat()
            atomic_write(
                self._stat_path(sha256),
                json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns}).encode(),
            )
        except OSError as exc:  # a read-only cache: the blob is re-hashed on each use instead
            log.debug("could not record the state of %s: %s", blob, exc)

    def _offline_error(self, what: str) -> OfflineError:
        return OfflineError(
            f"offline mode is on (POLYHUB_OFFLINE or offline=True) and {what} is not in the cache "
            f"at {self.root}; run once online to fill the cache"
        )

    def _unusable_offline(self, url: str, sha256: str, blob: Path, problem: _Problem) -> Exception:
        """The error for a blob that cannot be used offline: missing, or damaged."""
        if problem.why in ("missing", "force_reload"):
            return self._offline_error(f"{url} (sha256 {sha256})")
        what = (
            f"the cached {blob} ({problem.why}; offline, so it cannot be fetched again; "
            "it was not used)"
        )
        if problem.actual is not None:
            return HashMismatchError(url=url, expected=sha256, actual=problem.actual, what=what)
        return OfflineError(f"offline mode is on and {what}; run once online to fetch it again")

    def fetch(
        self,
        url: str,
        *,
        sha256: str | None,
        size: int | None = None,
        view: str | None = None,
        original_url: str | None = None,
        accept: Callable[[Path], str | None] | None = None,
        name: str | None = None,
        sha256_prefix: str | None = None,
    ) -> Path:
        """Return the cached, verified path of ``url``, downloading it if needed.

        :param name: the file name the path returned has (see :meth:`named`); ``None``:
            the blob itself, named by its sha256.
        :param sha256_prefix: for a URL without ``sha256``: the first hex digits its
            sha256 must have (lower case); the hash computed while streaming is
            checked before anything is published or recorded.
        :param accept: for a URL without ``sha256``: called on the downloaded file
            before its first-seen sha256 is recorded; returns why the file is not
            what was asked for (e.g. the format hooks do not recognise it), or
            ``None``. A rejected file is neither published nor pinned.
        :raises HashMismatchError: the bytes (or, offline, the cached copy) fail the hash.
        :raises DownloadError: the network failed, or the cache cannot be written
            (not writable, disk full: the message names the file and ``POLYHUB_HOME``).
        :raises OfflineError: offline and not usable from the cache.
        """
        original_url = original_url or url
        if sha256 is None:
            blob = self._fetch_unhashed(
                url,
                size=size,
                view=view,
                original_url=original_url,
                accept=accept,
                name=name,
                prefix=sha256_prefix.lower() if sha256_prefix else None,
            )
            return self.named(blob, blob.name, name)
        sha256 = sha256.lower()
        blob = self.blob_path(sha256)
        problem = (
            _Problem("force_reload")
            if self.config.force_reload
            else self._problem(blob, sha256, size)
        )
        if problem is None:
            self._link_view(view, blob)
            return self.named(blob, sha256, name)
        if self.config.offline and not is_local(url):
            raise self._unusable_offline(original_url, sha256, blob, problem)
        with self.lock(sha256, what=original_url):
            if not self.config.force_reload and self._problem(blob, sha256, size) is None:
                self._link_view(view, blob)
                return self.named(blob, sha256, name)
            if not self._from_tier(url, blob, sha256=sha256, size=size):
                self._download_verified(
                    url, blob, sha256=sha256, size=size, original_url=original_url
                )
                if self.tier is not None:
                    self.tier.stored(url, sha256, blob.stat().st_size, blob)
        self._link_view(view, blob)
        return self.named(blob, sha256, name)

    def _stream(
        self, url: str, mine: Path, *, size: int | None, resumable: bool, name: str
    ) -> Downloaded:
        """:func:`stream_to_file`, with the cache's own write failures made typed errors."""
        import requests  # ~60 ms: only when something must be downloaded

        from ._downloader import stream_to_file

        try:
            return stream_to_file(url, mine, self.config, size=size, resumable=resumable, name=name)
        except DownloadError:
            raise
        except requests.RequestException as exc:  # an OSError too, but not the disk's
            raise DownloadError(f"GET {url} failed: {exc}", url=url) from exc
        except OSError as exc:
            if exc.filename is not None and os.fspath(exc.filename) != os.fspath(mine):
                # Reading a local source (file:// or a path) failed, not the cache.
                raise DownloadError(
                    f"cannot read {exc.filename}: {exc.strerror or exc}", url=url
                ) from exc
            # A write failed (disk full, quota, file size limit, read-only): the bytes
            # so far are worthless on a full disk and must not keep it full.
            with contextlib.suppress(OSError):
                mine.unlink()
            raise self.write_error(exc, mine, url) from exc

    def _from_tier(self, url: str, blob: Path, *, sha256: str, size: int | None) -> bool:
        """Try the blob tier; True when ``blob`` was published from it, verified."""
        if self.tier is None:
            return False
        can_fall_back = url.startswith(("http://", "https://")) or is_local(url)
        # A stem of its own: trying the tier must not take over (and so delete) a
        # resumable partial of the hub's download of the same blob.
        with self._scratch(f"{sha256}-tier", resume=False) as mine:
            try:
                if not self.tier.get(url, sha256, size, mine):
                    return False
                actual = file_sha256(mine)
                if actual == sha256 and (size is None or mine.stat().st_size == size):
                    self._publish(mine, blob, sha256, url)
                    return True
                if not can_fall_back:
                    raise HashMismatchError(url=url, expected=sha256, actual=actual)
                log.warning(
                    "the blob tier gave wrong bytes for %s (sha256 %s): using %s",
                    sha256,
                    actual,
                    url,
                )
            except DownloadError as exc:
                if not can_fall_back or isinstance(exc, HashMismatchError):
                    raise
                log.warning("the blob tier failed for %s: %s; using %s", sha256, exc, url)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    mine.unlink()
        return False

    def _download_verified(
        self, url: str, blob: Path, *, sha256: str, size: int | None, original_url: str
    ) -> None:
        resumable = size is not None
        for fresh_start in (False, True):
            with self._scratch(sha256, resume=resumable and not fresh_start) as mine:
                try:
                    got = self._stream(
                        url, mine, size=size, resumable=resumable, name=_label(original_url, blob)
                    )
                except BaseException:
                    self._keep_partial(mine, sha256, resumable)
                    raise
                if got.sha256 == sha256 and (size is None or got.size == size):
                    self._publish(mine, blob, sha256, url)
                    return
                with contextlib.suppress(FileNotFoundError):
                    mine.unlink()
            if got.resumed and not fresh_start:
                log.warning("resumed download of %s failed its hash; starting over", original_url)
                continue
            raise HashMismatchError(url=original_url, expected=sha256, actual=got.sha256)

    def _keep_partial(self, mine: Path, sha256: str, resumable: bool) -> None:
        """After a failed download: keep resumable bytes as ``<sha256>.part``, else delete."""
        try:
            if resumable and mine.stat().st_size > 0:
                os.replace(mine, mine.parent / f"{sha256}.part")
                return
        except OSError:
            pass
        with contextlib.suppress(OSError):
            mine.unlink()

    @contextlib.contextmanager
    def _scratch(self, stem: str, *, resume: bool) -> Iterator[Path]:
        """A temporary file of this process under ``tmp/``, owned (locked) while in use.

        Leftovers of ``stem`` whose writer died (SIGKILL, SIGTERM, a crash) are
        taken over: with ``resume`` the longest is continued, the others are
        deleted. Unowned leftovers of other files older than :data:`STALE_AFTER`
        are deleted too.
        """
        tmpdir = self.root / "tmp"
        mine = tmpdir / f"{stem}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        try:
            tmpdir.mkdir(parents=True, exist_ok=True)
            fd = self._adopt_leftovers(tmpdir, stem, mine, resume=resume)
            if fd is None:
                fd = partials.create_owned(mine)
        except OSError as exc:
            raise self.write_error(exc, mine) from exc
        try:
            yield mine
        finally:
            partials.release(fd)

    def _adopt_leftovers(self, tmpdir: Path, stem: str, mine: Path, *, resume: bool) -> int | None:
        best: tuple[int, Path, int] | None = None
        now = time.time()
        removed = 0
        for path in tmpdir.iterdir():
            if not is_scratch_name(path.name):
                continue  # someone else's file (tmp/ may be a link to a shared folder)
            ours = path.name.startswith(stem + ".")
            if not ours:
                try:
                    if now - path.stat().st_mtime < STALE_AFTER:
                        continue
                except OSError:
                    continue
            fd = partials.try_own(path)
            if fd is None:
                continue  # a live download, or gone meanwhile
            length = os.fstat(fd).st_size
            if ours and resume and length and (best is None or length > best[0]):
                if best is not None:
                    removed += self._remove_owned(best[1], best[2])
                best = (length, path, fd)
            else:
                removed += self._remove_owned(path, fd)
        if removed:
            log.info("removed %d stale partial download(s) under %s", removed, tmpdir)
        if best is None:
            return None
        length, path, fd = best
        try:
            os.rename(path, mine)
        except OSError:
            partials.release(fd)
            return None
        log.info("continuing a partial download of %d bytes left in %s", length, path)
        return fd

    @staticmethod
    def _remove_owned(path: Path, fd: int) -> int:
        try:
            path.unlink()
            return 1
        except OSError:
            return 0
        finally:
            partials.release(fd)

    def _publish(self, tmp: Path, blob: Path, sha256: str, url: str) -> None:
        """Move the verified ``tmp`` to ``blob``, read-only, and record its size and mtime."""
        try:
            blob.parent.mkdir(parents=True, exist_ok=True)
            # Read-only: an accidental write is refused, and a deliberate one changes
            # the mtime the next use compares against.
            os.chmod(tmp, umask_mode(0o444))
            os.replace(tmp, blob)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise self.write_error(exc, blob, url) from exc
        self._record_stat(sha256, blob)

    def _fetch_unhashed(
        self,
        url: str,
        *,
        size: int | None,
        view: str | None,
        original_url: str,
        accept: Callable[[Path], str | None] | None,
        name: str | None = None,
        prefix: str | None = None,
    ) -> Path:
        """Trust on first use: record the sha256 of a URL that publishes none, enforce it later.

        The first-seen sha256 is recorded only for a file that passes ``accept`` (the
        format hooks) and does not look like an error response (a Git LFS pointer,
        an HTML page). :meth:`forget` drops a record (``polyhub cache forget``).

        With a ``prefix`` (what the hub publishes of the sha256), the downloaded
        bytes must hash to it before anything is published or recorded, and a
        record that contradicts it (the hub's file changed) is replaced.
        """
        if self.config.require_hashes:
            raise UntrustedError(
                f"{original_url} has no published sha256 and POLYHUB_REQUIRE_HASHES is on; "
                "add '#sha256=<hex>' to the URL or a hash to the hub's metadata"
            )
        record_path = self.first_seen_path(original_url)
        record = self._read_record(record_path)
        if record and prefix and not record["sha256"].startswith(prefix):
            if self.config.offline and not is_local(url):
                raise HashMismatchError(
                    url=original_url,
                    expected=f"{prefix}…",
                    actual=record["sha256"],
                    what=f"{name or original_url} (the cached copy; offline, so it cannot "
                    "be fetched again)",
                )
            record = None  # the hub published another file since: learn it again
        if record and not self.config.force_reload:
            blob = self.blob_path(record["sha256"])
            problem = self._problem(blob, record["sha256"], record.get("size"))
            if problem is None:
                self._link_view(view, blob)
                return blob
            if self.config.offline and not is_local(url) and problem.why != "missing":
                raise self._unusable_offline(original_url, record["sha256"], blob, problem)
        if self.config.offline and not is_local(url):
            raise self._offline_error(original_url)
        with (
            self.lock(_key(original_url), what=original_url),
            self._scratch(f"url-{_key(original_url)}", resume=False) as mine,
        ):
            try:
                got: Downloaded = self._stream(
                    url, mine, size=size, resumable=False, name=Path(url).name
                )
                if prefix and not got.sha256.startswith(prefix):
                    raise HashMismatchError(
                        url=original_url,
                        expected=f"{prefix}…",
                        actual=got.sha256,
                        what=f"{name or Path(url).name} ({original_url})",
                    )
                if record and record["sha256"] != got.sha256:
                    raise HashMismatchError(
                        url=original_url,
                        expected=record["sha256"],
                        actual=got.sha256,
                        what=f"{original_url} (first seen with sha256 {record['sha256']}; "
                        "the bytes changed; 'polyhub cache forget URL' drops the record)",
                    )
                if not record:
                    why = sniff_not_a_file(mine) or (accept(mine) if accept else None)
                    if why:
                        raise DownloadError(
                            f"GET {original_url} returned {why}, not the model file; "
                            "its sha256 was not recorded and nothing was cached",
                            url=original_url,
                        )
                blob = self.blob_path(got.sha256)
                if self._problem(blob, got.sha256, got.size) is None:
                    mine.unlink()
                else:
                    self._publish(mine, blob, got.sha256, url)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    mine.unlink()
                raise
            if not record:
                log.warning(
                    "%s publishes no sha256; recorded %s for later downloads",
                    original_url,
                    got.sha256,
                )
                try:
                    atomic_write(
                        record_path,
                        json.dumps(
                            {
                                "url": redact_url(original_url),
                                "sha256": got.sha256,
                                "size": got.size,
                            }
                        ).encode(),
                    )
                except OSError as exc:
                    raise self.write_error(exc, record_path, original_url) from exc
        self._link_view(view, blob)
        return blob

    def first_seen_path(self, url: str) -> Path:
        """Where the first-seen sha256 of ``url`` (as the hub names it) is recorded."""
        return self.root / "urls" / f"{_key(url)}.json"

    def forget(self, url: str) -> str | None:
        """Drop the first-seen sha256 recorded for ``url``; the next download learns it again.

        :returns: the sha256 that was recorded, or ``None`` when there was none.
        """
        path = self.first_seen_path(url)
        record = self._read_record(path)
        try:
            path.unlink()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self.write_error(exc, path, url) from exc
        return record["sha256"] if record else ""

    def _read_record(self, path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("sha256"), str) else None

    def _link_view(self, view: str | None, blob: Path) -> None:
        if not view:
            return
        try:
            link = safe_join(self.root / "views", view)
        except UnsafePathError:
            return  # the view is a convenience; a hostile name just gets none
        try:
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() and Path(os.readlink(link)) == Path(
                os.path.relpath(blob, link.parent)
            ):
                return
            tmp = link.parent / f".{link.name}.{os.getpid()}.lnk"
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            os.symlink(os.path.relpath(blob, link.parent), tmp)
            os.replace(tmp, link)
        except OSError as exc:  # read-only cache, odd filesystems: not worth failing a load
            log.debug("could not link view %s: %s", view, exc)

    # -- indexes ------------------------------------------------------------

    def fetch_index(self, url: str, *, original_url: str | None = None) -> bytes:
        """Fetch a small index document (a manifest, a card), cached and usable offline.

        A cached copy younger than ``POLYHUB_INDEX_TTL`` seconds (default a day;
        for good when the URL names a commit) is used without any request;
        ``force_reload`` asks the hub at once. An older copy is revalidated with
        its ETag. When the hub cannot be asked (refused, unknown host, a 5xx),
        the cached copy is used at once, without retries, with one
        :class:`~polyhub.PolyhubWarning`, and that hub is not asked again by
        this cache object (one call of the API).
        """
        original_url = original_url or url
        if is_local(url):
            from ._downloader import fetch_bytes

            return fetch_bytes(url, self.config)[1]
        base = self.root / "index" / _key(original_url)
        body_path, meta_path = base.with_suffix(".body"), base.with_suffix(".json")
        try:
            cached: bytes | None = body_path.read_bytes()
        except FileNotFoundError:
            cached = None
        except OSError as exc:
            log.debug("cannot read the cached index %s: %s", body_path, exc)
            cached = None
        meta = self._read_meta(meta_path) if cached is not None else {}
        if self.config.offline:
            if cached is None:
                raise self._offline_error(f"the index {original_url}")
            return cached
        host = urlsplit(url).netloc
        if (
            cached is not None
            and not self.config.force_reload
            and (self._index_fresh(meta, original_url) or host in self._down_hubs)
        ):
            return cached
        headers = (
            {"If-None-Match": meta["etag"]}
            if meta.get("etag") and not self.config.force_reload
            else {}
        )
        # With a copy in hand, a failing hub costs one request, not a minute of backoff.
        config = self.config if cached is None else self.config.with_(retries=0)
        from ._downloader import fetch_bytes  # the HTTP stack: only when the hub is asked

        try:
            status, body, resp_headers = fetch_bytes(url, config, headers=headers)
        except DownloadError as exc:
            if cached is not None and exc.status in (None, 408, 429, 500, 502, 503, 504):
                self._down_hubs.add(host)
                warnings.warn(
                    f"{exc}; using the cached indexes of {host} as they are "
                    f"(this one: {redact_url(original_url)})",
                    PolyhubWarning,
                    stacklevel=3,
                )
                return cached
            raise
        if status == 304 and cached is not None:
            self._write_index_meta(meta_path, original_url, meta.get("etag"))
            return cached
        try:
            atomic_write(body_path, body)
            self._write_index_meta(meta_path, original_url, resp_headers.get("ETag"), strict=True)
        except OSError as exc:
            if cached is None:
                log.info("cannot cache the index %s: %s", original_url, exc)
                return body
            # A read-only cache: the cached index still matches the cached files.
            warnings.warn(
                f"cannot refresh the cached index of {original_url} ({self.write_error(exc, body_path)}); "
                "using the cached copy",
                PolyhubWarning,
                stacklevel=2,
            )
            return cached
        return body

    def _index_fresh(self, meta: dict[str, Any], url: str) -> bool:
        if _IMMUTABLE.search(urlsplit(url).path):
            return True  # a commit's files never change
        fetched = meta.get("fetched")
        if not isinstance(fetched, (int, float)):
            return False
        age = time.time() - fetched
        return 0 <= age < self.config.index_ttl

    @staticmethod
    def _write_index_meta(path: Path, url: str, etag: Any, *, strict: bool = False) -> None:
        record = {"url": redact_url(url), "etag": etag, "fetched": time.time()}
        try:
            atomic_write(path, json.dumps(record).encode())
        except OSError as exc:
            if strict:
                raise
            # Read-only cache: the copy is still right (the hub said 304); it is just
            # revalidated again next time.
            log.debug("cannot record the revalidation of %s: %s", url, exc)

    def _read_meta(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    # -- management (polyhub cache ...) -------------------------------------

    def blobs(self) -> list[BlobInfo]:
        views: dict[str, list[str]] = {}
        view_root = self.root / "views"
        if view_root.exists():
            for link in view_root.rglob("*"):
                if link.is_symlink():
                    views.setdefault(Path(os.readlink(link)).name, []).append(
                        str(link.relative_to(view_root))
                    )
        result = []
        blob_root = self.root / "blobs" / "sha256"
        if blob_root.exists():
            for path in sorted(blob_root.glob("*/*")):
                try:
                    size = path.stat().st_size
                except OSError as exc:
                    raise self.read_error(exc, path) from exc
                result.append(
                    BlobInfo(path.name, path, size, tuple(sorted(views.get(path.name, ()))))
                )
        return result

    def verify(self) -> list[tuple[BlobInfo, str]]:
        """Re-hash every blob; returns the (blob, actual sha256) pairs that do not match."""
        bad = []
        for b in self.blobs():
            try:
                actual = file_sha256(b.path)
            except OSError as exc:
                raise self.read_error(exc, b.path) from exc
            if actual != b.sha256:
                bad.append((b, actual))
        return bad

    def remove(self, sha256_prefix: str) -> list[Path]:
        """Delete the blobs whose sha256 starts with ``sha256_prefix``.

        First-seen hashes recorded for URLs are kept (they guard against the bytes
        changing); :meth:`forget` drops those.
        """
        removed = []
        try:
            for blob in self.blobs():
                if blob.sha256.startswith(sha256_prefix.lower()):
                    blob.path.unlink()
                    with contextlib.suppress(FileNotFoundError):
                        self._stat_path(blob.sha256).unlink()
                    shutil.rmtree(self._names_dir(blob.sha256), ignore_errors=True)
                    removed.append(blob.path)
            self._drop_dangling_views()
        except OSError as exc:
            raise self.write_error(exc, self.root / "blobs") from exc
        return removed

    def prune(self, *, older_than: float = 3600.0, dry_run: bool = False) -> list[Path]:
        """Remove temporary and partial files older than ``older_than`` seconds, and dangling views.

        A file whose writer is alive (a running download in any process holds its
        lock, see :mod:`polyhub._partials`) is never removed, whatever its age.
        """
        found = []
        tmp = self.root / "tmp"
        now = time.time()
        try:
            entries = list(tmp.iterdir()) if tmp.exists() else []
            for path in entries:
                if not is_scratch_name(path.name):
                    continue  # not a name polyhub writes: tmp/ may be a link to a shared folder
                try:
                    if now - path.stat().st_mtime < older_than:
                        continue
                except FileNotFoundError:
                    continue
                fd = partials.try_own(path)
                if fd is None:
                    log.info("kept %s: a running download writes it", path)
                    continue
                try:
                    if not dry_run:
                        path.unlink()
                    found.append(path)
                finally:
                    partials.release(fd)
            if not dry_run:
                self._drop_dangling_views()
                # Checkouts half-written by a killed process (never one being written:
                # a day old at least, as for the sweep at each checkout).
                from ._git import STALE_CHECKOUT, sweep_stale_checkouts

                found += sweep_stale_checkouts(
                    self.root / "git" / "checkouts", max(older_than, STALE_CHECKOUT)
                )
        except OSError as exc:
            raise self.write_error(exc, tmp) from exc
        return found

    def _drop_dangling_views(self) -> None:
        """Remove views and names whose blob is gone (and the emptied folders of names)."""
        for top in ("views", "names"):
            root = self.root / top
            if root.exists():
                for link in root.rglob("*"):
                    if link.is_symlink() and not link.exists():
                        link.unlink()
        names = self.root / "names" / "sha256"
        for folder in names.glob("*/*") if names.exists() else ():
            # A link being made by a process killed before it renamed it (named()).
            for left in folder.glob(".*.lnk"):
                with contextlib.suppress(OSError):
                    left.unlink()
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty

"""The verified, content-addressed cache under the polyhub home.

Layout::

    <home>/CACHEDIR.TAG
    <home>/blobs/sha256/<ab>/<abcdef...>   verified files, named by their sha256
    <home>/tmp/                            downloads in progress (never a final path)
    <home>/locks/                          file locks (only to avoid double downloads)
    <home>/urls/<key>.json                 first-seen sha256 of URLs that publish none
    <home>/index/<key>.{body,json}         hub indexes (manifests) with their ETag
    <home>/extracted/<key>/                archives extracted safely
    <home>/git/                            bare repos and checkouts by commit
    <home>/views/<scheme>/<path>           human-readable links to blobs

A blob appears at its final path only after its sha256 was checked, through
a temporary file in the same filesystem and an atomic rename. Correctness
never depends on the lock (locks lie on NFS and Lustre): two processes that
both download write distinct temporary files and publish the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock

from .atomic import atomic_write, umask_mode
from .config import Config
from .downloader import Downloaded, fetch_bytes, is_local, stream_to_file
from .errors import DownloadError, HashMismatchError, OfflineError, UntrustedError
from .paths import UnsafePathError, safe_join

__all__ = ["BlobInfo", "Cache"]

log = logging.getLogger(__name__)

_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by polyhub.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


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

    # -- layout -------------------------------------------------------------

    def ensure(self) -> None:
        if not (self.root / "CACHEDIR.TAG").exists():
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write(self.root / "CACHEDIR.TAG", _TAG.encode())

    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / "sha256" / sha256[:2] / sha256

    def extract_dir(self, key: str) -> Path:
        return self.root / "extracted" / _key(key)

    @contextlib.contextmanager
    def lock(self, key: str, *, what: str = "") -> Iterator[None]:
        """Hold the download lock for ``key``; waits are bounded and logged.

        ``what`` (a URL) names the download in the message a wait logs.
        """
        self.ensure()
        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        path = locks / f"{key}.lock"
        lock = filelock.FileLock(str(path), mode=umask_mode(0o666))
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
        try:
            yield
        finally:
            lock.release()

    # -- blobs --------------------------------------------------------------

    def _usable(self, blob: Path, sha256: str, size: int | None) -> bool:
        try:
            st = blob.stat()
        except FileNotFoundError:
            return False
        if size is not None and st.st_size != size:
            log.warning(
                "cached %s has %d bytes, expected %d: fetching again", blob, st.st_size, size
            )
            return False
        if self.config.verify and file_sha256(blob) != sha256:
            log.warning("cached %s does not match its sha256: fetching again", blob)
            return False
        return True

    def _offline_error(self, what: str) -> OfflineError:
        return OfflineError(
            f"offline mode is on (POLYHUB_OFFLINE or offline=True) and {what} is not in the cache "
            f"at {self.root}; run once online to fill the cache"
        )

    def fetch(
        self,
        url: str,
        *,
        sha256: str | None,
        size: int | None = None,
        view: str | None = None,
        original_url: str | None = None,
    ) -> Path:
        """Return the cached, verified path of ``url``, downloading it if needed."""
        original_url = original_url or url
        if sha256 is None:
            return self._fetch_unhashed(url, size=size, view=view, original_url=original_url)
        sha256 = sha256.lower()
        blob = self.blob_path(sha256)
        if not self.config.force_reload and self._usable(blob, sha256, size):
            self._link_view(view, blob)
            return blob
        if self.config.offline and not is_local(url):
            raise self._offline_error(f"{original_url} (sha256 {sha256})")
        with self.lock(sha256, what=original_url):
            if not self.config.force_reload and self._usable(blob, sha256, size):
                self._link_view(view, blob)
                return blob
            self._download_verified(url, blob, sha256=sha256, size=size, original_url=original_url)
        self._link_view(view, blob)
        return blob

    def _download_verified(
        self, url: str, blob: Path, *, sha256: str, size: int | None, original_url: str
    ) -> None:
        mine = self._scratch(sha256)
        resumable = size is not None
        partial = mine.parent / f"{sha256}.part"
        for fresh_start in (False, True):
            if resumable and not fresh_start:
                # Claim a partial left by an earlier run; the rename is atomic, so of
                # two processes only one continues it and the other starts afresh.
                with contextlib.suppress(FileNotFoundError):
                    os.rename(partial, mine)
            try:
                got = stream_to_file(
                    url,
                    mine,
                    self.config,
                    size=size,
                    resumable=resumable,
                    name=_label(original_url, blob),
                )
            except BaseException:
                if resumable and mine.exists() and mine.stat().st_size > 0:
                    os.replace(mine, partial)  # keep the bytes for a later resume
                else:
                    with contextlib.suppress(FileNotFoundError):
                        mine.unlink()
                raise
            if got.sha256 == sha256 and (size is None or got.size == size):
                self._publish(mine, blob)
                return
            with contextlib.suppress(FileNotFoundError):
                mine.unlink()
            if got.resumed and not fresh_start:
                log.warning("resumed download of %s failed its hash; starting over", original_url)
                continue
            raise HashMismatchError(url=original_url, expected=sha256, actual=got.sha256)

    def _scratch(self, stem: str) -> Path:
        """A temporary file name of this process under ``tmp/``, on the cache's filesystem."""
        tmpdir = self.root / "tmp"
        tmpdir.mkdir(parents=True, exist_ok=True)
        return tmpdir / f"{stem}.{os.getpid()}.{os.urandom(4).hex()}.tmp"

    def _publish(self, tmp: Path, blob: Path) -> None:
        blob.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp makes 0600 files; a shared cache needs the umask's read bits.
        os.chmod(tmp, umask_mode(0o644))
        os.replace(tmp, blob)

    def _fetch_unhashed(
        self, url: str, *, size: int | None, view: str | None, original_url: str
    ) -> Path:
        """Trust on first use: record the sha256 of a URL that publishes none, enforce it later."""
        if self.config.require_hashes:
            raise UntrustedError(
                f"{original_url} has no published sha256 and POLYHUB_REQUIRE_HASHES is on; "
                "add '#sha256=<hex>' to the URL or a hash to the hub's metadata"
            )
        record_path = self.root / "urls" / f"{_key(original_url)}.json"
        record = self._read_record(record_path)
        if record and not self.config.force_reload:
            blob = self.blob_path(record["sha256"])
            if self._usable(blob, record["sha256"], record.get("size")):
                self._link_view(view, blob)
                return blob
        if self.config.offline and not is_local(url):
            raise self._offline_error(original_url)
        with self.lock(_key(original_url), what=original_url):
            mine = self._scratch(f"url-{_key(original_url)}")
            try:
                got: Downloaded = stream_to_file(
                    url, mine, self.config, size=size, name=Path(url).name
                )
                if record and record["sha256"] != got.sha256:
                    raise HashMismatchError(
                        url=original_url,
                        expected=record["sha256"],
                        actual=got.sha256,
                        what=f"{original_url} (first seen with sha256 {record['sha256']}; the bytes changed)",
                    )
                blob = self.blob_path(got.sha256)
                if blob.exists():
                    mine.unlink()
                else:
                    self._publish(mine, blob)
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
                atomic_write(
                    record_path,
                    json.dumps(
                        {"url": original_url, "sha256": got.sha256, "size": got.size}
                    ).encode(),
                )
        self._link_view(view, blob)
        return blob

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
        """Fetch a small index document, revalidated with its ETag, usable offline."""
        original_url = original_url or url
        if is_local(url):
            return fetch_bytes(url, self.config)[1]
        base = self.root / "index" / _key(original_url)
        body_path, meta_path = base.with_suffix(".body"), base.with_suffix(".json")
        cached = body_path.read_bytes() if body_path.exists() else None
        meta = self._read_meta(meta_path) if cached is not None else {}
        if self.config.offline:
            if cached is None:
                raise self._offline_error(f"the index {original_url}")
            return cached
        headers = (
            {"If-None-Match": meta["etag"]}
            if meta.get("etag") and not self.config.force_reload
            else {}
        )
        try:
            status, body, resp_headers = fetch_bytes(url, self.config, headers=headers)
        except DownloadError as exc:
            if cached is not None and exc.status in (None, 408, 429, 500, 502, 503, 504):
                log.warning("using the cached copy of %s: %s", original_url, exc)
                return cached
            raise
        if status == 304 and cached is not None:
            return cached
        atomic_write(body_path, body)
        atomic_write(
            meta_path,
            json.dumps(
                {"url": original_url, "etag": resp_headers.get("ETag"), "fetched": time.time()}
            ).encode(),
        )
        return body

    def _read_meta(self, path: Path) -> dict[str, str]:
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
                result.append(
                    BlobInfo(
                        path.name,
                        path,
                        path.stat().st_size,
                        tuple(sorted(views.get(path.name, ()))),
                    )
                )
        return result

    def verify(self) -> list[tuple[BlobInfo, str]]:
        """Re-hash every blob; returns the (blob, actual sha256) pairs that do not match."""
        return [(b, actual) for b in self.blobs() if (actual := file_sha256(b.path)) != b.sha256]

    def remove(self, sha256_prefix: str) -> list[Path]:
        removed = []
        for blob in self.blobs():
            if blob.sha256.startswith(sha256_prefix.lower()):
                blob.path.unlink()
                removed.append(blob.path)
        self._drop_dangling_views()
        return removed

    def prune(self, *, older_than: float = 3600.0, dry_run: bool = False) -> list[Path]:
        """Remove temporary and partial files older than ``older_than`` seconds, and dangling views."""
        found = []
        tmp = self.root / "tmp"
        now = time.time()
        if tmp.exists():
            for path in tmp.iterdir():
                if now - path.stat().st_mtime >= older_than:
                    found.append(path)
                    if not dry_run:
                        path.unlink()
        if not dry_run:
            self._drop_dangling_views()
        return found

    def _drop_dangling_views(self) -> None:
        view_root = self.root / "views"
        if view_root.exists():
            for link in view_root.rglob("*"):
                if link.is_symlink() and not link.exists():
                    link.unlink()

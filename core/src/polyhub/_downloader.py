"""HTTP(S) and file downloads: retries, resume, hashing while streaming.

The rules (research/reliability-security.md §0): retry only 408/429/5xx and
connection errors, with capped exponential backoff and ``Retry-After``;
resume with ``Range``/``If-Range`` only when the expected size and sha256
are known (otherwise a resumed splice could not be checked); hash the bytes
once, as they arrive; never read past the declared size.

Hostile or broken servers (§2 "endless data / slow retrieval"): redirects are
followed by hand, at most ``MAX_REDIRECTS``, only to http(s), never from https
down to http, and never in a loop; a body is stored exactly as sent (no
transparent decoding of assets, since S3 and nginx label ``.tar.gz`` files
``Content-Encoding: gzip``); a transfer slower than ``low_speed_limit`` bytes/s
over ``low_speed_time`` seconds is abandoned; a file of undeclared size stops
at ``max_download_bytes`` and an index at ``max_index_bytes``. These faults are
not transient: they raise :class:`~polyhub.DownloadError` at once, without
retries. Every error names the URL, with credentials masked (``redact.py``).
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.client
import logging
import os
import queue
import random
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlparse, urlsplit, urlunsplit
from urllib.request import getproxies_environment

import requests
import urllib3
import urllib3.connection
import urllib3.connectionpool

from ._config import Config
from ._errors import DownloadError
from ._lfs import MAX_POINTER, check_body_head
from ._locations import is_local, local_path

__all__ = [
    "Downloaded",
    "ca_bundle",
    "fetch_bytes",
    "git_network_env",
    "is_local",
    "local_path",
    "stream_to_file",
]

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Faults worth a retry: reset connections, timeouts, bodies cut short. A refused
# connection or a host name that does not resolve is not among them (see
# :func:`unreachable`): it answers the same a second later, and retrying it kept a
# user waiting 17 s for an error, or for the cached index it then used anyway.
TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
)
CHUNK = 1 << 20
MAX_REDIRECTS = 10
# Variables naming a CA bundle, in the order requests reads the first two; the
# last two are OpenSSL's, which requests (using certifi) would otherwise ignore.
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
USER_AGENT = "polyhub/0.1 (+https://github.com/polyhub)"

# Indirection so tests can record the sleeps instead of waiting.
sleep: Callable[[float], None] = time.sleep


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff(attempt: int, config: Config, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based), capped."""
    if retry_after is not None:
        return min(retry_after, config.backoff_cap)
    base: float = min(0.5 * 2.0 ** (attempt - 1), config.backoff_cap)
    return min(base * (1 + random.random() * 0.25), config.backoff_cap)


def ca_bundle() -> str | None:
    """The CA bundle (file or folder) the environment names, or ``None`` for the default store.

    :raises DownloadError: the variable names a path that does not exist (requests
        would raise a bare ``OSError`` on the first request).
    """
    for name in CA_VARIABLES:
        value = os.environ.get(name)
        if value:  # empty means unset: CURL_CA_BUNDLE="" must not turn verification off
            if not os.path.exists(value):
                raise DownloadError(f"{name}={value!r} names no CA bundle file or folder")
            return value
    return None


def git_network_env(config: Config) -> dict[str, str]:
    """Variables that make git's HTTP transport use what :func:`stream_to_file` uses.

    git (libcurl) reads neither ``REQUESTS_CA_BUNDLE`` nor upper-case ``HTTP_PROXY``,
    so without these a private CA or proxy that works for downloads fails for
    repositories. An explicit ``GIT_SSL_CAINFO``/``GIT_SSL_CAPATH`` is kept.
    """
    env: dict[str, str] = {}
    ca = ca_bundle()
    if ca and not (os.environ.get("GIT_SSL_CAINFO") or os.environ.get("GIT_SSL_CAPATH")):
        env["GIT_SSL_CAPATH" if os.path.isdir(ca) else "GIT_SSL_CAINFO"] = ca
    # The proxies requests would use (urllib's reading of the environment, which
    # also honours upper-case HTTP_PROXY outside CGI); libcurl reads lower case.
    for scheme, proxy in getproxies_environment().items():
        env[f"{scheme}_proxy"] = proxy
    if config.low_speed_limit > 0:
        env["GIT_HTTP_LOW_SPEED_LIMIT"] = str(config.low_speed_limit)
        env["GIT_HTTP_LOW_SPEED_TIME"] = str(max(1, round(config.low_speed_time)))
    return env


class _HeadTooSlow(Exception):
    """The status line and headers did not arrive within the deadline.

    Not an OSError: urllib3 and requests would wrap that into a ConnectionError,
    which is retried; this passes through both to :func:`_not_transient`.
    """


def _deadline_connection(
    base: type[urllib3.connection.HTTPConnection], deadline: float
) -> type[urllib3.connection.HTTPConnection]:
    """``base`` whose response head must arrive within ``deadline`` seconds.

    The read timeout is per recv, so a server dripping header bytes (up to 100
    headers of 64 KiB each) would hold a download for days; the body has the
    low-speed check instead. On expiry a timer shuts the socket, which ends
    the blocked read.
    """

    class Deadline(base):  # type: ignore[valid-type,misc]
        def getresponse(self) -> urllib3.response.HTTPResponse:
            expired = threading.Event()
            sock = self.sock

            def expire() -> None:
                expired.set()
                if sock is not None:
                    # socket.socket's own shutdown: SSLSocket.shutdown would drop its
                    # TLS state under the reading thread's feet.
                    with contextlib.suppress(OSError):
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)

            timer = threading.Timer(deadline, expire)
            timer.daemon = True
            timer.start()
            try:
                response = super().getresponse()
            except BaseException:
                if expired.is_set():
                    raise _HeadTooSlow(f"no complete response head within {deadline:g}s") from None
                raise
            finally:
                timer.cancel()
            if expired.is_set():  # the head may have been cut short by the shutdown
                response.close()
                raise _HeadTooSlow(f"no complete response head within {deadline:g}s")
            return response  # type: ignore[no-any-return]

    return Deadline


class _Adapter(requests.adapters.HTTPAdapter):
    """requests' adapter with pools whose connections bound the wait for the response head."""

    def __init__(self, deadline: float) -> None:
        http_pool = type(
            "Pool",
            (urllib3.connectionpool.HTTPConnectionPool,),
            {"ConnectionCls": _deadline_connection(urllib3.connection.HTTPConnection, deadline)},
        )
        https_pool = type(
            "TlsPool",
            (urllib3.connectionpool.HTTPSConnectionPool,),
            {"ConnectionCls": _deadline_connection(urllib3.connection.HTTPSConnection, deadline)},
        )
        self._pools = {"http": http_pool, "https": https_pool}
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> urllib3.PoolManager:
        manager: urllib3.PoolManager = super().proxy_manager_for(proxy, **kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = self._pools
        return manager


def _session(config: Config) -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    if config.low_speed_limit > 0:
        adapter = _Adapter(config.low_speed_time + config.timeout)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
    # trust_env (the default) brings HTTP(S)_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE;
    # SSL_CERT_FILE/SSL_CERT_DIR are added here, as git gets them too.
    ca = ca_bundle()
    if ca:
        s.verify = ca
    return s


def _open(
    session: requests.Session, url: str, config: Config, headers: dict[str, str]
) -> requests.Response:
    """GET ``url`` (streamed), following redirects by hand.

    requests would read each redirect's body into memory (an endless one never
    ends), answer a redirect to ``file://`` with a bare ``InvalidSchema``, and
    stop a loop only after 30 hops; here a redirect's body is never read.
    """
    chain = [url]
    current = url
    while True:
        resp = session.get(
            current,
            headers=headers,
            stream=True,
            allow_redirects=False,
            timeout=(config.timeout, config.timeout),
        )
        target = session.get_redirect_target(resp)
        if target is None:
            return resp
        resp.close()
        nxt = requests.utils.requote_uri(urljoin(current, target))
        old, new = urlsplit(current), urlsplit(nxt)
        if new.scheme.lower() not in ("http", "https"):
            raise DownloadError(
                f"GET {url}: refusing the redirect from {current} to {nxt}: "
                "only http and https are followed",
                url=url,
            )
        if old.scheme.lower() == "https" and new.scheme.lower() == "http":
            raise DownloadError(
                f"GET {url}: refusing the redirect from {current} down to plain http ({nxt})",
                url=url,
            )
        if (
            old.username is not None
            and new.username is None
            and (old.scheme, old.hostname, old.port) == (new.scheme, new.hostname, new.port)
        ):
            # Same origin: keep the mirror's credentials (requests would too); any
            # other host never sees them.
            nxt = urlunsplit(new._replace(netloc=old.netloc.rpartition("@")[0] + "@" + new.netloc))
        if nxt in chain:
            raise DownloadError(f"GET {url}: redirect loop: {' -> '.join([*chain, nxt])}", url=url)
        if len(chain) > MAX_REDIRECTS:
            raise DownloadError(
                f"GET {url}: more than {MAX_REDIRECTS} redirects (last to {nxt})", url=url
            )
        chain.append(nxt)
        current = nxt


class _RateGuard:
    """Abandons a transfer whose average rate over ``low_speed_time`` seconds is too low.

    The read timeout alone bounds nothing: a server that sends one byte every
    few seconds never trips it. Checked as bytes arrive; a total stall is the
    read timeout's job.
    """

    def __init__(self, url: str, config: Config) -> None:
        self.url = url
        self.limit = config.low_speed_limit
        self.window = config.low_speed_time
        self.start = time.monotonic()
        self.at_start = 0
        self.total = 0

    def update(self, n: int) -> None:
        self.total += n
        if self.limit <= 0:
            return
        now = time.monotonic()
        elapsed = now - self.start
        if elapsed < self.window:
            return
        rate = (self.total - self.at_start) / elapsed
        if rate < self.limit:
            raise DownloadError(
                f"GET {self.url}: too slow, {rate:.0f} bytes/s over the last {elapsed:.0f}s "
                f"(POLYHUB_LOW_SPEED_LIMIT={self.limit} bytes/s over "
                f"POLYHUB_LOW_SPEED_TIME={self.window:g}s; 0 turns the check off)",
                url=self.url,
            )
        self.start, self.at_start = now, self.total


def _declared_length(resp: requests.Response) -> int | None:
    value = resp.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _not_transient(url: str, exc: Exception) -> DownloadError:
    """The error for a fault retrying cannot cure (bad encoding, bad headers, bad URL)."""
    if isinstance(exc, _HeadTooSlow):
        return DownloadError(
            f"GET {url}: too slow, {exc} (POLYHUB_LOW_SPEED_TIME + POLYHUB_TIMEOUT; "
            "POLYHUB_LOW_SPEED_LIMIT=0 turns the check off)",
            url=url,
        )
    if isinstance(exc, (urllib3.exceptions.DecodeError, requests.exceptions.ContentDecodingError)):
        return DownloadError(
            f"GET {url}: the body does not decode as its Content-Encoding says: {exc}", url=url
        )
    return DownloadError(f"GET {url} failed: {exc}", url=url)


# Faults that are the server's (or the URL's) and that a retry would repeat.
NOT_TRANSIENT = (
    _HeadTooSlow,
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
)


def unreachable(exc: BaseException) -> bool:
    """True when ``exc`` is a connection that never opened: refused, no route, unknown host.

    Not a connect timeout (a busy or distant server may answer the next try) and
    not a connection lost after it opened (a reset mid-body is retried).
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, urllib3.exceptions.NewConnectionError):
            return True  # NameResolutionError is one too
        if isinstance(e, urllib3.exceptions.MaxRetryError):
            todo.append(e.reason)
        todo.extend(a for a in e.args if isinstance(a, BaseException))
        todo.extend((e.__cause__, e.__context__))
    return False


def _raise_if_unreachable(url: str, exc: Exception) -> None:
    if unreachable(exc):
        raise DownloadError(
            f"GET {url} failed: cannot connect to {urlsplit(url).hostname}: {exc}",
            url=url,
        ) from exc


def _raise_if_tls_untrusted(url: str, exc: Exception) -> None:
    """An untrusted certificate stays untrusted on retry: fail at once, naming the remedy."""
    if isinstance(exc, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
        raise DownloadError(
            f"GET {url} failed: {exc}; a private CA can be named with REQUESTS_CA_BUNDLE "
            "or SSL_CERT_FILE",
            url=url,
        ) from exc


def _http_error(url: str, status: int, reason: str) -> DownloadError:
    return DownloadError(
        f"GET {url} failed: HTTP {status} {reason}".rstrip(), url=url, status=status
    )


def fetch_bytes(
    url: str, config: Config, *, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    """GET a small document (an index) with retries; returns (status, body, headers).

    A 304 is returned as is (the caller sent ``If-None-Match``).
    """
    if is_local(url):
        path = local_path(url)
        try:
            return 200, path.read_bytes(), {}
        except FileNotFoundError:
            raise DownloadError(f"{path} does not exist", url=url, status=404) from None
        except OSError as exc:
            raise DownloadError(f"cannot read {path}: {exc}", url=url) from exc
    attempt = 0
    with _session(config) as session:
        while True:
            try:
                with _open(session, url, config, headers or {}) as resp:
                    if resp.status_code in RETRY_STATUSES and attempt < config.retries:
                        attempt += 1
                        wait = backoff(attempt, config, _retry_after(resp))
                        log.info(
                            "GET %s: HTTP %s, retry %d in %.1fs",
                            url,
                            resp.status_code,
                            attempt,
                            wait,
                        )
                        sleep(wait)
                        continue
                    if resp.status_code not in (200, 304):
                        raise _http_error(url, resp.status_code, resp.reason)
                    return resp.status_code, _read_index(resp, url, config), dict(resp.headers)
            except TRANSIENT as exc:
                _raise_if_tls_untrusted(url, exc)
                _raise_if_unreachable(url, exc)
                attempt = _count_transient(url, attempt, config, exc)
            except NOT_TRANSIENT as exc:
                raise _not_transient(url, exc) from exc


def _count_transient(url: str, attempt: int, config: Config, exc: Exception) -> int:
    attempt += 1
    if attempt > config.retries:
        raise DownloadError(f"GET {url} failed after {attempt} tries: {exc}", url=url) from exc
    wait = backoff(attempt, config)
    log.info("GET %s failed (%s); retry %d in %.1fs", url, exc, attempt, wait)
    sleep(wait)
    return attempt


def _read_index(resp: requests.Response, url: str, config: Config) -> bytes:
    """The body of an index, decoded (a gzip-encoded JSON manifest is wanted as JSON), capped."""
    cap = config.max_index_bytes
    declared = _declared_length(resp)
    if declared is not None and declared > cap:
        raise _too_big(url, declared, cap, "POLYHUB_MAX_INDEX_BYTES", "index")
    body = bytearray()
    guard = _RateGuard(url, config)
    while chunk := resp.raw.read1(CHUNK, decode_content=True):
        body += chunk
        if len(body) > cap:  # counted decoded, so a gzip bomb stops here too
            raise _too_big(url, len(body), cap, "POLYHUB_MAX_INDEX_BYTES", "index")
        guard.update(len(chunk))
    return bytes(body)


def _too_big(url: str, got: int, cap: int, variable: str, what: str) -> DownloadError:
    return DownloadError(
        f"GET {url}: the {what} is larger than {cap} bytes ({got} or more; "
        f"{variable} raises the limit); nothing was kept",
        url=url,
    )


@dataclass
class Downloaded:
    """What :func:`stream_to_file` wrote: the sha256 and size of the whole file."""

    sha256: str
    size: int
    resumed: bool


def _progress(config: Config, total: int | None, desc: str) -> Any:
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    enabled = config.progress and sys.stderr.isatty()
    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=desc,
        disable=not enabled,
        leave=False,
    )


class _BackgroundSha256:
    """sha256 computed on a helper thread, fed the chunks in order as they arrive.

    hashlib releases the GIL on large buffers, so hashing overlaps the socket
    reads and file writes instead of following each of them (a 1 GiB download
    went from 0.64 to 0.86 of curl's throughput). Still one pass over the bytes.
    The queue is bounded, so a slow CPU holds at most 64 chunks in memory.
    """

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._q: queue.Queue[bytes | None] = queue.Queue(maxsize=64)
        self._t = threading.Thread(target=self._run, name="polyhub-sha256", daemon=True)
        self._t.start()

    def _run(self) -> None:
        while True:
            chunk = self._q.get()
            try:
                if chunk is None:
                    return
                self._h.update(chunk)
            finally:
                self._q.task_done()

    def update(self, chunk: bytes) -> None:
        self._q.put(chunk)

    def reset(self) -> None:
        """Start over from byte 0 (the server ignored a range, or sent the wrong one)."""
        self._q.join()
        self._h = hashlib.sha256()

    def hexdigest(self) -> str:
        self._q.join()
        return self._h.hexdigest()

    def close(self) -> None:
        if self._t.is_alive():
            self._q.put(None)
            self._t.join()

    def update_from(self, f: IO[bytes], length: int) -> None:
        """Hash the first ``length`` bytes of ``f`` (a partial being resumed)."""
        f.seek(0)
        remaining = length
        while remaining and (block := f.read(min(CHUNK, remaining))):
            self.update(block)
            remaining -= len(block)
        f.seek(length)


def stream_to_file(
    url: str,
    dest: Path,
    config: Config,
    *,
    size: int | None = None,
    resumable: bool = False,
    name: str = "",
) -> Downloaded:
    """Download ``url`` into ``dest`` (created or, when ``resumable``, continued).

    ``dest`` is a temporary file the caller owns; its existing bytes are kept
    and continued only when ``resumable`` (size and sha256 known by the caller).

    :raises DownloadError: after retries, on a status never retried, or when
        the server sends more bytes than ``size``.
    """
    if is_local(url):
        return _copy_local(local_path(url), dest, url, size)
    mode = "r+b" if dest.exists() and resumable else "w+b"
    with open(dest, mode) as f, _session(config) as session:
        session.headers["Accept-Encoding"] = "identity"
        # No truncate() here: on ext4 truncating to 0 marks the file for a forced
        # flush on close (auto_da_alloc), which cost a quarter of a large download.
        offset = f.seek(0, os.SEEK_END) if resumable else 0
        resumed = offset > 0
        if size is not None and offset > size:
            f.truncate(0)
            f.seek(0)
            offset = 0
        validator: str | None = None
        attempt = 0
        cap = config.max_download_bytes
        bar = _progress(config, size, name or os.path.basename(urlparse(url).path))
        if 0 < offset < MAX_POINTER:
            # A partial an older run took from a Git LFS pointer: start over, and the
            # fresh body is refused below for what it is.
            f.seek(0)
            head = f.read(offset)
            try:
                check_body_head(url, head, size, lambda: b"")
            except DownloadError:
                f.seek(0)
                f.truncate(0)
                offset = 0
                resumed = False
        hasher = _BackgroundSha256()
        try:
            hasher.update_from(f, offset)
            while size is None or offset < size:
                headers: dict[str, str] = {}
                if offset:
                    headers["Range"] = f"bytes={offset}-"
                    if validator:
                        headers["If-Range"] = validator
                try:
                    with _open(session, url, config, headers) as resp:
                        status = resp.status_code
                        if status in RETRY_STATUSES:
                            attempt += 1
                            if attempt > config.retries:
                                raise _http_error(url, status, resp.reason)
                            wait = backoff(attempt, config, _retry_after(resp))
                            log.info(
                                "GET %s: HTTP %s, retry %d in %.1fs", url, status, attempt, wait
                            )
                            sleep(wait)
                            continue
                        if status == 416 and size is not None and offset == size:
                            break
                        if status not in (200, 206):
                            raise _http_error(url, status, resp.reason)
                        if status == 206 and not _range_starts_at(resp, offset):
                            # A 206 for the wrong range would splice wrong bytes: start over.
                            log.warning("GET %s: server answered the wrong range; restarting", url)
                            f.seek(0)
                            f.truncate(0)
                            offset, validator = 0, None
                            hasher.reset()
                            attempt += 1
                            if attempt > config.retries:
                                raise DownloadError(
                                    f"GET {url}: the server keeps sending wrong ranges", url=url
                                )
                            continue
                        if status == 200 and offset:
                            # Range ignored or If-Range failed: the body is the whole file.
                            f.seek(0)
                            f.truncate(0)
                            offset = 0
                            hasher.reset()
                            bar.reset(total=size)
                        validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
                        expected_total = size
                        if expected_total is None and status == 200:
                            expected_total = _declared_length(resp)
                            if expected_total is not None and expected_total > cap:
                                raise _too_big(
                                    url, expected_total, cap, "POLYHUB_MAX_DOWNLOAD_BYTES", "file"
                                )
                        guard = _RateGuard(url, config)
                        # read1 returns what has arrived (a stalled or cut stream loses
                        # nothing already received) and skips requests' per-chunk generator
                        # machinery. decode_content=False: the file is the bytes as sent,
                        # even when a server labels a .tar.gz "Content-Encoding: gzip"
                        # (S3, nginx) despite our "identity"; the sha256 is of those bytes.
                        first = offset == 0
                        while chunk := resp.raw.read1(CHUNK, decode_content=False):
                            if first:
                                # Before any byte is written: a pointer leaves no partial.
                                first = False
                                chunk = check_body_head(
                                    url,
                                    chunk,
                                    size,
                                    lambda: resp.raw.read1(CHUNK, decode_content=False),
                                )
                            if size is not None and offset + len(chunk) > size:
                                raise DownloadError(
                                    f"GET {url}: the server sent more than the declared {size} bytes",
                                    url=url,
                                )
                            if size is None and offset + len(chunk) > cap:
                                raise _too_big(
                                    url,
                                    offset + len(chunk),
                                    cap,
                                    "POLYHUB_MAX_DOWNLOAD_BYTES",
                                    "file (its size is declared nowhere)",
                                )
                            guard.update(len(chunk))
                            f.write(chunk)
                            hasher.update(chunk)
                            offset += len(chunk)
                            bar.update(len(chunk))
                        if expected_total is not None and offset < expected_total:
                            raise requests.ConnectionError(
                                f"stream ended at byte {offset} of {expected_total}"
                            )
                        if size is None:
                            break
                except TRANSIENT as exc:
                    _raise_if_tls_untrusted(url, exc)
                    _raise_if_unreachable(url, exc)
                    attempt += 1
                    if attempt > config.retries:
                        raise DownloadError(
                            f"GET {url} failed after {attempt} tries at byte {offset}: {exc}",
                            url=url,
                        ) from exc
                    if not resumable:
                        f.seek(0)
                        f.truncate(0)
                        offset = 0
                        hasher.reset()
                        bar.reset(total=size)
                    else:
                        resumed = resumed or offset > 0
                    wait = backoff(attempt, config)
                    log.info(
                        "GET %s interrupted at byte %d (%s); retry %d in %.1fs",
                        url,
                        offset,
                        exc,
                        attempt,
                        wait,
                    )
                    sleep(wait)
                except NOT_TRANSIENT as exc:
                    raise _not_transient(url, exc) from exc
            digest = hasher.hexdigest()
        finally:
            bar.close()
            hasher.close()
        # No fsync: it doubled the time of a large download by waiting for the disk.
        # A blob a crash left short is caught by the size check on every cache hit.
    return Downloaded(digest, offset, resumed)


def _range_starts_at(resp: requests.Response, offset: int) -> bool:
    value = resp.headers.get("Content-Range", "")
    # "bytes START-END/TOTAL"
    try:
        start = int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return False
    return start == offset


def _copy_local(src: Path, dest: Path, url: str, size: int | None) -> Downloaded:
    h = hashlib.sha256()
    total = 0
    try:
        with open(src, "rb") as fin, open(dest, "wb") as fout:
            # A Git checkout without its LFS objects holds pointers at the files' paths.
            first = check_body_head(url, fin.read(CHUNK), size, lambda: fin.read(CHUNK))
            while block := first or fin.read(CHUNK):
                first = b""
                total += len(block)
                if size is not None and total > size:
                    raise DownloadError(f"{src} is larger than the declared {size} bytes", url=url)
                h.update(block)
                fout.write(block)
    except FileNotFoundError:
        raise DownloadError(f"{src} does not exist", url=url, status=404) from None
    except IsADirectoryError:
        raise DownloadError(f"{src} is a folder, not a file", url=url) from None
    return Downloaded(h.hexdigest(), total, False)

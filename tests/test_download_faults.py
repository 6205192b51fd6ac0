"""Hostile and broken HTTP servers: every fault is a DownloadError naming the URL, work is
bounded, nothing half-written is published, and no credential reaches a message.

The servers are real sockets on 127.0.0.1. ``RawServer`` writes whatever bytes a test
scripts (http.server cannot send a lying header or drip a body); ``TlsServer`` serves a
folder over HTTPS with a test CA made here, to check that one CA variable serves both
requests and git.
"""

from __future__ import annotations

import datetime
import gc
import gzip
import hashlib
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from polyhub import DownloadError, HashMismatchError
from polyhub._cache import Cache
from polyhub._config import read_config
from polyhub._git import checkout
from polyhub.testing import LoopbackHub, Request
from polyhub.testing import git as _git

pytestmark = pytest.mark.timeout(60)

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache() -> Cache:
    return Cache(read_config())


# -- a server that sends exactly what the test scripts --------------------------------

Responder = Callable[[socket.socket, dict[str, str]], None]


@dataclass
class RawServer:
    base: str
    routes: dict[str, Responder] = field(default_factory=dict)
    hits: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)  # body bytes written per path

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.hits if p == path)


def _serve_one(server: RawServer, conn: socket.socket) -> None:
    with conn:
        conn.settimeout(10)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                block = conn.recv(65536)
                if not block:
                    return
                head += block
        except OSError:
            return
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1].split("?", 1)[0]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        server.hits.append((path, headers))
        route = server.routes.get(path)
        try:
            if route is None:
                conn.sendall(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            else:
                route(conn, headers)
        except OSError:
            pass  # the client hung up, as it should on a hostile body


@pytest.fixture
def raw() -> Iterator[RawServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    server = RawServer(f"http://127.0.0.1:{listener.getsockname()[1]}")
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_serve_one, args=(server, conn), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield server
    stop.set()
    thread.join(5)
    listener.close()


def response(
    conn: socket.socket, status: str, headers: list[tuple[str, str]], body: bytes = b""
) -> None:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    conn.sendall(head.encode("latin-1") + b"Connection: close\r\n\r\n" + body)


def redirect(location: str) -> Responder:
    return lambda conn, _h: response(
        conn, "302 Found", [("Location", location), ("Content-Length", "0")]
    )


def body(data: bytes, *extra: tuple[str, str]) -> Responder:
    return lambda conn, _h: response(
        conn, "200 OK", [("Content-Length", str(len(data))), *extra], data
    )


def endless(server: RawServer, path: str, *, limit: int = 256 << 20) -> Responder:
    """A body without length that goes on until the client leaves (or ``limit`` bytes)."""

    def respond(conn: socket.socket, _h: dict[str, str]) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        block = b"\x00" * 65536
        server.sent[path] = 0
        while server.sent[path] < limit:
            conn.sendall(block)
            server.sent[path] += len(block)

    return respond


def drip(data: bytes, interval: float, *, declare: bool) -> Responder:
    """One byte every ``interval`` seconds: the read timeout never fires."""

    def respond(conn: socket.socket, _h: dict[str, str]) -> None:
        headers = [("Content-Length", str(len(data)))] if declare else []
        response(conn, "200 OK", headers)
        for i in range(len(data)):
            conn.sendall(data[i : i + 1])
            time.sleep(interval)

    return respond


@pytest.fixture
def quiet(home: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """An isolated home, recorded retry sleeps, and no proxy or CA settings from the machine."""
    for name in (
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "GIT_SSL_CAINFO",
        "GIT_SSL_CAPATH",
        "GIT_SSL_NO_VERIFY",
        *(p + "_proxy" for p in ("http", "https", "all", "no", "HTTP", "HTTPS", "ALL", "NO")),
    ):
        monkeypatch.delenv(name, raising=False)
    return sleeps


def published(home: Path) -> list[Path]:
    return [p for p in (home / "blobs").rglob("*") if p.is_file()] if home.exists() else []


# -- 1. every fault is a DownloadError naming the URL, and is not retried ---------------


@pytest.mark.parametrize("kind", ["index", "asset"])
def test_redirect_loop_is_a_download_error(quiet, raw, home, kind, leftovers):
    raw.routes["/a"] = redirect("/b")
    raw.routes["/b"] = redirect(raw.url("/a"))
    url = raw.url("/a")
    with pytest.raises(DownloadError, match="redirect loop") as err:
        if kind == "index":
            cache().fetch_index(url)
        else:
            cache().fetch(url, sha256="0" * 64, size=10)
    assert url in str(err.value) and err.value.url == url
    assert raw.count("/a") == 1 and raw.count("/b") == 1  # seen once, stopped, not retried
    assert quiet == [] and leftovers(home) == [] and published(home) == []


def test_endless_redirect_chain_stops_after_ten(quiet, raw, home):
    for i in range(40):
        raw.routes[f"/r{i}"] = redirect(f"/r{i + 1}")
    with pytest.raises(DownloadError, match="more than 10 redirects"):
        cache().fetch(raw.url("/r0"), sha256=None)
    assert len(raw.hits) == 11 and quiet == []


@pytest.mark.parametrize("kind", ["index", "asset"])
def test_redirect_to_a_local_file_is_refused(quiet, raw, home, tmp_path, kind):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"private")
    raw.routes["/m"] = redirect(secret.as_uri())
    url = raw.url("/m")
    with pytest.raises(DownloadError, match="only http and https") as err:
        if kind == "index":
            cache().fetch_index(url)
        else:
            cache().fetch(url, sha256=sha(b"private"))
    assert url in str(err.value)
    assert published(home) == [] and quiet == []


# urllib3 raises InvalidHeader while building the response and leaves that socket to the
# garbage collector; collected here, inside the test, so the warning is this test's alone.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("kind", ["index", "asset"])
def test_two_different_content_lengths_are_a_download_error(quiet, raw, home, kind, leftovers):
    data = b"0123456789" * 10
    raw.routes["/m"] = body(data, ("Content-Length", "5"))
    url = raw.url("/m")
    with pytest.raises(DownloadError, match="Content-Length") as err:
        if kind == "index":
            cache().fetch_index(url)
        else:
            cache().fetch(url, sha256=sha(data))
    assert url in str(err.value)
    assert raw.count("/m") == 1 and quiet == []
    assert leftovers(home) == [] and published(home) == []
    gc.collect()


def test_index_labelled_gzip_that_is_not_gzip(quiet, raw, home):
    raw.routes["/index.json"] = body(b'{"not": "gzip"}', ("Content-Encoding", "gzip"))
    url = raw.url("/index.json")
    with pytest.raises(DownloadError, match="does not decode as its Content-Encoding") as err:
        cache().fetch_index(url)
    assert url in str(err.value)
    assert raw.count("/index.json") == 1 and quiet == []
    assert not (home / "index").exists() or not list((home / "index").iterdir())


# -- 2. bytes as sent: no transparent decoding of assets ----------------------------------


def test_tar_gz_labelled_content_encoding_gzip_is_stored_as_sent(quiet, raw, home):
    # S3 and nginx serve .tar.gz files this way; the manifest's sha256 is of the .tar.gz.
    archive = gzip.compress(b"model bytes " * 1000, mtime=0)
    raw.routes["/model.tar.gz"] = body(
        archive, ("Content-Type", "application/x-tar"), ("Content-Encoding", "gzip")
    )
    path = cache().fetch(raw.url("/model.tar.gz"), sha256=sha(archive), size=len(archive))
    assert path.read_bytes() == archive
    assert raw.hits[0][1]["accept-encoding"] == "identity"


def test_unhashed_file_labelled_gzip_keeps_the_bytes_as_sent(quiet, raw, home):
    archive = gzip.compress(b"weights" * 500, mtime=0)
    raw.routes["/w.pkl.gz"] = body(archive, ("Content-Encoding", "gzip"))
    path = cache().fetch(raw.url("/w.pkl.gz"), sha256=None)
    assert path.read_bytes() == archive


def test_a_file_labelled_gzip_that_is_not_gzip_is_stored_as_sent(quiet, raw, home):
    data = b"plain bytes, mislabelled"
    raw.routes["/m.onnx"] = body(data, ("Content-Encoding", "gzip"))
    assert cache().fetch(raw.url("/m.onnx"), sha256=sha(data)).read_bytes() == data


def test_gzip_encoded_index_is_decoded(quiet, raw, home):
    manifest = b'[{"model": "mnist"}]'
    raw.routes["/ONNX_HUB_MANIFEST.json"] = body(
        gzip.compress(manifest), ("Content-Encoding", "gzip")
    )
    assert cache().fetch_index(raw.url("/ONNX_HUB_MANIFEST.json")) == manifest


def test_gzip_bomb_index_stops_at_the_index_limit(quiet, raw, home, monkeypatch):
    monkeypatch.setenv("POLYHUB_MAX_INDEX_BYTES", str(1 << 20))
    bomb = gzip.compress(b"\x00" * (16 << 20), compresslevel=1)  # 16 MiB of zeros in ~70 KiB
    raw.routes["/index.json"] = body(bomb, ("Content-Encoding", "gzip"))
    with pytest.raises(DownloadError, match="POLYHUB_MAX_INDEX_BYTES"):
        cache().fetch_index(raw.url("/index.json"))


# -- 3. bounded work -----------------------------------------------------------------


@pytest.fixture
def slow_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # 1000 bytes/s averaged over 0.5 s; the drip sends 20 bytes/s.
    monkeypatch.setenv("POLYHUB_LOW_SPEED_LIMIT", "1000")
    monkeypatch.setenv("POLYHUB_LOW_SPEED_TIME", "0.5")


@pytest.mark.parametrize("declared", [True, False])
def test_dripped_asset_is_abandoned_in_bounded_time(
    quiet, raw, home, slow_limit, declared, leftovers
):
    data = bytes(range(256)) * 4  # 1024 bytes at 20 bytes/s: 51 s
    raw.routes["/slow.bin"] = drip(data, 0.05, declare=declared)
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"too slow.*POLYHUB_LOW_SPEED_LIMIT") as err:
        cache().fetch(raw.url("/slow.bin"), sha256=sha(data), size=len(data) if declared else None)
    assert time.monotonic() - start < 5
    assert raw.url("/slow.bin") in str(err.value)
    assert raw.count("/slow.bin") == 1 and quiet == []  # not retried
    assert published(home) == []
    # A declared size and sha256 make the bytes resumable later (a .part named by sha256);
    # nothing else is left.
    assert [p.name for p in leftovers(home)] in ([], [f"{sha(data)}.part"])
    if not declared:
        assert leftovers(home) == []


@pytest.mark.parametrize("kind", ["index", "asset"])
def test_dripped_headers_are_abandoned_in_bounded_time(quiet, raw, home, monkeypatch, kind):
    # Each header byte arrives well within the read timeout; the head never ends.
    monkeypatch.setenv("POLYHUB_TIMEOUT", "0.5")
    monkeypatch.setenv("POLYHUB_LOW_SPEED_TIME", "0.5")

    def respond(conn: socket.socket, _h: dict[str, str]) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Pad: ")
        for _ in range(2000):
            conn.sendall(b"a")
            time.sleep(0.02)

    raw.routes["/m"] = respond
    start = time.monotonic()
    with pytest.raises(DownloadError, match="too slow, no complete response head") as err:
        if kind == "index":
            cache().fetch_index(raw.url("/m"))
        else:
            cache().fetch(raw.url("/m"), sha256="0" * 64, size=10)
    assert time.monotonic() - start < 5
    assert raw.url("/m") in str(err.value)
    assert raw.count("/m") == 1 and quiet == []


def test_dripped_index_is_abandoned_in_bounded_time(quiet, raw, home, slow_limit):
    raw.routes["/index.json"] = drip(b"[" + b" " * 2000 + b"]", 0.05, declare=False)
    start = time.monotonic()
    with pytest.raises(DownloadError, match="too slow"):
        cache().fetch_index(raw.url("/index.json"))
    assert time.monotonic() - start < 5


def test_dripping_git_server_is_abandoned_in_bounded_time(quiet, raw, home, monkeypatch):
    # git's own low-speed check (http.lowSpeedLimit/Time) gets polyhub's setting.
    monkeypatch.setenv("POLYHUB_LOW_SPEED_LIMIT", "1000")
    monkeypatch.setenv("POLYHUB_LOW_SPEED_TIME", "1")
    raw.routes["/o/r.git/info/refs"] = drip(b"0" * 2000, 0.05, declare=False)
    start = time.monotonic()
    with pytest.raises(DownloadError, match="could not fetch"):
        checkout(raw.url("/o/r.git"), "master", read_config())
    assert time.monotonic() - start < 10


def test_slow_but_steady_link_passes(quiet, raw, home, monkeypatch):
    # 64 KiB in 8 KiB steps every 0.1 s (~80 KB/s) over a 0.3 s window of 1000 bytes/s.
    monkeypatch.setenv("POLYHUB_LOW_SPEED_LIMIT", "1000")
    monkeypatch.setenv("POLYHUB_LOW_SPEED_TIME", "0.3")
    data = os.urandom(64 << 10)

    def steady(conn: socket.socket, _h: dict[str, str]) -> None:
        response(conn, "200 OK", [("Content-Length", str(len(data)))])
        for i in range(0, len(data), 8192):
            conn.sendall(data[i : i + 8192])
            time.sleep(0.1)

    raw.routes["/steady.bin"] = steady
    assert cache().fetch(raw.url("/steady.bin"), sha256=sha(data)).read_bytes() == data


def test_endless_asset_without_declared_size_is_capped(quiet, raw, home, monkeypatch, leftovers):
    monkeypatch.setenv("POLYHUB_MAX_DOWNLOAD_BYTES", str(1 << 20))
    raw.routes["/w.pkl"] = endless(raw, "/w.pkl")
    with pytest.raises(DownloadError, match="POLYHUB_MAX_DOWNLOAD_BYTES") as err:
        cache().fetch(raw.url("/w.pkl"), sha256=None)
    assert raw.url("/w.pkl") in str(err.value)
    # The client stopped reading near the cap (socket buffers hold a few MiB at most).
    time.sleep(0.2)
    assert raw.sent["/w.pkl"] < 32 << 20
    assert leftovers(home) == [] and published(home) == [] and quiet == []


def test_declared_length_over_the_cap_is_refused_before_reading(quiet, raw, home, monkeypatch):
    monkeypatch.setenv("POLYHUB_MAX_DOWNLOAD_BYTES", "1000")
    raw.routes["/big.bin"] = lambda conn, _h: response(
        conn, "200 OK", [("Content-Length", str(10**12))]
    )
    with pytest.raises(DownloadError, match="larger than 1000 bytes"):
        cache().fetch(raw.url("/big.bin"), sha256=None)


def test_endless_index_is_capped(quiet, raw, home, monkeypatch):
    monkeypatch.setenv("POLYHUB_MAX_INDEX_BYTES", str(1 << 20))
    raw.routes["/index.json"] = endless(raw, "/index.json")
    with pytest.raises(DownloadError, match="POLYHUB_MAX_INDEX_BYTES"):
        cache().fetch_index(raw.url("/index.json"))
    time.sleep(0.2)
    assert raw.sent["/index.json"] < 32 << 20
    assert not (home / "index").exists() or not list((home / "index").iterdir())


def test_default_limits_are_documented(home):
    config = read_config()
    assert config.max_index_bytes == 64 << 20
    assert config.max_download_bytes == 16 << 30
    assert (config.low_speed_limit, config.low_speed_time) == (1024, 60.0)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in (
        "POLYHUB_MAX_DOWNLOAD_BYTES",
        "POLYHUB_MAX_INDEX_BYTES",
        "POLYHUB_LOW_SPEED_LIMIT",
        "POLYHUB_LOW_SPEED_TIME",
    ):
        assert name in readme


# -- 4. no credential in any message -----------------------------------------------------

TOKEN = "ghp_s3cr3tT0ken"


def assert_no_secret(text: str) -> None:
    assert TOKEN not in text and "hunter2" not in text, text


def test_credentials_in_a_mirror_url_never_reach_errors_or_logs(
    quiet, raw, home, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG, logger="polyhub")
    data = b"weights"
    raw.routes["/m.bin"] = body(b"other bytes")
    raw.routes["/missing.bin"] = lambda conn, _h: response(
        conn, "404 Not Found", [("Content-Length", "0")]
    )
    raw.routes["/busy.json"] = lambda conn, _h: response(
        conn, "503 Busy", [("Content-Length", "0")]
    )
    mirror = raw.base.replace("http://", f"http://user:{TOKEN}@")
    monkeypatch.setenv("POLYHUB_MIRRORS", f"https://hub.example={mirror}")
    monkeypatch.setenv("POLYHUB_RETRIES", "1")
    from polyhub import make_context

    ctx = make_context()
    errors = []
    with pytest.raises(HashMismatchError) as err:
        ctx.fetch_url("https://hub.example/m.bin", sha256=sha(data))
    errors.append(err.value)
    with pytest.raises(DownloadError) as err:
        ctx.fetch_url("https://hub.example/missing.bin?token=hunter2", sha256=sha(data))
    errors.append(err.value)
    with pytest.raises(DownloadError) as err:
        ctx.fetch_index(f"{mirror}/busy.json")  # a card may carry the credentials itself
    errors.append(err.value)
    # Nor are they written into the cache's records (a cache may be shared or uploaded).
    raw.routes["/ok.bin"] = body(b"ok")
    raw.routes["/ok.json"] = body(b"{}")
    ctx.fetch_url("https://hub.example/ok.bin")  # no sha256: its first-seen hash is recorded
    ctx.fetch_index(f"{mirror}/ok.json")
    for path in home.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    # The credentials were used (HTTP basic auth), only never shown.
    assert raw.hits[0][1]["authorization"].startswith("Basic ")
    for e in errors:
        assert_no_secret(str(e))
        assert_no_secret(repr(e))
        assert_no_secret(e.url or "")
    assert "***@" in str(errors[2])  # still says which host it was
    assert any("busy.json" in r.getMessage() for r in caplog.records)  # the retry was logged
    for record in caplog.records:
        assert_no_secret(record.getMessage())
    assert_no_secret(caplog.text)


def test_redirects_keep_credentials_on_the_same_origin_only(quiet, raw, hub, home):
    data = b"on the cdn"
    hub.add("cdn/m.bin", data)
    raw.routes["/a"] = redirect("/b")  # relative: same origin
    raw.routes["/b"] = redirect(raw.url("/c"))  # absolute, same origin, no user info
    raw.routes["/c"] = redirect(hub.url("cdn/m.bin"))  # another origin
    url = raw.base.replace("http://", f"http://user:{TOKEN}@") + "/a"
    assert cache().fetch(url, sha256=sha(data)).read_bytes() == data
    assert [p for p, _ in raw.hits] == ["/a", "/b", "/c"]
    assert all(h["authorization"].startswith("Basic ") for _, h in raw.hits)
    assert "Authorization" not in hub.gets("cdn/m.bin")[0]


def test_credentials_never_reach_git_errors(quiet, raw, home, caplog):
    caplog.set_level(logging.DEBUG, logger="polyhub")
    url = raw.base.replace("http://", f"http://user:{TOKEN}@") + "/owner/repo.git"
    with pytest.raises(DownloadError) as err:
        checkout(url, "main", read_config())
    assert_no_secret(str(err.value))
    assert "***@127.0.0.1" in str(err.value)
    assert raw.hits and raw.hits[0][0] == "/owner/repo.git/info/refs"
    assert_no_secret(caplog.text)


def test_redact_keeps_what_helps_and_masks_what_grants_access():
    from polyhub._redact import redact, redact_url

    assert redact_url("https://tok@github.com/o/r.git") == "https://***@github.com/o/r.git"
    assert (
        redact(
            "fatal: unable to access 'https://u:p@h:8443/r/': 401; see https://h/x?X-Amz-Signature=abc&a=1"
        )
        == "fatal: unable to access 'https://***@h:8443/r/': 401; see https://h/x?X-Amz-Signature=***&a=1"
    )
    assert redact("https://h/p?access_token=x#frag") == "https://h/p?access_token=***#frag"
    assert redact("'https://u:p@ss@h/r' and https://v@k/") == "'https://***@h/r' and https://***@k/"
    assert redact("git@github.com:owner/repo.git") == "git@github.com:owner/repo.git"
    assert redact("no urls at all") == "no urls at all"


# -- 5. one CA bundle and one proxy setting for downloads and git --------------------------


def _tls_material(folder: Path) -> tuple[Path, Path]:
    """A test CA (ca.pem) and a certificate for 127.0.0.1 signed by it (server.pem)."""
    x509 = pytest.importorskip("cryptography.x509")
    import ipaddress

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "polyhub test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = folder / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    server_pem = folder / "server.pem"
    server_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return ca_pem, server_pem


@dataclass
class Served:
    base: str  # https://127.0.0.1:PORT
    ca: Path
    root: Path
    commit: str  # master of /repo.git
    requests: list[str]


def _serve(root: Path, context: ssl.SSLContext | None, seen: list[str]) -> LoopbackHub:
    """``root`` on 127.0.0.1, over TLS with ``context``; the target of each GET goes to ``seen``."""

    def record(request: Request) -> None:
        if request.method == "GET":
            seen.append(request.target)

    return LoopbackHub(root, ssl_context=context, on_request=record)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("tls")
    ca, server_pem = _tls_material(folder)
    root = folder / "www"
    work = folder / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "master")
    (work / "hubconf.py").write_text("dependencies = []\n")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "initial")
    commit = _git(work, "rev-parse", "HEAD")
    root.mkdir()
    _git(folder, "clone", "-q", "--bare", str(work), str(root / "repo.git"))
    _git(root / "repo.git", "update-server-info")  # dumb HTTP: plain files
    (root / "model.bin").write_bytes(b"model over https")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_pem)
    seen: list[str] = []
    with _serve(root, context, seen) as server:
        yield Served(server.url, ca, root, commit, seen)


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_one_ca_variable_serves_downloads_and_git(quiet, home, tls, monkeypatch, variable):
    monkeypatch.setenv(variable, str(tls.ca))
    data = b"model over https"
    path = cache().fetch(f"{tls.base}/model.bin", sha256=sha(data))
    assert path.read_bytes() == data
    got = checkout(f"{tls.base}/repo.git", "master", read_config())
    assert got.commit == tls.commit
    assert (got.path / "hubconf.py").read_text() == "dependencies = []\n"


def test_without_the_ca_tls_fails_at_once_naming_the_variables(quiet, home, tls, monkeypatch):
    with pytest.raises(DownloadError, match="REQUESTS_CA_BUNDLE or SSL_CERT_FILE") as err:
        cache().fetch(f"{tls.base}/model.bin", sha256=sha(b"model over https"))
    assert tls.base in str(err.value)
    assert quiet == []  # an untrusted certificate is not retried
    with pytest.raises(DownloadError, match="could not fetch"):
        checkout(f"{tls.base}/repo.git", "master", read_config())


def test_a_ca_variable_naming_nothing_is_a_clear_error(quiet, home, tls, monkeypatch, tmp_path):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "nope.pem"))
    with pytest.raises(DownloadError, match=r"REQUESTS_CA_BUNDLE=.*nope\.pem"):
        cache().fetch(f"{tls.base}/model.bin", sha256=sha(b"model over https"))


def test_redirect_from_https_down_to_http_is_refused(quiet, home, tls, raw, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
    # The https server's folder gets no redirect support, so the test serves one itself:
    # an https index that redirects to the plain-http raw server.
    raw.routes["/index.json"] = body(b"[]")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.ca.parent / "server.pem")

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", raw.url("/index.json"))
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        with pytest.raises(DownloadError, match="down to plain http"):
            cache().fetch_index(f"https://127.0.0.1:{server.server_address[1]}/index.json")
    finally:
        server.shutdown()
        server.server_close()
    assert raw.count("/index.json") == 0


class _Proxy(BaseHTTPRequestHandler):
    """A plain-HTTP forward proxy that records each absolute URL it is asked for."""

    seen: list[str]

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        import urllib.error
        import urllib.request

        self.seen.append(self.path)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(self.path, timeout=10) as upstream:
                data, status = upstream.read(), upstream.status
        except urllib.error.HTTPError as exc:
            data, status = exc.read(), exc.code
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_git_goes_through_the_proxy_requests_uses(quiet, home, tls, monkeypatch):
    # Upper-case HTTP_PROXY: requests honours it, libcurl (git) ignores it on its own.
    seen: list[str] = []
    plain = _serve(tls.root, None, [])
    base = plain.url
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), type("P", (_Proxy,), {"seen": seen}))
    threading.Thread(
        target=proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    for name in ("NO_PROXY", "no_proxy"):  # the isolated home sends 127.0.0.1 past proxies
        monkeypatch.delenv(name, raising=False)
    try:
        got = checkout(f"{base}/repo.git", "master", read_config())
        assert got.commit == tls.commit
        assert any(u.startswith(f"{base}/repo.git/") for u in seen), seen
        via_git = len(seen)
        data = b"model over https"
        cache().fetch(f"{base}/model.bin", sha256=sha(data))
        assert seen[via_git:] == [f"{base}/model.bin"]
    finally:
        plain.stop()
        proxy.shutdown()
        proxy.server_close()


def test_real_repository_over_https_with_a_private_ca(quiet, home, tls, monkeypatch, tmp_path):
    bundle = SHARED / "realdata" / "repos" / "onnx-models-pointers.bundle"
    if not bundle.exists():
        pytest.skip(f"real data not found at {bundle}")
    target = tls.root / "github.com" / "onnx" / "models.git"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        _git(tmp_path, "clone", "-q", "--mirror", str(bundle), str(target))
        _git(target, "update-server-info")
    expected = _git(target, "rev-parse", "refs/heads/main")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
    monkeypatch.setenv("POLYHUB_MIRRORS", f"https://github.com={tls.base}/github.com")
    from polyhub import make_context

    got = make_context().checkout("https://github.com/onnx/models.git", "main")
    assert got.commit == expected
    assert (got.path / "ONNX_HUB_MANIFEST.json").stat().st_size == 321_270

"""Downloads into the verified cache: retries, resume, hashes, offline, mirrors (scenarios D, N, R)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket

import pytest
from polyhub import DownloadError, HashMismatchError, OfflineError, PolyhubWarning, UntrustedError
from polyhub._cache import Cache
from polyhub._config import read_config


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def payload(n: int = 3 * 1024 * 1024 + 17, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


def cache(**overrides: object) -> Cache:
    return Cache(read_config(**overrides))  # type: ignore[arg-type]


def test_fetch_verifies_and_publishes_by_hash(home, hub, leftovers):
    data = payload()
    url = hub.add("m.bin", data)
    path = cache().fetch(url, sha256=sha(data), size=len(data), view="onnx/m/m.bin")
    assert path == home / "blobs" / "sha256" / sha(data)[:2] / sha(data)
    assert path.read_bytes() == data
    assert (
        (home / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert (home / "views" / "onnx" / "m" / "m.bin").resolve() == path.resolve()
    assert leftovers(home) == []
    # warm: no request at all
    before = len(hub.requests)
    assert cache().fetch(url, sha256=sha(data), size=len(data)) == path
    assert len(hub.requests) == before


def test_retries_503_then_succeeds_with_backoff(home, hub, sleeps):
    data = payload(1000)
    url = hub.add("a.bin", data)
    hub.script("a.bin", ("status", 503), ("status", 503))
    cache().fetch(url, sha256=sha(data), size=len(data))
    assert len(hub.gets("a.bin")) == 3
    assert len(sleeps) == 2 and 0 < sleeps[0] < sleeps[1]


def test_retry_after_is_honoured_and_capped(home, hub, sleeps):
    data = payload(1000)
    url = hub.add("a.bin", data)
    hub.script(
        "a.bin", ("status", 429, {"Retry-After": "2"}), ("status", 503, {"Retry-After": "99999"})
    )
    cache().fetch(url, sha256=sha(data), size=len(data))
    assert sleeps == [2.0, 60.0]


@pytest.mark.parametrize("status", [404, 401, 403])
def test_client_errors_are_not_retried(home, hub, sleeps, status, leftovers):
    url = hub.url("missing.bin")
    hub.script("missing.bin", ("status", status))
    with pytest.raises(DownloadError) as info:
        cache().fetch(url, sha256="0" * 64, size=10)
    assert info.value.status == status and url in str(info.value)
    assert len(hub.gets("missing.bin")) == 1 and sleeps == []
    assert leftovers(home) == []


def test_gives_up_after_the_retry_budget(home, hub, sleeps, monkeypatch):
    monkeypatch.setenv("POLYHUB_RETRIES", "2")
    url = hub.url("x.bin")
    hub.script("x.bin", *[("status", 500)] * 5)
    with pytest.raises(DownloadError, match="HTTP 500"):
        cache().fetch(url, sha256="0" * 64, size=10)
    assert len(hub.gets("x.bin")) == 3


def test_resume_after_cut_at_40_percent(home, hub, sleeps, leftovers):
    data = payload()
    url = hub.add("big.bin", data)
    cut = int(len(data) * 0.4)
    hub.script("big.bin", ("cut", cut))
    path = cache().fetch(url, sha256=sha(data), size=len(data))
    gets = hub.gets("big.bin")
    assert len(gets) == 2
    assert "Range" not in gets[0]
    resumed_from = int(gets[1]["Range"].split("=")[1].rstrip("-"))
    assert 0 < resumed_from <= cut
    assert gets[1]["If-Range"].startswith('"')
    assert sha(path.read_bytes()) == sha(data)
    assert leftovers(home) == []


def test_resume_when_server_ignores_range(home, hub, sleeps):
    data = payload()
    url = hub.add("big.bin", data)
    hub.script("big.bin", ("cut", len(data) // 3), ("ignore_range",))
    path = cache().fetch(url, sha256=sha(data), size=len(data))
    assert path.stat().st_size == len(data) and sha(path.read_bytes()) == sha(data)


def test_misplaced_206_restarts_instead_of_splicing(home, hub, sleeps):
    data = payload()
    url = hub.add("big.bin", data)
    hub.script("big.bin", ("cut", len(data) // 2), ("wrong_range",))
    path = cache().fetch(url, sha256=sha(data), size=len(data))
    assert sha(path.read_bytes()) == sha(data)
    assert "Range" not in hub.gets("big.bin")[-1]


def test_partial_from_a_crashed_run_is_resumed(home, hub):
    data = payload()
    url = hub.add("big.bin", data)
    (home / "tmp").mkdir(parents=True)
    (home / "tmp" / f"{sha(data)}.part").write_bytes(data[:1000])
    cache().fetch(url, sha256=sha(data), size=len(data))
    assert hub.gets("big.bin")[0]["Range"] == "bytes=1000-"


def test_complete_partial_needs_no_request(home, hub):
    data = payload(5000)
    url = hub.add("big.bin", data)
    (home / "tmp").mkdir(parents=True)
    (home / "tmp" / f"{sha(data)}.part").write_bytes(data)
    path = cache().fetch(url, sha256=sha(data), size=len(data))
    assert path.read_bytes() == data and hub.gets("big.bin") == []


def test_garbage_partial_is_discarded_and_downloaded_again(home, hub, leftovers):
    data = payload(200_000)
    url = hub.add("big.bin", data)
    (home / "tmp").mkdir(parents=True)
    (home / "tmp" / f"{sha(data)}.part").write_bytes(b"x" * 1000)
    path = cache().fetch(url, sha256=sha(data), size=len(data))
    assert path.read_bytes() == data
    assert [g.get("Range") for g in hub.gets("big.bin")] == ["bytes=1000-", None]
    assert leftovers(home) == []


def test_hash_mismatch_leaves_nothing(home, hub, leftovers):
    data = payload(10_000)
    url = hub.add("m.bin", data)
    wrong = sha(b"something else")
    with pytest.raises(HashMismatchError) as info:
        cache().fetch(url, sha256=wrong, size=len(data))
    assert (
        info.value.expected == wrong and info.value.actual == sha(data) and url in str(info.value)
    )
    assert leftovers(home) == []
    assert not (home / "blobs").exists() or not any((home / "blobs").rglob("*.*"))
    assert not cache().blob_path(wrong).exists()


def test_more_bytes_than_declared_stops_reading(home, hub, leftovers):
    url = hub.url("endless.bin")
    hub.add("endless.bin", b"x")
    hub.script("endless.bin", ("endless",))
    with pytest.raises(DownloadError, match="more than the declared 4096 bytes"):
        cache().fetch(url, sha256="0" * 64, size=4096)
    assert leftovers(home) == []


def test_offline_warm_and_cold(home, hub, monkeypatch):
    data = payload(5000)
    url = hub.add("m.bin", data)
    path = cache().fetch(url, sha256=sha(data), size=len(data))

    def no_socket(*args, **kwargs):
        raise AssertionError("a socket was opened in offline mode")

    monkeypatch.setattr(socket.socket, "connect", no_socket)
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    assert cache().fetch(url, sha256=sha(data), size=len(data)) == path
    with pytest.raises(OfflineError) as info:
        cache().fetch(hub.url("other.bin"), sha256="1" * 64, size=3)
    assert str(home) in str(info.value) and "other.bin" in str(info.value)


def test_require_hashes_refuses_before_any_request(home, hub, monkeypatch):
    monkeypatch.setenv("POLYHUB_REQUIRE_HASHES", "yes")
    url = hub.add("w.pkl", b"weights")
    with pytest.raises(UntrustedError, match="POLYHUB_REQUIRE_HASHES"):
        cache().fetch(url, sha256=None)
    assert hub.requests == []


def test_unhashed_url_trust_on_first_use(home, hub):
    url = hub.add("w.pkl", b"weights v1")
    first = cache().fetch(url, sha256=None)
    assert first.read_bytes() == b"weights v1"
    record = json.loads(next((home / "urls").glob("*.json")).read_text())
    assert record["sha256"] == sha(b"weights v1")
    assert cache().fetch(url, sha256=None) == first  # warm, by the record
    hub.files["/w.pkl"] = b"weights v2, tampered"
    with pytest.raises(HashMismatchError, match="first seen"):
        cache(force_reload=True).fetch(url, sha256=None)


def test_mirrors_rewrite_with_longest_prefix(home, hub, monkeypatch):
    data = payload(100)
    hub.add("mirror/onnx/models/main/m.onnx", data)
    monkeypatch.setenv(
        "POLYHUB_MIRRORS",
        f"https://example.invalid=http://127.0.0.1:1/nothing,"
        f"https://example.invalid/onnx={hub.base}/mirror/onnx",
    )
    config = read_config()
    assert config.rewrite_url("https://example.invalid/onnx/models/main/m.onnx") == hub.url(
        "mirror/onnx/models/main/m.onnx"
    )
    assert config.rewrite_url("https://other.invalid/x") == "https://other.invalid/x"


def test_file_urls_and_paths(home, tmp_path):
    src = tmp_path / "w.bin"
    src.write_bytes(b"local weights")
    for url in (src.as_uri(), str(src)):
        path = cache(force_reload=True).fetch(url, sha256=sha(b"local weights"))
        assert path.read_bytes() == b"local weights"
    with pytest.raises(HashMismatchError):
        cache(force_reload=True).fetch(str(src), sha256=sha(b"other"))


def test_size_change_in_cache_triggers_refetch(home, hub):
    data = payload(5000)
    url = hub.add("m.bin", data)
    path = cache().fetch(url, sha256=sha(data), size=len(data))
    os.chmod(path, 0o644)
    path.write_bytes(data[:100])  # truncated by some older tool
    assert cache().fetch(url, sha256=sha(data), size=len(data)).read_bytes() == data
    assert len(hub.gets("m.bin")) == 2


def test_verify_flag_rehashes_a_bit_flip(home, hub):
    data = payload(5000)
    url = hub.add("m.bin", data)
    path = cache().fetch(url, sha256=sha(data), size=len(data))
    os.chmod(path, 0o644)
    path.write_bytes(b"\x00" + data[1:])
    assert cache().verify()[0][1] != sha(data)
    assert cache(verify=True).fetch(url, sha256=sha(data), size=len(data)).read_bytes() == data
    assert cache().verify() == []


def test_index_uses_etag_and_works_offline(home, hub, monkeypatch):
    monkeypatch.setenv("POLYHUB_INDEX_TTL", "0")  # revalidate on every use
    url = hub.add("ONNX_HUB_MANIFEST.json", b"[]")
    assert cache().fetch_index(url) == b"[]"
    assert cache().fetch_index(url) == b"[]"
    gets = hub.gets("ONNX_HUB_MANIFEST.json")
    assert "If-None-Match" not in gets[0] and gets[1]["If-None-Match"].startswith('"')
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    assert cache().fetch_index(url) == b"[]"
    with pytest.raises(OfflineError):
        cache().fetch_index(hub.url("never.json"))


def test_index_falls_back_to_cache_when_server_fails(home, hub, sleeps, monkeypatch):
    monkeypatch.setenv("POLYHUB_RETRIES", "1")
    monkeypatch.setenv("POLYHUB_INDEX_TTL", "0")
    url = hub.add("index.json", b'{"v": 1}')
    cache().fetch_index(url)
    hub.script("index.json", ("status", 503), ("status", 503))
    with pytest.warns(PolyhubWarning, match="HTTP 503.*using the cached indexes"):
        assert cache().fetch_index(url) == b'{"v": 1}'
    # With a copy in hand the 503 is not retried: one request, no backoff.
    assert len(hub.gets("index.json")) == 2 and sleeps == []


def test_unreachable_server_is_a_download_error(home, sleeps, monkeypatch, leftovers):
    monkeypatch.setenv("POLYHUB_RETRIES", "1")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(DownloadError, match=f"127.0.0.1:{port}"):
        cache().fetch(f"http://127.0.0.1:{port}/m.bin", sha256="0" * 64, size=10)
    assert sleeps == []  # a refused connection is not retried like a 503
    assert leftovers(home) == [] or all(p.suffix == ".part" for p in leftovers(home))


def test_stalled_server_times_out_and_resumes(home, hub, sleeps, monkeypatch, leftovers):
    import time

    monkeypatch.setenv("POLYHUB_TIMEOUT", "0.3")
    data = payload(100_000)
    url = hub.add("slow.bin", data)
    hub.script("slow.bin", ("stall", 5000, 2.0))
    start = time.monotonic()
    path = cache().fetch(url, sha256=sha(data), size=len(data))
    assert time.monotonic() - start < 2.0
    assert path.read_bytes() == data
    assert hub.gets("slow.bin")[1]["Range"] == "bytes=5000-"
    assert leftovers(home) == []


def test_waiting_for_another_process_lock_is_bounded_and_logged(home, hub, monkeypatch, caplog):
    import filelock

    monkeypatch.setenv("POLYHUB_LOCK_TIMEOUT", "0.5")
    data = payload(1000)
    url = hub.add("m.bin", data)
    c = cache()
    c.ensure()
    (home / "locks").mkdir(parents=True, exist_ok=True)
    holder = filelock.FileLock(str(home / "locks" / f"{sha(data)}.lock"))
    holder.acquire()
    try:
        with pytest.raises(DownloadError, match="gave up waiting") as info:
            c.fetch(url, sha256=sha(data), size=len(data))
        assert str(home / "locks") in str(info.value)
    finally:
        holder.release()
    assert hub.gets("m.bin") == []
    assert c.fetch(url, sha256=sha(data), size=len(data)).read_bytes() == data


def test_no_hashing_thread_outlives_a_download(home, hub, sleeps):
    import threading

    data = payload(300_000)
    url = hub.add("m.bin", data)
    hub.script("m.bin", ("cut", 1000), ("ignore_range",))
    before = {t.name for t in threading.enumerate()}
    cache().fetch(url, sha256=sha(data), size=len(data))
    with pytest.raises(HashMismatchError):
        cache(force_reload=True).fetch(url, sha256=sha(b"x"), size=len(data))
    assert "polyhub-sha256" not in {t.name for t in threading.enumerate()} - before

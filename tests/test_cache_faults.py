"""The cache under faults: read-only or full disks, killed downloads, prune, files altered at rest,
and first-seen hashes learnt from a bad first response (issue 9).

Processes are real (``subprocess``, real signals), the server is a real loopback HTTP
server (the ``hub`` fixture), and read-only or full filesystems are real mounts when
the tests run as root (a read-only bind mount, a 1 MiB tmpfs), else permissions and a
file-size rlimit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polyhub
import pytest
from polyhub import (
    Asset,
    DownloadError,
    FormatInfo,
    HashMismatchError,
    ModelCard,
    PolyhubWarning,
    RuntimeInfo,
    SourceInfo,
    hookimpl,
)
from polyhub._atomic import umask_mode
from polyhub._cache import Cache
from polyhub._config import read_config
from polyhub._device import Device
from polyhub.testing import use_plugins


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def payload(n: int, seed: int = 3) -> bytes:
    return random.Random(seed).randbytes(n)


def cache(**overrides: object) -> Cache:
    return Cache(read_config(**overrides))  # type: ignore[arg-type]


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload,no-any-return]


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` read-only for this process: a read-only bind mount as root
    (root ignores permissions), else the write bits off."""
    if os.geteuid() != 0:
        dirs = [path, *[p for p in path.rglob("*") if p.is_dir() and not p.is_symlink()]]
        modes = {d: d.stat().st_mode for d in dirs}
        for d in dirs:
            d.chmod(0o555)
        try:
            yield
        finally:
            for d, mode in modes.items():
                d.chmod(mode)
        return
    if _run(["mount", "--bind", str(path), str(path)]).returncode != 0:
        pytest.skip("running as root but cannot bind-mount (no CAP_SYS_ADMIN)")
    try:
        if _run(["mount", "-o", "remount,bind,ro", str(path), str(path)]).returncode != 0:
            pytest.skip("cannot remount read-only")
        yield
    finally:
        _run(["umount", str(path)])


def _is_read_only(path: Path) -> bool:
    try:
        (path / ".probe").write_bytes(b"")
    except OSError:
        return True
    (path / ".probe").unlink()
    return False


# -- read-only and unwritable caches ------------------------------------------------------


def test_warm_read_only_cache_loads_what_it_holds(home, hub, monkeypatch):
    data = payload(50_000)
    url = hub.add("m.bin", data)
    index_url = hub.add("index.json", b'{"v": 1}')
    unhashed = hub.add("w.pkl", b"PK weights")
    c = cache()
    blob = c.fetch(url, sha256=sha(data), size=len(data), view="x/m.bin")
    assert c.fetch_index(index_url) == b'{"v": 1}'
    c.fetch(unhashed, sha256=None)
    hub.files["/index.json"] = b'{"v": 2}'  # the hub moved on: the index must be refreshed
    monkeypatch.setenv("POLYHUB_INDEX_TTL", "0")  # now, not in a day
    with read_only(home):
        assert _is_read_only(home)
        assert cache().fetch(url, sha256=sha(data), size=len(data), view="x/m.bin") == blob
        assert cache().fetch(unhashed, sha256=None).read_bytes() == b"PK weights"
        with pytest.warns(PolyhubWarning, match="cannot refresh the cached index") as warned:
            assert cache().fetch_index(index_url) == b'{"v": 1}'
        assert "not writable" in str(warned[0].message)
        cold = payload(1000, seed=9)
        with pytest.raises(DownloadError) as info:
            cache().fetch(hub.add("cold.bin", cold), sha256=sha(cold), size=len(cold))
        message = str(info.value)
        assert str(home) in message and "not writable" in message and "POLYHUB_HOME" in message


def test_home_that_cannot_be_created_says_to_set_polyhub_home(home, hub, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.delenv("POLYHUB_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(locked / "xdg"))
    data = payload(100)
    url = hub.add("m.bin", data)
    with read_only(locked), pytest.raises(DownloadError) as info:
        cache().fetch(url, sha256=sha(data), size=len(data))
    message = str(info.value)
    assert str(locked / "xdg" / "polyhub") in message
    assert "POLYHUB_HOME is not set" in message and "Set POLYHUB_HOME" in message
    assert hub.requests == []  # it failed before any byte was fetched


# -- full disk ------------------------------------------------------------------------------


@contextlib.contextmanager
def tiny_tmpfs(path: Path) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the rlimit case covers a full disk")
    if _run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield
    finally:
        _run(["umount", str(path)])


def test_disk_full_is_a_typed_error_and_frees_the_partial(home, hub, leftovers):
    data = payload(3 * 1024 * 1024)
    url = hub.add("big.bin", data)
    with tiny_tmpfs(home):
        with pytest.raises(DownloadError) as info:
            cache().fetch(url, sha256=sha(data), size=len(data))
        message = str(info.value)
        assert "cannot write" in message and str(home / "tmp") in message and "full" in message
        assert leftovers(home) == []
        assert shutil.disk_usage(home).used < 256 * 1024  # the partial megabyte was freed


_CHILD = r"""
import json, os, resource, sys
limit = int(os.environ.pop("TEST_FSIZE_LIMIT", "0"))
if limit:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from polyhub._cache import Cache
from polyhub._config import read_config
url, digest, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    path = Cache(read_config()).fetch(url, sha256=digest, size=size)
    print(json.dumps({"ok": str(path)}))
except BaseException as exc:
    print(json.dumps({"error": type(exc).__name__, "polyhub": exc.__class__.__module__ == "polyhub",
                      "message": str(exc)}))
"""


def _child(url: str, digest: str, size: int, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, digest, str(size)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def _result(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = proc.communicate(timeout=60)
    assert out.strip(), err
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def test_file_size_limit_is_a_typed_error_and_frees_the_partial(home, hub, leftovers):
    # Without root: RLIMIT_FSIZE makes write() fail with EFBIG, the same path as ENOSPC.
    data = payload(3 * 1024 * 1024)
    url = hub.add("big.bin", data)
    result = _result(_child(url, sha(data), len(data), TEST_FSIZE_LIMIT=str(1024 * 1024)))
    assert result.get("error") == "DownloadError" and result["polyhub"], result
    assert "cannot write" in str(result["message"]) and str(home / "tmp") in str(result["message"])
    assert leftovers(home) == []


# -- killed downloads and prune ---------------------------------------------------------------


def _wait_for_partial(home: Path, at_least: int, proc: subprocess.Popen[str]) -> Path:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for p in (home / "tmp").glob("*.tmp") if (home / "tmp").exists() else ():
            with contextlib.suppress(FileNotFoundError):
                if p.stat().st_size >= at_least:
                    return p
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("the child never started writing")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_download_is_resumed_by_the_next_process_and_leaves_nothing(
    home, hub, leftovers, sig
):
    data = payload(2 * 1024 * 1024)
    url = hub.add("big.bin", data)
    hub.script("big.bin", ("drip", 32 * 1024, 0.05))  # ~3 s for the body: the kill lands mid-way
    proc = _child(url, sha(data), len(data))
    _wait_for_partial(home, 128 * 1024, proc)
    proc.send_signal(sig)
    proc.communicate(timeout=30)
    assert proc.returncode == -sig
    (left,) = leftovers(home)
    kept = left.stat().st_size
    assert 0 < kept < len(data)

    path = cache().fetch(url, sha256=sha(data), size=len(data))
    assert path.read_bytes() == data
    assert hub.gets("big.bin")[-1]["Range"] == f"bytes={kept}-"
    assert leftovers(home) == []


def test_stale_leftovers_of_other_files_are_removed_on_next_use(home, hub, leftovers):
    tmp = home / "tmp"
    tmp.mkdir(parents=True)
    old = tmp / f"{'a' * 64}.123.deadbeef.tmp"
    old.write_bytes(b"x" * 1000)
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    recent = tmp / f"{'b' * 64}.part"
    recent.write_bytes(b"y" * 1000)  # a resumable partial of another file: kept for a while
    data = payload(1000)
    cache().fetch(hub.add("m.bin", data), sha256=sha(data), size=len(data))
    assert leftovers(home) == [recent]


def test_prune_leaves_a_running_download_alone(home, hub, leftovers):
    data = payload(1024 * 1024, seed=5)
    url = hub.add("big.bin", data)
    # ~6 s for the body: the prune process (an interpreter start and the plugins' loading,
    # seconds on a loaded machine) must run while the download is still going.
    hub.script("big.bin", ("drip", 8 * 1024, 0.05))
    proc = _child(url, sha(data), len(data))
    partial = _wait_for_partial(home, 1, proc)
    tmp = home / "tmp"
    stale = tmp / f"{'c' * 64}.part"  # a leftover nobody owns: prune removes it
    stale.write_bytes(b"z")
    pruned = _run([sys.executable, "-m", "polyhub", "cache", "prune", "--older-than", "0"])
    assert pruned.returncode == 0, pruned.stderr
    assert partial.exists() and not stale.exists()
    assert f"removed {stale}" in pruned.stdout and str(partial) not in pruned.stdout
    result = _result(proc)
    assert result == {"ok": str(cache().blob_path(sha(data)))}, result
    assert leftovers(home) == []


# -- integrity at rest ---------------------------------------------------------------------------


def test_blobs_are_read_only_and_checked_on_every_use(home, hub, monkeypatch):
    data = payload(20_000)
    url = hub.add("m.bin", data)
    path = cache().fetch(url, sha256=sha(data), size=len(data))
    assert stat.S_IMODE(path.stat().st_mode) == umask_mode(0o444)

    # Touched (mtime changed, bytes intact): re-hashed once, used, no download.
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert cache().fetch(url, sha256=sha(data), size=len(data)) == path
    assert len(hub.gets("m.bin")) == 1

    # Altered in place, same size: never used; fetched again.
    path.chmod(0o644)
    path.write_bytes(bytes([data[0] ^ 1]) + data[1:])
    assert cache().fetch(url, sha256=sha(data), size=len(data)).read_bytes() == data
    assert len(hub.gets("m.bin")) == 2
    assert stat.S_IMODE(path.stat().st_mode) == umask_mode(0o444)

    # Altered while offline: a typed error, not the wrong bytes.
    path.chmod(0o644)
    path.write_bytes(bytes([data[0] ^ 2]) + data[1:])
    with pytest.raises(HashMismatchError) as info:
        cache(offline=True).fetch(url, sha256=sha(data), size=len(data))
    assert str(path) in str(info.value) and "altered" in str(info.value)
    assert info.value.actual == sha(bytes([data[0] ^ 2]) + data[1:])


def test_a_cache_hit_counts_as_a_use_for_prune(home, hub):
    # A hit only stats the blob, and relatime moves a read file's atime at most once a
    # day: 'cache prune --older-than 12h' removed a model used a minute ago.
    from polyhub._usage import scan

    data = payload(5_000, seed=9)
    url = hub.add("used.bin", data)
    path = cache().fetch(url, sha256=sha(data), size=len(data))
    day_ago = time.time_ns() - 86_400 * 10**9
    os.utime(path, ns=(day_ago, day_ago))  # downloaded a day ago, as published
    mtime_ns = day_ago
    record = home / "stat" / "sha256" / sha(data)[:2] / f"{sha(data)}.json"
    record.write_text(json.dumps({"size": len(data), "mtime_ns": mtime_ns}))

    assert cache().fetch(url, sha256=sha(data), size=len(data)) == path
    assert len(hub.gets("used.bin")) == 1  # a hit
    assert path.stat().st_mtime_ns == mtime_ns  # the integrity record still holds
    (item,) = [i for i in scan(home).items if i.kind == "blob"]
    assert time.time() - item.last_used < 60
    pruned = _run([sys.executable, "-m", "polyhub", "cache", "prune", "--older-than", "12h"])
    assert pruned.returncode == 0 and path.exists(), pruned.stdout


def test_verify_catches_what_the_stat_check_cannot(home, hub, monkeypatch):
    data = payload(20_000, seed=4)
    url = hub.add("m.bin", data)
    path = cache().fetch(url, sha256=sha(data), size=len(data))
    before = path.stat()
    path.chmod(0o644)
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime forged back
    # Documented limit of the fast path: same size and mtime pass without a re-hash.
    assert cache().fetch(url, sha256=sha(data), size=len(data)).read_bytes() != data
    monkeypatch.setenv("POLYHUB_VERIFY", "1")
    assert cache().fetch(url, sha256=sha(data), size=len(data)).read_bytes() == data
    assert len(hub.gets("m.bin")) == 2


# -- first-seen hashes through the load pipeline ----------------------------------------------


class UnhashedTextPlugin:
    """A hub whose one model file publishes no sha256; format ``phtxt`` starts with PHTXT."""

    def __init__(self, url: str) -> None:
        self.url = url

    @hookimpl
    def polyhub_register_sources(self, registry):
        registry.add(SourceInfo(scheme="tofu", summary="hub without hashes"))

    @hookimpl
    def polyhub_register_formats(self, registry):
        registry.add(FormatInfo(name="phtxt", suffixes=(".txt",)))

    @hookimpl
    def polyhub_register_runtimes(self, registry):
        registry.add(RuntimeInfo(name="textrt", formats=("phtxt",), devices=("cpu",)))

    @hookimpl
    def polyhub_source_resolve(self, address, context):
        if address.scheme != "tofu":
            return None
        asset = Asset(url=self.url, sha256=None, format="phtxt")
        return ModelCard(address=address, name=address.path, source="tofu", assets=(asset,))

    @hookimpl
    def polyhub_format_detect(self, path, head):
        return "phtxt" if head.startswith(b"PHTXT") else None

    @hookimpl
    def polyhub_runtime_devices(self, runtime):
        return [Device("cpu")] if runtime == "textrt" else None

    @hookimpl
    def polyhub_runtime_load(self, request):
        return request.path.read_text().splitlines() if request.runtime == "textrt" else None


@pytest.fixture
def tofu_hub(home, hub):
    url = hub.add("lenet.txt", b"")
    with use_plugins(("tofu", UnhashedTextPlugin(url))):
        yield url


LFS_POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    b"size 12345\n"
)


def test_first_seen_hash_is_learnt_only_from_a_real_file_and_can_be_forgotten(
    home, tofu_hub, hub, leftovers
):
    from polyhub._cli import main

    records = home / "urls"
    for bad, what in (
        (LFS_POINTER, "Git LFS pointer"),
        (b"<!DOCTYPE html><html><body>rate limited</body></html>", "HTML page"),
        (b"\x00\x01 some other binary", "not 'phtxt'"),
    ):
        hub.files["/lenet.txt"] = bad
        with pytest.raises(DownloadError, match=what):
            polyhub.load("tofu:lenet")
        assert not records.exists() or list(records.iterdir()) == []
        assert leftovers(home) == []
    hub.files["/lenet.txt"] = b"PHTXT\nv1"
    assert polyhub.load("tofu:lenet") == ["PHTXT", "v1"]
    (record,) = records.glob("*.json")
    assert json.loads(record.read_text())["sha256"] == sha(b"PHTXT\nv1")

    hub.files["/lenet.txt"] = b"PHTXT\nv2"  # the hub changed the bytes: enforced
    with pytest.raises(HashMismatchError, match="first seen"):
        polyhub.load("tofu:lenet", force_reload=True)
    assert main(["cache", "forget", "tofu:lenet"]) == 0
    assert not record.exists()
    assert polyhub.load("tofu:lenet") == ["PHTXT", "v2"]
    assert main(["cache", "forget", tofu_hub]) == 0  # by URL
    assert main(["cache", "forget", tofu_hub]) == 1  # nothing left to forget


def test_a_live_writers_file_is_not_taken_over_even_where_flock_lies(home, hub, leftovers):
    # On NFS/Lustre flock may grant every caller the lock; the writer's pid in the file
    # name (alive, wrote lately) must then keep other processes of this machine off it.
    data = payload(100_000, seed=8)
    url = hub.add("m.bin", data)
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        tmp = home / "tmp"
        tmp.mkdir(parents=True)
        live = tmp / f"{sha(data)}.{writer.pid}.0badcafe.tmp"  # no lock held: as if flock lied
        live.write_bytes(data[:5000])
        path = cache().fetch(url, sha256=sha(data), size=len(data))
        assert path.read_bytes() == data
        assert "Range" not in hub.gets("m.bin")[0]  # not continued
        assert live.read_bytes() == data[:5000]  # not touched
    finally:
        writer.kill()
        writer.communicate()
    # Once the writer is gone, the file is an ordinary leftover: prune removes it.
    assert cache().prune(older_than=0) == [live]
    assert leftovers(home) == []

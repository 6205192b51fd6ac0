"""Faults found by an outside review of issue 9 (only PolyhubErrors, bounded work).

Each test is a fault a user met from the outside: a setting of ``inf``, a
read-only home for ``polyhub trust add``, a damaged cache entry (a symlink loop,
a folder in a blob's place), and a ``tmp/`` folder holding things polyhub never
wrote (a FIFO that made ``cache prune`` hang, a link to a shared folder whose old
files prune deleted).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from polyhub import DownloadError, PolyhubError
from polyhub._cache import Cache
from polyhub._config import read_config
from polyhub._trust import TrustStore

DAYS_AGO = time.time() - 3 * 24 * 3600


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e400"])
def test_a_non_finite_number_setting_is_a_polyhub_error(
    home: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("POLYHUB_RETRIES", value)
    with pytest.raises(PolyhubError, match=r"POLYHUB_RETRIES=.* is not a finite number"):
        read_config()


def test_trust_add_on_an_unwritable_home_names_the_file(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A regular file where the home folder should be: unwritable even for root.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("POLYHUB_HOME", str(blocker))
    with pytest.raises(PolyhubError, match=r"the trust list .*not-a-folder"):
        TrustStore(read_config()).add("github.com/acme/zoo")


def test_an_unreadable_trust_list_names_the_file(home: Path) -> None:
    (home / "trusted_repos").mkdir(parents=True)  # a folder in the list's place
    with pytest.raises(PolyhubError, match=r"cannot read the trust list .*trusted_repos"):
        TrustStore(read_config()).entries()


def _cached(home: Path, tmp_path: Path) -> tuple[Cache, Path, str, str]:
    src = tmp_path / "model.bin"
    src.write_bytes(b"weights" * 100)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    cache = Cache(read_config())
    blob = cache.fetch(str(src), sha256=digest, size=src.stat().st_size)
    return cache, blob, str(src), digest


@pytest.mark.parametrize("damage", ["symlink-loop", "folder"])
def test_a_damaged_blob_is_a_download_error_in_fetch_ls_and_verify(
    home: Path, tmp_path: Path, damage: str
) -> None:
    cache, blob, src, digest = _cached(home, tmp_path)
    blob.unlink()
    if damage == "symlink-loop":
        blob.symlink_to(blob)
    else:
        blob.mkdir()
    with pytest.raises(DownloadError, match=r"cannot read .*" + digest):
        if damage == "symlink-loop":
            cache.fetch(src, sha256=digest, size=700)
        else:
            cache.fetch(src, sha256=digest)  # no size: the folder is hashed
    with pytest.raises(DownloadError, match=r"cannot read .*" + digest):
        cache.verify()
    if damage == "symlink-loop":
        with pytest.raises(DownloadError, match=r"cannot read .*" + digest):
            cache.blobs()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_prune_does_not_hang_on_a_fifo_in_tmp(home: Path) -> None:
    tmp = home / "tmp"
    tmp.mkdir(parents=True)
    for name in ("fifo", "a" * 64 + ".part", "url-" + "b" * 32 + ".1.deadbeef.tmp"):
        os.mkfifo(tmp / name)
        os.utime(tmp / name, (DAYS_AGO, DAYS_AGO))
    # In a child process: the old code blocked forever in open() of the FIFO.
    env = dict(os.environ, POLYHUB_HOME=str(home))
    run = subprocess.run(
        [sys.executable, "-m", "polyhub", "cache", "prune"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp / "fifo").exists()


def test_prune_touches_only_polyhub_files_of_a_linked_tmp(home: Path, tmp_path: Path) -> None:
    shared = tmp_path / "scratch"  # e.g. tmp/ linked to a scratch disk others use too
    shared.mkdir()
    home.mkdir(parents=True)
    (home / "tmp").symlink_to(shared)
    foreign = shared / "results.csv"
    foreign.write_text("someone else's work")
    stale = shared / ("c" * 64 + ".part")
    stale.write_bytes(b"partial")
    for path in (foreign, stale):
        os.utime(path, (DAYS_AGO, DAYS_AGO))
    removed = Cache(read_config()).prune()
    assert foreign.exists()
    assert not stale.exists()
    assert [p.name for p in removed] == [stale.name]


def test_missing_dependency_error_keeps_import_error_fields() -> None:
    # The credential-masking base __init__ once dropped keywords, so raising this
    # error was a TypeError, and the real MegEngine hubconf (which imports ftfy,
    # regex... lazily) failed to load with that TypeError.
    from polyhub import MissingDependencyError

    err = MissingDependencyError(
        "ftfy missing, from https://u:pw@host/x", name="ftfy", missing=["ftfy"]
    )
    assert isinstance(err, ImportError)
    assert (err.name, err.missing) == ("ftfy", ["ftfy"])
    assert "pw" not in str(err)


def test_the_address_usage_hint_survives_credential_masking() -> None:
    # 'key=' is masked as a secret query value, which once garbled the hint
    # into "expected 'scheme:path[@revision][?key=***'".
    from polyhub._address import parse_address

    with pytest.raises(PolyhubError) as info:
        parse_address("")
    assert "[?name=value]'" in str(info.value)
    assert "***" not in str(info.value)


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.email=r@example.invalid", "-c", "user.name=r", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_a_git_checkout_into_an_unwritable_home_is_a_download_error(
    tmp_path: Path, home: Path
) -> None:
    from polyhub._git import checkout

    repo = tmp_path / "repo"
    repo.mkdir()
    _git("init", "-q", "-b", "main", cwd=repo)
    (repo / "hubconf.py").write_text("x = 1\n")
    _git("add", "hubconf.py", cwd=repo)
    _git("commit", "-qm", "one", cwd=repo)
    home.mkdir(parents=True)
    (home / "git").write_text("a file where the git cache belongs")
    with pytest.raises(DownloadError, match=r"cannot write the git cache .*POLYHUB_HOME"):
        checkout(repo.as_uri(), None, read_config())


def test_mindspore_lists_from_a_home_where_its_index_cannot_be_stored(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("polyhub_mindspore")
    card = (
        Path(__file__).resolve().parents[2]
        / "shared/realdata/mindspore-hub/assets/mindspore/1.6/lenet_mnist.md"
    )
    if not card.exists():
        pytest.skip(f"real MindSpore cards not found at {card}")
    hub = tmp_path / "hub" / "mshub_res" / "assets" / "mindspore" / "1.6"
    hub.mkdir(parents=True)
    (hub / card.name).write_bytes(card.read_bytes())
    monkeypatch.setenv("POLYHUB_MINDSPORE_HUB", str(tmp_path / "hub"))
    home.mkdir(parents=True)
    # The card index lives in the plugin's storage folder, <home>/plugins/mindspore/.
    (home / "plugins").write_text("a file where the plugins' folder belongs")
    import polyhub

    with pytest.warns(polyhub.PolyhubWarning, match="cannot store the card index"):
        cards = polyhub.list_models("mindspore")
    assert [str(c.address) for c in cards] == ["mindspore:mindspore/1.6/lenet_mnist"]


@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_timeout_of_zero_or_less_is_a_polyhub_error(
    home: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # requests raised "ValueError: Invalid timeout (0.0, 0.0)" at the first request.
    monkeypatch.setenv("POLYHUB_TIMEOUT", value)
    with pytest.raises(PolyhubError, match=r"POLYHUB_TIMEOUT=.* must be a positive number"):
        read_config()


def test_an_unwritable_home_under_xdg_cache_home_names_that_variable(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The message used to say "(the default; POLYHUB_HOME is not set)", leaving
    # the user to guess that XDG_CACHE_HOME chose the folder.
    blocker = tmp_path / "xdg-is-a-file"
    blocker.write_text("x")
    monkeypatch.delenv("POLYHUB_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.raises(DownloadError, match=r"under XDG_CACHE_HOME; POLYHUB_HOME is not set"):
        Cache(read_config()).ensure()


def test_prune_removes_checkouts_half_written_by_a_killed_process(home: Path) -> None:
    # SIGKILL during a git checkout left '.<commit12>.<random>.tmp' (14 MB for
    # MegEngine/Models) and its '.index' next to the checkouts, for ever.
    folder = home / "git" / "checkouts" / "0123456789abcdef-models"
    old_tree = folder / ".78882f9cbaa0.5ehi3bnv.tmp"
    (old_tree / "official").mkdir(parents=True)
    (old_tree / "official" / "model.py").write_text("x = 1\n")
    old_index = folder / ".78882f9cbaa0.5ehi3bnv.index"
    old_index.write_bytes(b"DIRC")
    fresh = folder / ".78882f9cbaa0.k2j3h4g5.tmp"  # may still be written: kept
    fresh.mkdir()
    done = folder / "78882f9cbaa037ad701f47d47bb80b66ad95ce87"  # a finished checkout: kept
    done.mkdir()
    for path in (old_tree, old_index, done):
        os.utime(path, (DAYS_AGO, DAYS_AGO))
    removed = Cache(read_config()).prune()
    assert not old_tree.exists() and not old_index.exists()
    assert fresh.exists() and done.exists()
    assert {p.name for p in removed} == {old_tree.name, old_index.name}

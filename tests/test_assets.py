"""Assets with a published sha256 prefix, files kept under their own names, plugin storage."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import polyhub
import polyhub._cache
import pytest
from polyhub import (
    Address,
    Asset,
    HashMismatchError,
    MetadataError,
    ModelCard,
    OfflineError,
    UnsupportedError,
)
from polyhub._cache import Cache
from polyhub._config import read_config


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def context(**overrides: object) -> polyhub.Context:
    return polyhub.make_context(**overrides)  # type: ignore[arg-type]


def card_of(*assets: Asset) -> ModelCard:
    return ModelCard(Address("onnx", "t/m"), name="m", source="onnx", assets=assets)


def everything(home: Path) -> list[Path]:
    return sorted(p for p in home.rglob("*") if not p.is_dir()) if home.exists() else []


# -- sha256 prefix ----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "xyz12345", "0" * 64, "12 34", "-1"])
def test_a_bad_prefix_is_refused_when_the_asset_is_built(bad: str) -> None:
    with pytest.raises(MetadataError) as info:
        Asset("http://h/m.ckpt", sha256_prefix=bad)
    assert info.value.field == "sha256_prefix" and "m.ckpt" in str(info.value)


def test_a_prefix_contradicting_the_sha256_is_refused() -> None:
    with pytest.raises(MetadataError, match="does not start with"):
        Asset("http://h/m.ckpt", sha256="ab" * 32, sha256_prefix="abba")
    assert Asset("http://h/m.ckpt", sha256_prefix=" ABCD1234 ").sha256_prefix == "abcd1234"


def test_prefix_mismatch_is_refused_while_streaming_and_leaves_nothing(
    home: Path, hub, leftovers, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(100_000)
    url = hub.add("net_0123abcd.ckpt", data)
    wrong = "0123abcd" if not sha(data).startswith("0123abcd") else "fedcba98"
    asset = Asset(url, name="net_0123abcd.ckpt", sha256_prefix=wrong)
    # The hash computed while streaming decides: the file is never read again.
    monkeypatch.setattr(polyhub._cache, "file_sha256", None)
    with pytest.raises(HashMismatchError) as info:
        context().fetch(asset, card=card_of(asset))
    assert info.value.expected == f"{wrong}…" and info.value.actual == sha(data)
    assert url in str(info.value) and "net_0123abcd.ckpt" in str(info.value)
    assert leftovers(home) == []
    # Nothing published, nothing pinned as the URL's first-seen hash.
    assert [p for p in everything(home) if p.parts[-2] != "locks"] == [home / "CACHEDIR.TAG"]
    assert len(hub.gets("net_0123abcd.ckpt")) == 1


def test_matching_prefix_publishes_and_later_loads_ask_nothing(home: Path, hub) -> None:
    data = os.urandom(50_000)
    url = hub.add("w.ckpt", data)
    asset = Asset(url, name="w.ckpt", sha256_prefix=sha(data)[:8])
    path = context().fetch(asset, card=card_of(asset))
    assert path.read_bytes() == data
    again = context(offline=True).fetch(asset, card=card_of(asset))
    assert again == path and len(hub.gets("w.ckpt")) == 1


def test_a_recorded_hash_that_contradicts_the_prefix_is_learnt_again(home: Path, hub) -> None:
    old, new = os.urandom(4000), os.urandom(4000)
    url = hub.add("w.ckpt", old)
    context().fetch(Asset(url, name="w.ckpt"))  # first seen: old bytes
    hub.add("w.ckpt", new)  # the hub now publishes other bytes, and their prefix
    asset = Asset(url, name="w.ckpt", sha256_prefix=sha(new)[:8])
    with pytest.raises(HashMismatchError) as info:
        context(offline=True).fetch(asset)
    assert info.value.actual == sha(old)
    assert context().fetch(asset).read_bytes() == new
    assert context(offline=True).fetch(asset).read_bytes() == new


def test_prefix_round_trips_through_the_card_json_and_lock_files(home: Path, hub) -> None:
    from polyhub._lockfile import LockedModel, LockFile, LockMismatchError, apply_lock, read, write

    data = os.urandom(1000)
    asset = Asset(hub.add("w.ckpt", data), name="w.ckpt", sha256_prefix=sha(data)[:8])
    card = card_of(asset)
    assert card.to_dict()["assets"][0]["sha256_prefix"] == sha(data)[:8]
    entry = {**card.to_dict()["assets"][0], "sha256": sha(data), "size": len(data)}
    lock_path = home.parent / "polyhub.lock"
    write(LockFile((LockedModel("onnx:t/m", "onnx:t/m", "onnx", (entry,), None),)), lock_path)
    lock = read(lock_path)
    assert lock.models[0].assets[0]["sha256_prefix"] == sha(data)[:8]
    pinned = apply_lock(card, lock, context(), address="onnx:t/m")
    assert pinned.assets[0].sha256 == sha(data) and pinned.assets[0].sha256_prefix == sha(data)[:8]
    other = card_of(
        Asset(asset.url, name="w.ckpt", sha256_prefix="f" if sha(data)[0] != "f" else "0")
    )
    with pytest.raises(LockMismatchError, match="sha256_prefix"):
        apply_lock(other, lock, context(), address="onnx:t/m")


# -- file names ---------------------------------------------------------------------


def test_fetch_keeps_the_asset_file_name_and_points_at_the_verified_blob(home: Path, hub) -> None:
    data = os.urandom(20_000)
    asset = Asset(hub.add("x/alexnet.ckpt", data), sha256=sha(data), name="ascend/alexnet.ckpt")
    path = context().fetch(asset, card=card_of(asset))
    assert path.name == "alexnet.ckpt" and path.read_bytes() == data
    blob = Cache(read_config()).blob_path(sha(data))
    assert path.resolve() == blob.resolve()
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    # The same bytes under another name, and other bytes under the same name: no clash.
    other = os.urandom(20_000)
    same_name = Asset(hub.add("y/alexnet.ckpt", other), sha256=sha(other), name="alexnet.ckpt")
    second = context().fetch(same_name)
    assert second.name == "alexnet.ckpt" and second.read_bytes() == other
    assert path.read_bytes() == data
    renamed = Asset(asset.url, sha256=sha(data), name="copy.ckpt")
    assert context().fetch(renamed).name == "copy.ckpt"
    unhashed = context().fetch(Asset(hub.add("z/tiny.mindir", b"mindir bytes"), name="tiny.mindir"))
    assert unhashed.name == "tiny.mindir" and unhashed.read_bytes() == b"mindir bytes"


@pytest.mark.parametrize("name", ["..", ".", "a\\b", "a\x00b"])
def test_a_name_that_is_no_plain_file_name_gets_the_blob(home: Path, hub, name: str) -> None:
    data = os.urandom(500)
    asset = Asset(hub.add("m.bin", data), sha256=sha(data), name=name)
    path = context().fetch(asset)
    assert path == Cache(read_config()).blob_path(sha(data))
    assert home.resolve() in path.resolve().parents


def test_a_damaged_blob_behind_a_name_is_fetched_again(home: Path, hub) -> None:
    data = os.urandom(3000)
    asset = Asset(hub.add("m.onnx", data), sha256=sha(data), name="m.onnx")
    path = context().fetch(asset)
    blob = path.resolve()
    blob.chmod(0o644)
    blob.write_bytes(b"tampered")
    again = context().fetch(asset)
    assert again == path and again.read_bytes() == data and len(hub.gets("m.onnx")) == 2


def test_cache_rm_and_prune_drop_the_names(home: Path, hub) -> None:
    data = os.urandom(3000)
    asset = Asset(hub.add("m.onnx", data), sha256=sha(data), name="m.onnx")
    path = context().fetch(asset)
    done = subprocess.run(
        [sys.executable, "-m", "polyhub", "cache", "rm", sha(data)[:12], "--yes"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert not path.is_symlink() and not path.parent.exists()
    path = context().fetch(asset)
    stray = path.parent / ".4242.0badf00d.lnk"  # a process killed while naming the blob
    os.symlink(os.readlink(path), stray)
    Cache(read_config()).prune()
    assert not stray.is_symlink() and path.read_bytes() == data
    os.chmod(path.resolve(), 0o644)
    path.resolve().unlink()  # gone behind the cache's back: prune drops the dangling name
    Cache(read_config()).prune()
    assert not path.is_symlink()
    with pytest.raises(OfflineError):
        context(offline=True).fetch(asset)


# -- plugin storage -------------------------------------------------------------------


def test_storage_is_a_folder_per_registered_plugin(home: Path) -> None:
    ctx = context()
    folder = ctx.storage("onnx")
    assert folder == home / "plugins" / "onnx" and folder.is_dir()
    assert (home / "CACHEDIR.TAG").is_file()
    for name in ("nosuchplugin", "..", "onnx/../x", ""):
        with pytest.raises(UnsupportedError):
            ctx.storage(name)
    assert sorted(p.name for p in (home / "plugins").iterdir()) == ["onnx"]


def test_cache_ls_counts_and_prune_removes_unused_plugin_storage(home: Path) -> None:
    ctx = context()
    old = ctx.storage("onnx")
    (old / "index").mkdir()
    (old / "index" / "a.bin").write_bytes(b"a" * 9000)
    new = ctx.storage("mindspore")
    (new / "b.bin").write_bytes(b"b" * 100)
    when = time.time() - 40 * 86400
    for p in [old, *old.rglob("*")]:
        os.utime(p, (when, when))
    done = subprocess.run(
        [sys.executable, "-m", "polyhub", "cache", "ls", "--json"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    items = {i["label"]: i for i in json.loads(done.stdout)["items"] if i["kind"] == "storage"}
    assert set(items) == {"plugins/onnx", "plugins/mindspore"}
    assert items["plugins/onnx"]["size"] >= 9000 and items["plugins/onnx"]["path"] == str(old)
    done = subprocess.run(
        [sys.executable, "-m", "polyhub", "cache", "prune", "--older-than", "30d"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"removed storage {old}" in done.stdout
    assert not old.exists() and (new / "b.bin").exists()

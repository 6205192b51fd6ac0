"""Safe extraction of test-data tarballs (scenario X1-X3)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from polyhub import UnsafeArchiveError
from polyhub._archive import extract_tar


def make_tar(path: Path, members: list[tuple[str, str, bytes | str]]) -> Path:
    """members: (kind, name, data or link target); kind in file, dir, sym, hard, fifo."""
    with tarfile.open(path, "w:gz") as tar:
        for kind, name, data in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                assert isinstance(data, bytes)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, str(data)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, str(data)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            tar.addfile(info)
    return path


def test_benign_archive(tmp_path):
    archive = make_tar(
        tmp_path / "ok.tar.gz",
        [
            ("dir", "model", b""),
            ("file", "model/model.onnx", b"onnx"),
            ("file", "model/test_data_set_0/input_0.pb", b"in"),
        ],
    )
    dest = extract_tar(archive, tmp_path / "out" / "x")
    assert (dest / "model" / "model.onnx").read_bytes() == b"onnx"
    assert (dest / "model" / "test_data_set_0" / "input_0.pb").read_bytes() == b"in"
    assert extract_tar(archive, dest) == dest  # complete extractions are reused


HOSTILE = {
    "dotdot": [("file", "../evil", b"x")],
    "absolute": [("file", "/tmp/polyhub-evil-abs", b"x")],
    "symlink-out": [("sym", "link", "/"), ("file", "link/evil", b"x")],
    "symlink-chain": [
        ("sym", "current", "."),
        ("sym", "parent", "current/.."),
        ("file", "parent/evil", b"x"),
    ],
    "hardlink": [("hard", "passwd", "/etc/passwd")],
    "fifo": [("fifo", "pipe", b"")],
    "prefix-bug": [("file", "../dest_evil/x", b"x")],
    "backslash": [("file", "..\\evil", b"x")],
    "nested-dotdot": [("file", "a/../../evil", b"x")],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_refused_and_leave_nothing(tmp_path, case):
    outer = tmp_path / "outer"
    outer.mkdir()
    archive = make_tar(tmp_path / f"{case}.tar.gz", HOSTILE[case])
    with pytest.raises(UnsafeArchiveError) as info:
        extract_tar(archive, outer / "dest")
    assert str(archive) in str(info.value)
    assert list(outer.iterdir()) == []
    assert not Path("/tmp/polyhub-evil-abs").exists()
    assert not (tmp_path / "evil").exists() and not (tmp_path / "dest_evil").exists()


def test_size_cap_stops_a_bomb(tmp_path):
    archive = make_tar(tmp_path / "bomb.tar.gz", [("file", "zeros", b"\0" * 5_000_000)])
    assert archive.stat().st_size < 50_000
    with pytest.raises(UnsafeArchiveError, match="more than 1000000 bytes"):
        extract_tar(archive, tmp_path / "out" / "dest", max_bytes=1_000_000)
    assert list((tmp_path / "out").iterdir()) == []


def test_not_a_tarball(tmp_path):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"this is not gzip")
    with pytest.raises(UnsafeArchiveError, match="not a readable tar archive"):
        extract_tar(bad, tmp_path / "dest")


# -- corrupt archives: every fault is an UnsafeArchiveError naming archive and member --------


def benign_members() -> list[tuple[str, str, bytes | str]]:
    return [
        ("dir", "model", b""),
        ("file", "model/model.onnx", bytes(range(256)) * 40),
        ("file", "model/test_data_set_0/input_0.pb", b"in" * 3000),
        ("file", "model/test_data_set_0/output_0.pb", b"out" * 3000),
    ]


def refused(tmp_path: Path, archive: Path) -> UnsafeArchiveError:
    outer = tmp_path / "outer"
    outer.mkdir(exist_ok=True)
    with pytest.raises(UnsafeArchiveError) as info:
        extract_tar(archive, outer / "dest")
    assert str(archive) in str(info.value)
    assert list(outer.iterdir()) == []  # nothing half-extracted, no temporary left
    return info.value


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, -8, -1])
def test_a_gzip_stream_cut_short_is_refused(tmp_path, keep):
    whole = make_tar(tmp_path / "whole.tar.gz", benign_members()).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: int(len(whole) * keep)] if keep > 0 else whole[:keep])
    error = refused(tmp_path, cut)
    assert "cut short" in str(error) or "not a readable" in str(error)


def test_a_plain_tar_cut_between_members_is_refused(tmp_path):
    # tarfile alone reads this as a complete archive holding the first member only.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("a.pb", b"a" * 600), ("b.pb", b"b" * 600)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    whole = buffer.getvalue()
    first_member_end = 512 + 1024  # header + two data blocks
    cut = tmp_path / "cut.tar"
    cut.write_bytes(whole[: first_member_end + 100])  # the second header, cut
    with tarfile.open(cut) as tar:
        assert [m.name for m in tar] == ["a.pb"]  # what tarfile makes of it
    assert "cut short" in str(refused(tmp_path, cut))
    cut.write_bytes(whole[:first_member_end])  # exactly between members
    assert "cut short" in str(refused(tmp_path, cut))


def test_a_bad_crc_is_refused(tmp_path):
    whole = bytearray(make_tar(tmp_path / "whole.tar.gz", benign_members()).read_bytes())
    whole[-8] ^= 0xFF  # the gzip trailer's CRC32
    bad = tmp_path / "bad-crc.tar.gz"
    bad.write_bytes(bytes(whole))
    error = refused(tmp_path, bad)
    assert "CRC" in str(error)


@pytest.mark.parametrize(
    ("members", "member"),
    [
        ([("file", "x", b"1"), ("dir", "x", b"")], "x"),
        ([("dir", "x", b""), ("file", "x", b"1")], "x"),
        ([("file", "x", b"1"), ("file", "x/y", b"2")], "x/y"),
        ([("file", "x/y", b"1"), ("file", "x", b"2")], "x"),
        ([("file", "x", b"1"), ("file", "x", b"2")], "x"),
    ],
)
def test_a_name_that_is_both_file_and_folder_is_refused(tmp_path, members, member):
    archive = make_tar(tmp_path / "clash.tar.gz", members)
    assert f"member {member!r}" in str(refused(tmp_path, archive))


@pytest.mark.parametrize("name", ["d/" + "n" * 300 + ".pb", "/".join(["abcdefgh"] * 200)])
def test_names_too_long_for_the_filesystem_are_refused(tmp_path, name):
    archive = make_tar(tmp_path / "long.tar.gz", [("file", name, b"x")])
    error = refused(tmp_path, archive)
    assert "too long" in str(error)
    assert len(str(error)) < 3000

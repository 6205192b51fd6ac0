"""Safe extraction of test-data tarballs (scenario X1-X3)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from polyhub import UnsafeArchiveError
from polyhub.archive import extract_tar


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

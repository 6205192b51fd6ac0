"""Fuzzing safe extraction with mutations of a real test-data tarball.

The tarball has the shape of an ONNX test-data archive (``model/model.onnx``,
``model/test_data_set_0/input_0.pb``...) and is written by ``tarfile`` as the
zoo's were. Seeded and bounded (300 cases, a few seconds): each mutant either
extracts completely or raises a PolyhubError, and never leaves anything but
a complete extraction behind, nor writes outside its destination.
"""

from __future__ import annotations

import gzip
import io
import random
import tarfile
from pathlib import Path

import pytest
from polyhub import PolyhubError
from polyhub._archive import extract_tar

CASES = 300

NAMES = [
    "model/model.onnx",
    "model",
    "model/test_data_set_0",
    "model/test_data_set_0/input_0.pb",
    "../escape.pb",
    "/abs.pb",
    "model/" + "n" * 300,
    "/".join(["d"] * 400),
    "model/./x.pb",
    "model//y.pb",
    "model/test_data_set_0/input_0.pb/z",
    "ok\udcff.pb",  # an undecodable byte, as tarfile reads it
    "",
    ".",
    "a\\b",
]
TYPES = [tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE]


def real_members(rng: random.Random) -> list[tuple[tarfile.TarInfo, bytes]]:
    members = []
    folder = tarfile.TarInfo("model")
    folder.type = tarfile.DIRTYPE
    members.append((folder, b""))
    for name, size in (
        ("model/model.onnx", 3000),
        ("model/test_data_set_0/input_0.pb", 1200),
        ("model/test_data_set_0/output_0.pb", 700),
    ):
        info = tarfile.TarInfo(name)
        data = rng.randbytes(size)
        info.size = len(data)
        members.append((info, data))
    return members


def write_tar(members: list[tuple[tarfile.TarInfo, bytes]], fmt: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def fix_checksum(raw: bytearray, header: int) -> None:
    block = raw[header : header + 512]
    if len(block) < 512:
        return
    block[148:156] = b" " * 8
    raw[header + 148 : header + 156] = b"%06o\x00 " % sum(block)


def mutant(rng: random.Random) -> bytes:
    members = real_members(rng)
    roll = rng.random()
    if roll < 0.35:  # member level: names, kinds and sizes a hostile archive may carry
        for _ in range(rng.randint(1, 3)):
            info = tarfile.TarInfo(rng.choice(NAMES))
            info.type = rng.choice(TYPES)
            info.linkname = rng.choice(["/", "..", "model", "model/model.onnx"])
            data = rng.randbytes(rng.randint(0, 600)) if info.type == tarfile.REGTYPE else b""
            info.size = len(data)
            members.insert(rng.randrange(len(members) + 1), (info, data))
        fmt = rng.choice([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
        try:
            return gzip.compress(write_tar(members, fmt), mtime=0)
        except ValueError:  # a name the chosen format cannot write: keep the plain one
            return gzip.compress(write_tar(real_members(rng), tarfile.GNU_FORMAT), mtime=0)
    raw = bytearray(write_tar(members, tarfile.GNU_FORMAT))
    if roll < 0.7:  # tar level, recompressed so gzip's CRC is right
        for _ in range(rng.randint(1, 4)):
            header = rng.randrange(0, len(raw), 512)
            field = rng.choice([(0, 100), (100, 8), (124, 12), (156, 1), (157, 100), (345, 155)])
            start = header + field[0] + rng.randrange(field[1])
            raw[start : start + 1] = bytes([rng.randrange(256)])
            if rng.random() < 0.8:
                fix_checksum(raw, header)
        if rng.random() < 0.3:
            raw = raw[: rng.randrange(len(raw))]
        return gzip.compress(bytes(raw), mtime=0)
    packed = bytearray(gzip.compress(bytes(raw), mtime=0))  # byte level on the .tar.gz
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(packed))
        if rng.random() < 0.5:
            packed[at] ^= 1 << rng.randrange(8)
        else:
            packed = packed[:at]
            break
    return bytes(packed)


def test_every_mutant_extracts_completely_or_is_a_polyhub_error(tmp_path: Path) -> None:
    rng = random.Random(20261130)
    outcomes = {"extracted": 0, "refused": 0}
    for case in range(CASES):
        work = tmp_path / f"case{case}"
        outer = work / "outer"
        outer.mkdir(parents=True)
        archive = work / "data.tar.gz"
        archive.write_bytes(mutant(rng))
        try:
            dest = extract_tar(archive, outer / "dest", max_bytes=1 << 20)
        except PolyhubError as exc:
            assert str(archive) in str(exc)
            assert list(outer.iterdir()) == [], f"case {case} left {list(outer.iterdir())}"
            outcomes["refused"] += 1
        except Exception as exc:  # pragma: no cover - the failure being hunted
            pytest.fail(f"case {case}: {type(exc).__name__}: {exc}")
        else:
            assert [p.name for p in outer.iterdir()] == ["dest"]
            assert (dest / ".polyhub-complete").is_file()
            outcomes["extracted"] += 1
        assert sorted(p.name for p in work.iterdir()) == ["data.tar.gz", "outer"]
    assert not (tmp_path / "escape.pb").exists() and not Path("/abs.pb").exists()
    assert all(outcomes.values()), outcomes

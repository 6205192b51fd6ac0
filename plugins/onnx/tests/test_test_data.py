"""Hostile ``model_with_data`` tarballs through the public API: refused, nothing extracted or left."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from polyhub import UnsafeArchiveError
from polyhub._api import download
from polyhub_onnx.demo import HubModel, tiny_mlp


def _archive(add: Callable[[tarfile.TarFile], None]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        good = b"fine"
        info = tarfile.TarInfo("tiny/test_data_set_0/input_0.pb")
        info.size = len(good)
        tar.addfile(info, io.BytesIO(good))
        add(tar)
    return gzip.compress(raw.getvalue())


def _file(name: str, data: bytes = b"evil") -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    return add


def _link(name: str, target: str, kind: bytes) -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, target
        tar.addfile(info)

    return add


def _both(*parts: Callable[[tarfile.TarFile], None]) -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        for part in parts:
            part(tar)

    return add


HOSTILE = {
    "parent": _file("../x"),
    "deep parent": _file("tiny/../../x"),
    "sibling prefix": _file("../extracted_evil/x"),
    "absolute": _file("/tmp/polyhub-evil-x"),
    "symlink out": _link("tiny/link", "/", tarfile.SYMTYPE),
    "symlink then write through it": _both(
        _link("tiny/up", "..", tarfile.SYMTYPE), _file("tiny/up/x")
    ),
    "hardlink": _link("tiny/passwd", "/etc/passwd", tarfile.LNKTYPE),
    "fifo": _link("tiny/pipe", "", tarfile.FIFOTYPE),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_test_data_is_refused_and_leaves_nothing(
    case: str, make_hub, serve, polyhub_home: Path, tmp_path: Path
) -> None:
    archive = _archive(HOSTILE[case])
    hub = make_hub([HubModel("tiny", tiny_mlp(17), data=False)])
    (hub / "evil.tar.gz").write_bytes(archive)
    manifest = hub / "ONNX_HUB_MANIFEST.json"
    entries = json.loads(manifest.read_text())
    entries[0]["metadata"].update(
        model_with_data_path="evil.tar.gz",
        model_with_data_sha=hashlib.sha256(archive).hexdigest(),
        model_with_data_bytes=len(archive),
    )
    manifest.write_text(json.dumps(entries))
    server = serve(hub)
    before = {p for p in tmp_path.rglob("*") if p.name in ("x", "passwd", "pipe", "link")}

    with pytest.raises(UnsafeArchiveError) as info:
        download("onnx:tiny", hub=server.base_url, with_test_data=True)

    assert "evil.tar.gz" in str(info.value) or "member" in str(info.value)
    extracted = polyhub_home / "extracted"
    assert not extracted.exists() or list(extracted.iterdir()) == []
    after = {p for p in tmp_path.rglob("*") if p.name in ("x", "passwd", "pipe", "link")}
    assert after == before
    assert not Path("/tmp/polyhub-evil-x").exists()


def test_a_benign_archive_extracts(make_hub, serve) -> None:
    hub = make_hub([HubModel("tiny", tiny_mlp(17))])
    folder = download("onnx:tiny", hub=serve(hub).base_url, with_test_data=True)
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert names[-3:] == [
        "tiny-17/model.onnx",
        "tiny-17/test_data_set_0/input_0.pb",
        "tiny-17/test_data_set_0/output_0.pb",
    ]

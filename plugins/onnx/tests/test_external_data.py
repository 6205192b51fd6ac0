"""Hub models with external data (how every model over 2 GB ships): fetched, laid out, loaded.

The model is a real one built with ``onnx``: its weights saved with
``save_as_external_data`` into ``model.onnx.data``, published as the zoo does,
either inside the entry's ``model_with_data`` tarball (whose sha256 the
manifest gives) or as a file beside ``model_path`` (whose sha256 it does not).
Each is served over HTTP on 127.0.0.1, loaded with onnxruntime, and the forward
pass is compared with numpy.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import polyhub
import pytest
from polyhub import MetadataError, UntrustedError
from polyhub_onnx.demo import evaluate, sample_inputs, tiny_mlp

STEM = "wide-mlp-17"
FOLDER = "ext/wide-mlp/model"
MODEL_PATH = f"{FOLDER}/{STEM}.onnx"
DATA_NAME = "model.onnx.data"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _publish(root: Path, *, tarball: bool, beside: bool) -> onnx.ModelProto:
    """Write a hub with one external-data model under ``root``; return the reference model."""
    reference = tiny_mlp(17, seed=7, features=6, hidden=32, classes=4)
    saved = onnx.ModelProto()
    saved.CopyFrom(reference)
    build = root.parent / f"{root.name}-build"
    build.mkdir()
    onnx.save_model(
        saved,
        str(build / "model.onnx"),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=DATA_NAME,
        size_threshold=0,
    )
    model_bytes = (build / "model.onnx").read_bytes()
    data_bytes = (build / DATA_NAME).read_bytes()
    assert len(data_bytes) == 4 * (6 * 32 + 32 + 32 * 4 + 4)  # every weight is outside
    (root / FOLDER).mkdir(parents=True)
    (root / MODEL_PATH).write_bytes(model_bytes)
    metadata: dict[str, Any] = {
        "model_sha": _sha(model_bytes),
        "model_bytes": len(model_bytes),
        "tags": ["test"],
    }
    if beside:
        (root / FOLDER / DATA_NAME).write_bytes(data_bytes)
    if tarball:
        feeds = sample_inputs(reference)
        archive = _tar_gz(
            {
                f"{STEM}/model.onnx": model_bytes,
                f"{STEM}/{DATA_NAME}": data_bytes,
                f"{STEM}/test_data_set_0/input_0.pb": onnx.numpy_helper.from_array(
                    feeds["x"], "x"
                ).SerializeToString(),
            }
        )
        (root / FOLDER / f"{STEM}.tar.gz").write_bytes(archive)
        metadata.update(
            model_with_data_path=f"{FOLDER}/{STEM}.tar.gz",
            model_with_data_sha=_sha(archive),
            model_with_data_bytes=len(archive),
        )
    entry = {
        "model": "wide-mlp",
        "model_path": MODEL_PATH,
        "onnx_version": "1.19",
        "opset_version": 17,
        "metadata": metadata,
    }
    (root / "ONNX_HUB_MANIFEST.json").write_text(json.dumps([entry]))
    return reference


def _check_forward_pass(session: Any, reference: onnx.ModelProto) -> None:
    feeds = sample_inputs(reference, seed=3)
    got = session.run(None, feeds)
    want = evaluate(reference, feeds)
    assert got[0].shape == (1, 4)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-5)


def _leftovers(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.name.endswith((".tmp", ".part"))]


def test_external_data_from_the_verified_tarball(
    tmp_path: Path, serve, polyhub_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "hub"
    reference = _publish(root, tarball=True, beside=False)
    server = serve(root)
    session = polyhub.load("onnx:wide-mlp", hub=server.base_url, device="cpu")
    _check_forward_pass(session, reference)
    # Every byte came from files the manifest hashes; nothing was looked for beside the model.
    assert f"/{FOLDER}/{STEM}.tar.gz" in server.requests
    assert f"/{FOLDER}/{DATA_NAME}" not in server.requests
    assert not (polyhub_home / "urls").exists()  # no first-seen record: nothing unhashed
    assert _leftovers(polyhub_home) == []
    # Warm: a second load sends no request at all (the cached manifest is fresh,
    # POLYHUB_INDEX_TTL); once it has expired, only the manifest is revalidated.
    before = len(server.requests)
    _check_forward_pass(polyhub.load("onnx:wide-mlp", hub=server.base_url), reference)
    assert server.requests[before:] == []
    monkeypatch.setenv("POLYHUB_INDEX_TTL", "0")
    _check_forward_pass(polyhub.load("onnx:wide-mlp", hub=server.base_url), reference)
    assert server.requests[before:] == ["/ONNX_HUB_MANIFEST.json"]


def test_external_data_beside_the_model(tmp_path: Path, serve, polyhub_home, caplog) -> None:
    root = tmp_path / "hub"
    reference = _publish(root, tarball=False, beside=True)
    server = serve(root)
    session = polyhub.load("onnx:wide-mlp", hub=server.base_url, device="cpu")
    _check_forward_pass(session, reference)
    assert f"/{FOLDER}/{DATA_NAME}" in server.requests
    # The data file has no published sha256: its first-seen one is recorded and enforced.
    assert "publishes no sha256" in caplog.text
    assert len(list((polyhub_home / "urls").iterdir())) == 1
    # The model and its data sit together, under their real names, as regular files.
    path = polyhub.download("onnx:wide-mlp", hub=server.base_url)
    assert sorted(p.name for p in path.parent.iterdir()) == [
        ".polyhub-complete",
        DATA_NAME,
        f"{STEM}.onnx",
    ]
    assert (path.parent / DATA_NAME).read_bytes() == (root / FOLDER / DATA_NAME).read_bytes()
    assert not any(p.is_symlink() for p in path.parent.iterdir())
    assert _leftovers(polyhub_home) == []
    # The same load through runtime="onnx" sees the weights too.
    proto = polyhub.load("onnx:wide-mlp", hub=server.base_url, runtime="onnx")
    assert onnx.numpy_helper.to_array(proto.graph.initializer[0]).shape == (6, 32)


def test_changed_beside_data_is_caught(tmp_path: Path, serve, polyhub_home) -> None:
    root = tmp_path / "hub"
    _publish(root, tarball=False, beside=True)
    server = serve(root)
    polyhub.load("onnx:wide-mlp", hub=server.base_url, device="cpu")
    data = root / FOLDER / DATA_NAME
    data.write_bytes(bytes(reversed(data.read_bytes())))
    with pytest.raises(polyhub.HashMismatchError, match="first seen"):
        polyhub.load("onnx:wide-mlp", hub=server.base_url, force_reload=True)
    assert _leftovers(polyhub_home) == []


def test_missing_external_data_is_named(tmp_path: Path, serve, polyhub_home) -> None:
    root = tmp_path / "hub"
    _publish(root, tarball=False, beside=False)
    server = serve(root)
    with pytest.raises(MetadataError, match=r"model\.onnx\.data.*gave 404"):
        polyhub.load("onnx:wide-mlp", hub=server.base_url, device="cpu")
    assert _leftovers(polyhub_home) == []


def test_beside_data_needs_a_hash_when_hashes_are_required(
    tmp_path: Path, serve, polyhub_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "hub"
    _publish(root, tarball=False, beside=True)
    server = serve(root)
    monkeypatch.setenv("POLYHUB_REQUIRE_HASHES", "1")
    with pytest.raises(UntrustedError, match=r"model\.onnx\.data"):
        polyhub.load("onnx:wide-mlp", hub=server.base_url, device="cpu")
    assert f"/{FOLDER}/{DATA_NAME}" not in server.requests

"""Registries are untrusted and fallible: tampered blobs and dead servers."""

from __future__ import annotations

from pathlib import Path

import polyhub
import pytest
from polyhub._publish import push

from .conftest import Hub, Registry


def test_tampered_blob_is_refused(own_registry: Registry, onnx_hub: Hub, tmp_path: Path) -> None:
    push("onnx:tiny-mlp?opset=13", f"oci://{own_registry.host}/t/tiny:v1")
    card = polyhub.info("onnx:tiny-mlp?opset=13")
    [model] = card.assets_with_role("model")
    data = own_registry.blob_data(str(model.sha256))
    blob = bytearray(data.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    data.write_bytes(bytes(blob))

    polyhub.set_dir(tmp_path / "node")
    with pytest.raises(polyhub.HashMismatchError) as caught:
        polyhub.load(f"oci:{own_registry.host}/t/tiny:v1", device="cpu")
    assert model.sha256 in str(caught.value)
    blobs = tmp_path / "node" / "blobs" / "sha256" / str(model.sha256)[:2] / str(model.sha256)
    assert not blobs.exists(), "a tampered blob reached the cache"
    assert not any((tmp_path / "node" / "tmp").iterdir()), "a half-written file was left behind"


def test_registry_down_mid_pull(own_registry: Registry, onnx_hub: Hub, tmp_path: Path) -> None:
    """The server stops while a blob streams: a PolyhubError, nothing half-written in the cache."""
    from polyhub_oci.client import RegistryClient
    from polyhub_oci.reference import parse_reference

    big = tmp_path / "big.onnx"
    big.write_bytes(b"\0" * (64 << 20))
    import hashlib

    digest = "sha256:" + hashlib.sha256(big.read_bytes()).hexdigest()
    ref = parse_reference(f"oci://{own_registry.host}/t/big")
    RegistryClient(ref).upload_blob(big, digest, big.stat().st_size)

    class Slow:
        """A sink that stops the registry after the first MiB arrived."""

        def __init__(self) -> None:
            self.written = 0

        def write(self, block: bytes) -> int:
            self.written += len(block)
            process = own_registry.process
            if self.written >= 1 << 20 and process is not None:
                own_registry.process = None  # stop it once, here, mid-stream
                process.kill()
                process.wait()
            return len(block)

    with pytest.raises(polyhub.PolyhubError):
        RegistryClient(ref).download_blob(digest, Slow())  # type: ignore[arg-type]

    # And through the public API with the server gone: a PolyhubError naming the registry.
    polyhub.set_dir(tmp_path / "node")
    with pytest.raises(polyhub.DownloadError) as caught:
        polyhub.load(f"oci:{own_registry.host}/t/tiny:v1", device="cpu")
    assert own_registry.host in str(caught.value)

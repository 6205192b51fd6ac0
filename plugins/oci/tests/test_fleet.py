"""A registry as the fleet's shared blob tier (POLYHUB_REGISTRY)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import polyhub
import pytest

from .conftest import Hub, Registry

MODEL = "onnx:tiny-mlp?opset=17"
FILE = "tiny-mlp-17.onnx"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_sixteen_nodes_one_registry(registry: Registry, onnx_hub: Hub, tmp_path: Path) -> None:
    """A pre-warm job fills the registry; 16 nodes with empty caches never touch the hub's files."""
    tier = f"oci://{registry.host}/fleet/blobs"
    env = {
        **os.environ,
        "POLYHUB_REGISTRY": tier,
        "POLYHUB_REGISTRY_PUSH": "1",
        "POLYHUB_ONNX_HUB": onnx_hub.url,
    }
    warm = subprocess.run(
        [sys.executable, "-m", "polyhub", "download", MODEL],
        env={**env, "POLYHUB_HOME": str(tmp_path / "prewarm")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert warm.returncode == 0, warm.stderr
    assert onnx_hub.gets(FILE) == 1
    nodes = [
        subprocess.Popen(
            [sys.executable, "-m", "polyhub", "download", MODEL],
            env={**env, "POLYHUB_HOME": str(tmp_path / f"node{i}")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(16)
    ]
    paths = []
    for node in nodes:
        out, err = node.communicate(timeout=300)
        assert node.returncode == 0, err
        paths.append(Path(out.strip()))
    assert onnx_hub.gets(FILE) == 1, "a node downloaded the model from the hub"
    assert len({_sha(p) for p in paths}) == 1
    assert all(str(p).startswith(str(tmp_path / "node")) for p in paths)


def test_tier_is_untrusted_and_optional(
    own_registry: Registry, onnx_hub: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wrong bytes in the registry, or a dead registry: the hub serves, verified."""
    monkeypatch.setenv("POLYHUB_REGISTRY", f"oci://{own_registry.host}/fleet/blobs")
    monkeypatch.setenv("POLYHUB_REGISTRY_PUSH", "1")
    first = polyhub.download(MODEL)
    sha = first.name
    assert onnx_hub.gets(FILE) == 1
    assert (
        own_registry.blob_data(sha).read_bytes() == first.read_bytes()
    )  # pushed after verification

    data = own_registry.blob_data(sha)
    data.write_bytes(b"evil" + data.read_bytes()[4:])
    polyhub.set_dir(tmp_path / "node-a")
    again = polyhub.download(MODEL)
    assert _sha(again) == sha and onnx_hub.gets(FILE) == 2  # refused the registry, asked the hub

    own_registry.stop()
    polyhub.set_dir(tmp_path / "node-b")
    assert _sha(polyhub.download(MODEL)) == sha
    assert onnx_hub.gets(FILE) == 3

"""Push a model of another hub to a real registry, load it back through ``oci:``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polyhub
import pytest
from polyhub._cli import main
from polyhub._publish import push

from .conftest import Hub, Registry


def _run(session: object) -> np.ndarray:
    feeds = {
        i.name: np.ones([d if isinstance(d, int) else 1 for d in i.shape], np.float32)
        for i in session.get_inputs()  # type: ignore[attr-defined]
    }
    return session.run(None, feeds)[0]  # type: ignore[attr-defined]


def test_onnx_push_and_load_back(registry: Registry, onnx_hub: Hub, tmp_path: Path) -> None:
    ref = push("onnx:tiny-mlp?opset=17", f"oci://{registry.host}/demo/tiny-mlp:v1")
    assert ref.startswith(f"oci://{registry.host}/demo/tiny-mlp:v1@sha256:")
    digest = ref.rsplit("@", 1)[1]
    original = polyhub.load("onnx:tiny-mlp?opset=17", device="cpu")

    polyhub.set_dir(tmp_path / "other-node")  # an empty cache: everything from the registry
    before = dict(onnx_hub.counts)
    for address in (
        f"oci:{registry.host}/demo/tiny-mlp:v1",
        f"oci:{registry.host}/demo/tiny-mlp@{digest}",
    ):
        session = polyhub.load(address, device="cpu")
        np.testing.assert_allclose(_run(session), _run(original))
    assert onnx_hub.counts == before, "the load went to the hub, not the registry"

    card = polyhub.info(f"oci:{registry.host}/demo/tiny-mlp:v1")
    assert card.source == "oci"
    assert card.metadata["oci"]["source"].startswith("onnx:tiny-mlp")
    [model] = card.assets_with_role("model")
    assert (
        model.format == "onnx"
        and model.sha256 == polyhub.info("onnx:tiny-mlp?opset=17").assets[0].sha256
    )


def test_second_push_uploads_nothing(
    registry: Registry, onnx_hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    first = push("onnx:add-relu", f"oci://{registry.host}/demo/add-relu:a")
    blobs = sorted(
        p.stat().st_mtime_ns for p in (registry.storage / "docker/registry/v2/blobs").rglob("data")
    )
    # The second push through the command line, as a user would.
    assert main(["push", "onnx:add-relu", f"oci://{registry.host}/demo/add-relu:a"]) == 0
    assert capsys.readouterr().out.strip() == first
    again = sorted(
        p.stat().st_mtime_ns for p in (registry.storage / "docker/registry/v2/blobs").rglob("data")
    )
    assert again == blobs


def test_manifest_is_modelpack(registry: Registry, onnx_hub: Hub) -> None:
    import requests

    push("onnx:add-relu", f"oci://{registry.host}/demo/layout:v1")
    manifest = requests.get(
        f"http://{registry.host}/v2/demo/layout/manifests/v1",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=5,
    ).json()
    assert manifest["artifactType"] == "application/vnd.cncf.model.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.cncf.model.config.v1+json"
    card = polyhub.info("onnx:add-relu")
    assert [layer["digest"] for layer in manifest["layers"]] == [
        f"sha256:{a.sha256}" for a in card.assets
    ]
    assert {layer["mediaType"] for layer in manifest["layers"]} == {
        "application/vnd.cncf.model.weight.v1.raw"
    }
    roles = [layer["annotations"]["org.polyhub.role"] for layer in manifest["layers"]]
    assert roles == [a.role for a in card.assets]
    assert manifest["annotations"]["org.opencontainers.image.source"].startswith("onnx:add-relu")
    config = requests.get(
        f"http://{registry.host}/v2/demo/layout/blobs/{manifest['config']['digest']}", timeout=5
    ).json()
    assert config["polyhub"]["card"]["name"] == card.name
    assert config["modelfs"]["diffIds"] == [layer["digest"] for layer in manifest["layers"]]
    json.dumps(config)


def test_push_to_a_digest_is_refused_and_moves_no_tag(registry: Registry, onnx_hub: Hub) -> None:
    repo = f"oci://{registry.host}/demo/pinned"
    first = push("onnx:add-relu", f"{repo}:latest")
    with pytest.raises(polyhub.AddressError, match="not a digest"):
        push("onnx:tiny-mlp?opset=17", f"{repo}@sha256:{'0' * 64}")
    # ':latest' still names the first push (the digest was not dropped to push there).
    card = polyhub.info(f"oci:{registry.host}/demo/pinned:latest")
    assert first.endswith(card.metadata["oci"]["digest"]) and card.name == "add-relu"

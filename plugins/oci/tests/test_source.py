"""The ``oci:`` source: references, info and listing without layers, foreign ModelPack artifacts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polyhub
import pytest
from polyhub._publish import push
from polyhub_oci.client import RegistryClient, dumps
from polyhub_oci.reference import parse_reference

from .conftest import Hub, Registry


@pytest.mark.parametrize(
    ("text", "registry", "repo", "tag", "digest"),
    [
        ("oci://r.example.com/models/resnet50:v1", "r.example.com", "models/resnet50", "v1", None),
        ("r.example.com:5000/a/b", "r.example.com:5000", "a/b", None, None),
        ("oci:localhost/m@sha256:" + "a" * 64, "localhost", "m", None, "sha256:" + "a" * 64),
    ],
)
def test_references(
    text: str, registry: str, repo: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repo, tag, digest)


@pytest.mark.parametrize(
    "bad", ["oci://resnet50:v1", "oci://r.example.com/Upper/x", "oci://r.example.com/x@sha256:12"]
)
def test_bad_references_are_address_errors(bad: str) -> None:
    with pytest.raises(polyhub.AddressError):
        parse_reference(bad)


def _blobs(home: Path) -> set[str]:
    return (
        {p.name for p in (home / "blobs").rglob("*") if p.is_file()}
        if (home / "blobs").exists()
        else set()
    )


def test_info_and_list_read_no_layers(registry: Registry, onnx_hub: Hub, tmp_path: Path) -> None:
    push("onnx:tiny-mlp?opset=13", f"oci://{registry.host}/list/tiny:v13")
    push("onnx:tiny-mlp?opset=17", f"oci://{registry.host}/list/tiny:v17")
    polyhub.set_dir(tmp_path / "reader")
    cards = polyhub.list_models("oci", repository=f"oci://{registry.host}/list/tiny")
    assert sorted(str(c.address) for c in cards) == [
        f"oci:{registry.host}/list/tiny:v13",
        f"oci:{registry.host}/list/tiny:v17",
    ]
    card = polyhub.info(f"oci:{registry.host}/list/tiny:v17")
    layer_shas = {a.sha256 for a in card.assets}
    assert layer_shas and not layer_shas & _blobs(tmp_path / "reader"), "a layer was downloaded"
    # Offline, the cached manifest still answers.
    assert polyhub.info(f"oci:{registry.host}/list/tiny:v17", offline=True).assets == card.assets
    with pytest.raises(polyhub.ModelNotFoundError):
        polyhub.info(f"oci:{registry.host}/list/tiny:nope")
    with pytest.raises(polyhub.RevisionNotFoundError):
        polyhub.info(f"oci:{registry.host}/list/tiny@sha256:" + "0" * 64)


def test_artifact_of_another_modelpack_tool_loads(registry: Registry, tmp_path: Path) -> None:
    """No polyhub card in the config: layers with a filepath annotation and a known suffix load."""
    from polyhub_onnx.demo import add_relu

    model = tmp_path / "model.onnx"
    model.write_bytes(add_relu(14).SerializeToString())
    digest = "sha256:" + hashlib.sha256(model.read_bytes()).hexdigest()
    ref = parse_reference(f"oci://{registry.host}/foreign/addrelu")
    client = RegistryClient(ref)
    client.upload_blob(model, digest, model.stat().st_size)
    config = dumps(
        {
            "descriptor": {"name": "add-relu", "version": "1"},
            "config": {"format": "onnx"},
            "modelfs": {"type": "layers", "diffIds": [digest]},
        }
    )
    config_file = tmp_path / "config.json"
    config_file.write_bytes(config)
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    client.upload_blob(config_file, config_digest, len(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.cncf.model.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.cncf.model.config.v1+json",
            "digest": config_digest,
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.cncf.model.weight.v1.raw",
                "digest": digest,
                "size": model.stat().st_size,
                "annotations": {"org.cncf.model.filepath": "model.onnx"},
            }
        ],
    }
    client.put_manifest(json.dumps(manifest).encode(), "v1")
    card = polyhub.info(f"oci:{registry.host}/foreign/addrelu:v1")
    assert card.name == "add-relu" and card.assets[0].format == "onnx"
    session = polyhub.load(f"oci:{registry.host}/foreign/addrelu:v1", device="cpu")
    feeds = {
        i.name: np.full([d if isinstance(d, int) else 1 for d in i.shape], -1.0, np.float32)
        for i in session.get_inputs()
    }
    assert session.run(None, feeds)[0].max() == 0.0  # relu of negatives

"""A registry artifact may not borrow a trusted repository's name for code from elsewhere.

The code layer's annotations name the origin (``code.url``) and a trust
identity (``code.repo_id``); both are the artifact's word. The plugin once kept
the annotated ``repo_id`` whenever it was trusted, so an artifact naming
``github.com/megengine/models`` (trusted by MegEngine's source) for code at
another URL ran it without asking.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import polyhub
import pytest
from polyhub_oci.client import RegistryClient, dumps
from polyhub_oci.reference import parse_reference

from .conftest import Registry


def _blob(client: RegistryClient, tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client.upload_blob(path, digest, len(data))
    return digest


def test_an_annotated_repo_id_that_is_not_the_urls_is_not_trusted(
    registry: Registry, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    hubconf = f"open({str(marker)!r}, 'w').write('ran')\n\ndef net():\n    return 'forged'\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hubconf.py")
        info.size = len(hubconf.encode())
        tar.addfile(info, io.BytesIO(hubconf.encode()))
    ref = parse_reference(f"oci://{registry.host}/forged/net")
    client = RegistryClient(ref)
    layer = _blob(client, tmp_path, "code.tar", buffer.getvalue())
    config = dumps({"descriptor": {"name": "net"}, "config": {}, "modelfs": {"diffIds": []}})
    config_digest = _blob(client, tmp_path, "config.json", config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.cncf.model.manifest.v1+json",
        "annotations": {"org.opencontainers.image.source": "megengine:megengine/models/net"},
        "config": {
            "mediaType": "application/vnd.cncf.model.config.v1+json",
            "digest": config_digest,
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.cncf.model.code.v1.tar",
                "digest": layer,
                "size": len(buffer.getvalue()),
                "annotations": {
                    "org.polyhub.code.url": "https://evil.example/models.git",
                    "org.polyhub.code.commit": "a" * 40,
                    "org.polyhub.code.repo_id": "github.com/megengine/models",
                    "org.polyhub.code.kind": "megengine-hubconf",
                    "org.polyhub.code.entry": "net",
                    "org.polyhub.code.file": "hubconf.py",
                },
            }
        ],
    }
    client.put_manifest(json.dumps(manifest).encode(), "v1")
    address = f"oci:{registry.host}/forged/net:v1"
    card = polyhub.info(address)
    assert card.code is not None
    assert card.code.repo_id == f"{registry.host}/forged/net"
    with pytest.raises(polyhub.UntrustedError):
        polyhub.load(address, device="cpu", trust_repo=False)
    assert not marker.exists()

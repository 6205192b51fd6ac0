"""The CNCF ModelPack layout: a polyhub card packed as an OCI artifact, and back.

Packing (``polyhub push``)::

    manifest  artifactType application/vnd.cncf.model.manifest.v1+json
      config  application/vnd.cncf.model.config.v1+json   ModelPack config + the polyhub card
      layers  application/vnd.cncf.model.weight.v1.raw     one per asset, digest = its sha256
              application/vnd.cncf.model.code.v1.tar       the code checkout at its commit
      annotations: org.opencontainers.image.source / .revision, org.polyhub.*

Everything is deterministic (sorted JSON, a tar with fixed owners and times),
so pushing one model twice gives the same digests and uploads nothing new.
Reading accepts artifacts made by other ModelPack tools: layers become assets
named by their ``org.cncf.model.filepath`` (or title) annotation.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from polyhub import Address, Asset, CodeRef, IOPort, MetadataError, ModelCard

from .client import OCI_MANIFEST, dumps
from .reference import Reference

log = logging.getLogger("polyhub.oci")

ARTIFACT_TYPE = "application/vnd.cncf.model.manifest.v1+json"
CONFIG_TYPE = "application/vnd.cncf.model.config.v1+json"
WEIGHT_RAW = "application/vnd.cncf.model.weight.v1.raw"
CODE_TAR = "application/vnd.cncf.model.code.v1.tar"
FILEPATH = "org.cncf.model.filepath"
TITLE = "org.opencontainers.image.title"
SOURCE = "org.opencontainers.image.source"
REVISION = "org.opencontainers.image.revision"
P = "org.polyhub."
# Layer types whose payload is a file a runtime may load as it is.
_LOADABLE = (
    WEIGHT_RAW,
    "application/vnd.cncf.model.weight.config.v1.raw",
    "application/octet-stream",
)


def card_json(card: ModelCard) -> dict[str, Any]:
    """The card as JSON, with its hub's raw metadata (``to_dict`` leaves that out)."""
    data = card.to_dict()
    data["metadata"] = json.loads(json.dumps(dict(card.metadata), default=str))
    file = data.get("file")
    if isinstance(file, str) and "://" not in file:
        # A path in the pusher's cache (a hubconf.py checkout): meaningless on
        # other machines, and it would give each pushing host its own digest.
        data["file"] = None
    return data


def code_tar(root: Path) -> bytes:
    """A reproducible tar of a checkout: sorted, no ``.git``, owner 0, time 0, modes kept."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != ".git" and d != "__pycache__")
            for name in sorted(filenames):
                if name == ".polyhub-complete":
                    continue  # the core's extraction marker, not code
                path = Path(dirpath) / name
                if path.is_symlink() or not path.is_file():
                    # The core's safe extraction refuses links: say what is left out.
                    log.warning("code layer: left out %s (a link or special file)", path)
                    continue
                info = tarfile.TarInfo(str(path.relative_to(root)))
                info.size = path.stat().st_size
                info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
                info.mtime = 0
                with open(path, "rb") as f:
                    tar.addfile(info, f)
    return buf.getvalue()


def build_config(card: ModelCard, diff_ids: list[str]) -> bytes:
    model_assets = card.assets_with_role("model")
    descriptor = {
        "name": card.name,
        "version": card.version or "",
        "description": card.summary,
        "authors": [card.publisher] if card.publisher else [],
        "licenses": [card.license] if card.license else [],
        "sourceURL": card.code.url if card.code else (card.file or ""),
        "revision": card.code.revision if card.code else (card.address.revision or ""),
    }
    config = {
        "descriptor": {k: v for k, v in descriptor.items() if v not in ("", [])},
        "config": {
            "format": (model_assets[0].format if model_assets else None) or "",
            "framework": card.framework or "",
        },
        "modelfs": {"type": "layers", "diffIds": diff_ids},
        "polyhub": {"card": card_json(card)},
    }
    return dumps(config)


def build_manifest(
    config_digest: str,
    config_size: int,
    layers: list[dict[str, Any]],
    annotations: Mapping[str, str],
) -> bytes:
    return dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": ARTIFACT_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": config_size},
            "layers": layers,
            "annotations": dict(annotations),
        }
    )


def asset_layer(asset: Asset) -> dict[str, Any]:
    annotations = {
        FILEPATH: asset.name,
        TITLE: asset.name.rsplit("/", 1)[-1],
        P + "role": asset.role,
        P + "url": asset.url,
    }
    if asset.format:
        annotations[P + "format"] = asset.format
    return {
        "mediaType": WEIGHT_RAW,
        "digest": f"sha256:{asset.sha256}",
        "size": asset.size,
        "annotations": annotations,
    }


# -- reading ------------------------------------------------------------------


def parse_manifest(body: bytes, where: str) -> dict[str, Any]:
    try:
        manifest = json.loads(body)
    except ValueError:
        raise MetadataError("the manifest is not JSON", file=where) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("layers"), list):
        kind = manifest.get("mediaType") if isinstance(manifest, dict) else None
        raise MetadataError(
            f"not an image manifest with layers (mediaType {kind!r}); "
            "an image index must be pointed at one of its manifests by digest",
            file=where,
            field="layers",
        )
    return manifest


def card_from_artifact(
    ref: Reference,
    address: Address,
    manifest: dict[str, Any],
    config: dict[str, Any] | None,
    *,
    digest: str,
    suffix_formats: Mapping[str, str],
) -> ModelCard:
    """The card of an artifact: the pushed polyhub card when there is one, else built from layers.

    Asset URLs become ``oci://REGISTRY/REPO@sha256:...`` so the cache asks
    this plugin for them; a code layer's commit and origin come from its
    annotations.
    """
    where = f"oci://{ref.name}@{digest}"
    annotations = manifest.get("annotations") or {}
    pushed = (config or {}).get("polyhub", {}).get("card") if isinstance(config, dict) else None
    layers = [layer for layer in manifest["layers"] if isinstance(layer, dict)]
    assets: list[Asset] = []
    code: CodeRef | None = None
    code_layer: dict[str, Any] | None = None
    config_format = (
        ((config or {}).get("config") or {}).get("format") if isinstance(config, dict) else None
    )
    for layer in layers:
        media = str(layer.get("mediaType", ""))
        layer_digest = str(layer.get("digest", ""))
        if not layer_digest.startswith("sha256:") or len(layer_digest) != 71:
            raise MetadataError(
                f"layer digest {layer_digest!r} is not sha256", file=where, field="layers"
            )
        notes = layer.get("annotations") or {}
        if media.startswith("application/vnd.cncf.model.code."):
            code_layer = layer
            continue
        name = str(notes.get(FILEPATH) or notes.get(TITLE) or layer_digest[7:19])
        fmt = notes.get(P + "format")
        if fmt is None:
            suffix = os.path.splitext(name)[1].lower()
            fmt = (
                suffix_formats.get(suffix)
                or (config_format if media in _LOADABLE else None)
                or None
            )
        role = notes.get(P + "role") or (
            "model"
            if media in _LOADABLE or media.startswith("application/vnd.cncf.model.weight.v1")
            else "other"
        )
        assets.append(
            Asset(
                url=f"oci://{ref.name}@{layer_digest}",
                sha256=layer_digest[7:],
                size=int(layer["size"]) if isinstance(layer.get("size"), int) else None,
                format=str(fmt) if fmt else None,
                name=name,
                role=str(role),
            )
        )
    if code_layer is not None:
        notes = code_layer.get("annotations") or {}
        code = CodeRef(
            url=str(notes.get(P + "code.url", "")),
            revision=str(notes.get(P + "code.commit", "")) or None,
            subdir=str(notes.get(P + "code.subdir", "")),
            entry=str(notes.get(P + "code.entry", "")),
            kind=str(notes.get(P + "code.kind", "")),
            repo_id=str(notes.get(P + "code.repo_id", "")),
            # Absent from artifacts pushed before the core imported code itself: defaults.
            file=str(notes.get(P + "code.file", "")),
            function=str(notes.get(P + "code.function", "")),
            fallback_revisions=tuple(
                r for r in str(notes.get(P + "code.fallback_revisions", "")).split(",") if r
            ),
        )
    meta: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    if isinstance(pushed, dict):
        meta = dict(pushed.get("metadata") or {})
        fields = {
            "name": pushed.get("name") or ref.repository,
            "version": pushed.get("version"),
            "dataset": pushed.get("dataset"),
            "summary": pushed.get("summary") or "",
            "tags": tuple(pushed.get("tags") or ()),
            "framework": pushed.get("framework"),
            "publisher": pushed.get("publisher"),
            "license": pushed.get("license"),
            "inputs": tuple(_ports(pushed.get("inputs"))),
            "outputs": tuple(_ports(pushed.get("outputs"))),
        }
        # Keep the pushed card's names and formats for the layers it described.
        by_sha = {a.get("sha256"): a for a in pushed.get("assets") or [] if isinstance(a, dict)}
        try:
            assets = [
                Asset(
                    url=a.url,
                    sha256=a.sha256,
                    size=a.size,
                    format=(by_sha.get(a.sha256) or {}).get("format") or a.format,
                    name=(by_sha.get(a.sha256) or {}).get("name") or a.name,
                    role=(by_sha.get(a.sha256) or {}).get("role") or a.role,
                    # What the original hub published of the hash, kept for lock files.
                    sha256_prefix=(by_sha.get(a.sha256) or {}).get("sha256_prefix"),
                )
                for a in assets
            ]
        except MetadataError as exc:  # a prefix the layer's digest contradicts
            raise MetadataError(str(exc), file=where, field="config.polyhub.card.assets") from None
    else:
        descriptor = (config or {}).get("descriptor") or {} if isinstance(config, dict) else {}
        fields = {
            "name": descriptor.get("name") or ref.repository.rsplit("/", 1)[-1],
            "version": descriptor.get("version"),
            "summary": descriptor.get("description") or "",
            "framework": None,
        }
    meta["oci"] = {
        "reference": str(ref),
        "digest": digest,
        "source": annotations.get(SOURCE),
        "revision": annotations.get(REVISION),
        "code_layer": None if code_layer is None else code_layer.get("digest"),
    }
    return ModelCard(
        address=address,
        source="oci",
        assets=tuple(assets),
        code=code,
        file=where,
        metadata=meta,
        **fields,
    )


def _ports(raw: Any) -> list[IOPort]:
    ports = []
    for p in raw or []:
        if isinstance(p, dict) and p.get("name"):
            shape = p.get("shape")
            ports.append(
                IOPort(
                    str(p["name"]),
                    tuple(shape) if isinstance(shape, list) else None,
                    str(p.get("type") or ""),
                )
            )
    return ports

"""Hook implementations of polyhub-folder (entry point ``folder``).

Only the standard library and polyhub at import time: YAML and numpy are
imported inside the hooks that need them, so registering the plugin stays free.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from polyhub import (
    Asset,
    Device,
    FormatInfo,
    MetadataError,
    ModelCard,
    ModelNotFoundError,
    RuntimeInfo,
    SourceInfo,
    UnsafePathError,
    UnsupportedError,
    hookimpl,
    parse_address,
    safe_relpath,
)

SCHEME = "folder"
HUB_ENV = "POLYHUB_FOLDER_HUB"


class LinearModel:
    """``model(x) = x @ W + b``: what the ``numpy`` runtime makes of an ``.npz``."""

    def __init__(self, weight: Any, bias: Any) -> None:
        self.weight = weight
        self.bias = bias

    def __call__(self, x: Any) -> Any:
        return x @ self.weight + self.bias


def _hub(address: Any) -> Path:
    where = address.option("hub") or os.environ.get(HUB_ENV)
    if not where:
        raise ModelNotFoundError(f"{address}: no folder hub; set {HUB_ENV} or pass hub=")
    return Path(where)


def _entries(hub: Path) -> list[dict[str, Any]]:
    import yaml

    index = hub / "index.yaml"
    try:
        data = yaml.safe_load(index.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelNotFoundError(f"no index.yaml in the folder hub {hub}") from None
    except yaml.YAMLError as exc:
        raise MetadataError(f"not YAML: {exc}", file=str(index)) from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        raise MetadataError("expected a 'models' list", file=str(index), field="models")
    for i, entry in enumerate(models):
        for key in ("name", "file", "sha256", "format"):
            if not isinstance(entry, dict) or not isinstance(entry.get(key), str):
                raise MetadataError(
                    "missing or not a string", file=str(index), entry=str(i), field=key
                )
    return models


def _card(hub: Path, entry: dict[str, Any]) -> ModelCard:
    try:  # the path comes from the hub: it must stay inside the folder
        rel = str(safe_relpath(entry["file"]))
    except UnsafePathError as exc:
        where = {"file": str(hub / "index.yaml"), "entry": entry["name"], "field": "file"}
        raise MetadataError(str(exc), **where) from None
    return ModelCard(
        address=parse_address(f"{SCHEME}:{entry['name']}"),
        name=entry["name"],
        source=SCHEME,
        summary=entry.get("summary", ""),
        assets=(
            Asset(
                url=(hub / rel).resolve().as_uri(),
                sha256=entry["sha256"],
                format=entry["format"],
                name=rel,
            ),
        ),
        metadata=entry,
    )


@hookimpl
def polyhub_register_sources(registry: Any) -> None:
    registry.add(
        SourceInfo(
            scheme=SCHEME, summary="a folder with index.yaml", options=("hub",), hub_env=HUB_ENV
        )
    )


@hookimpl
def polyhub_register_formats(registry: Any) -> None:
    registry.add(FormatInfo(name="npz", summary="numpy .npz arrays", suffixes=(".npz",)))


@hookimpl
def polyhub_register_runtimes(registry: Any) -> None:
    registry.add(
        RuntimeInfo(
            name="numpy", formats=("npz",), devices=("cpu",), summary="W, b as a linear model"
        )
    )


@hookimpl
def polyhub_source_resolve(address: Any, context: Any) -> ModelCard:
    hub = _hub(address)
    for entry in _entries(hub):
        if entry["name"] == address.path:
            return _card(hub, entry)
    raise ModelNotFoundError(f"{address}: no model named {address.path!r} in {hub / 'index.yaml'}")


@hookimpl
def polyhub_source_list(scheme: str, filters: Any, context: Any) -> list[ModelCard]:
    hub = _hub(parse_address(f"{SCHEME}:*", **dict(filters)))
    return [_card(hub, entry) for entry in _entries(hub)]


@hookimpl
def polyhub_source_help(card: ModelCard, context: Any) -> str:
    return f"{card.name}: {card.summary or 'no summary'} ({card.assets[0].name})"


@hookimpl
def polyhub_format_detect(path: Path, head: bytes) -> str | None:
    # An .npz is a zip whose members are .npy arrays; a plain zip is not one.
    if not head.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    return "npz" if names and all(n.endswith(".npy") for n in names) else None


@hookimpl
def polyhub_runtime_devices(runtime: str) -> list[Device]:
    return [Device("cpu")]


@hookimpl
def polyhub_runtime_load(request: Any) -> LinearModel:
    if request.device.kind != "cpu":
        raise UnsupportedError(f"the numpy runtime runs on cpu only, not {request.device}")
    import numpy as np

    try:
        with np.load(request.path, allow_pickle=False) as arrays:
            return LinearModel(arrays["W"], arrays["b"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise MetadataError(
            f"not an .npz with arrays W and b: {exc}", file=str(request.path)
        ) from None

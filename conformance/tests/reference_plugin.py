"""A minimal, complete polyhub plugin that must pass every suite of the kit.

No framework: the "refhub" source reads an ``index.json`` served over HTTP
(base URL in ``REFHUB_URL``), the "txtw" format is plain-text weights with a
magic first line, and the "txtw" runtime turns them into a tiny linear model
(``model(x) = sum(w * x)``). The kit's pytester tests copy this file and break
it on purpose, one way at a time.
"""

from __future__ import annotations

import json
import os
from typing import Any

import polyhub
from polyhub import (
    Asset,
    Device,
    FormatInfo,
    MetadataError,
    ModelCard,
    ModelNotFoundError,
    RuntimeInfo,
    SourceInfo,
    UnsupportedError,
    hookimpl,
)

SCHEME = "refhub"
CODE_FORMAT = "txtw-code"
MAGIC = b"POLYHUB-TXTW 1\n"


class LinearModel:
    """What the runtime returns: weights and a call."""

    def __init__(self, weights: list[float]) -> None:
        self.weights = weights

    def __call__(self, inputs: list[float]) -> float:
        return sum(w * x for w, x in zip(self.weights, inputs, strict=False))


def _base() -> str:
    url = os.environ.get("REFHUB_URL")
    if not url:
        raise ModelNotFoundError("set REFHUB_URL to the refhub base URL")
    return url.rstrip("/")


def _index(context: Any) -> list[dict[str, Any]]:
    url = f"{_base()}/index.json"
    try:
        data = json.loads(context.fetch_index(url))
    except ValueError as exc:
        raise MetadataError(f"not JSON: {exc}", file=url) from None
    return list(data["models"])


def _card(entry: dict[str, Any]) -> ModelCard:
    return ModelCard(
        address=polyhub.parse_address(f"{SCHEME}:{entry['name']}"),
        name=entry["name"],
        source=SCHEME,
        summary=entry.get("summary", ""),
        assets=(
            Asset(
                url=f"{_base()}/{entry['file']}",
                sha256=entry["sha256"],
                size=entry["size"],
                format="txtw",
                name=entry["file"],
            ),
        ),
    )


@hookimpl
def polyhub_register_sources(registry: Any) -> None:
    registry.add(SourceInfo(scheme=SCHEME, summary="the kit's reference hub", hub_env="REFHUB_URL"))


@hookimpl
def polyhub_register_formats(registry: Any) -> None:
    registry.add(FormatInfo(name="txtw", summary="plain-text weights", suffixes=(".txtw",)))


@hookimpl
def polyhub_register_runtimes(registry: Any) -> None:
    registry.add(
        RuntimeInfo(
            name="txtw",
            formats=("txtw", CODE_FORMAT),
            devices=("cpu",),
            # A code-only card: its weights come from its code, which the core imports.
            code_formats=(CODE_FORMAT,),
        )
    )


@hookimpl
def polyhub_source_resolve(address: Any, context: Any) -> ModelCard:
    for entry in _index(context):
        if entry["name"] == address.path:
            return _card(entry)
    raise ModelNotFoundError(f"{address} is not in the refhub index")


@hookimpl
def polyhub_source_list(scheme: str, filters: Any, context: Any) -> list[ModelCard]:
    return [_card(entry) for entry in _index(context)]


@hookimpl
def polyhub_source_help(card: ModelCard, context: Any) -> str:
    return f"{card.name}: {card.summary or 'a linear model'}"


@hookimpl
def polyhub_format_detect(path: Any, head: bytes) -> str | None:
    return "txtw" if head.startswith(MAGIC) else None


@hookimpl
def polyhub_runtime_devices(runtime: str) -> list[Device]:
    return [Device("cpu")]


@hookimpl
def polyhub_runtime_load(request: Any) -> LinearModel:
    if request.device.kind != "cpu":
        raise UnsupportedError(f"the txtw runtime runs on cpu only, not {request.device}")
    if request.format == CODE_FORMAT:
        if request.code is None:
            raise MetadataError("a txtw-code card needs code", file=str(request.card.address))
        with request.code.activate():
            return LinearModel([float(w) for w in request.code.function()])
    data = request.path.read_bytes()
    if not data.startswith(MAGIC):
        raise MetadataError("not a txtw file (no magic line)", file=str(request.path))
    try:
        weights = [float(x) for x in data[len(MAGIC) :].split()]
    except ValueError as exc:
        raise MetadataError(f"bad weight: {exc}", file=str(request.path)) from None
    return LinearModel(weights)

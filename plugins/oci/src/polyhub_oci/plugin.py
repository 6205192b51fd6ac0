"""polyhub-oci hook implementations: the ``oci:`` source, ``polyhub push oci://...``, the blob tier.

This is the entry-point module (group ``polyhub``, name ``oci``). It imports
neither ``oras`` nor ``requests``: each hook imports the module that works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polyhub import SourceInfo, hookimpl

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from polyhub import Address, Context, ModelCard, SourceRegistry

SCHEME = "oci"


@hookimpl
def polyhub_register_sources(registry: SourceRegistry) -> None:
    registry.add(
        SourceInfo(
            scheme=SCHEME,
            summary="OCI registries: models packed as CNCF ModelPack artifacts (REGISTRY/REPO:TAG)",
            options=(),
        )
    )


@hookimpl
def polyhub_source_resolve(address: Address, context: Context) -> ModelCard | None:
    from . import store

    return store.resolve(address, context)


@hookimpl
def polyhub_source_list(
    scheme: str, filters: Mapping[str, Any], context: Context
) -> list[ModelCard] | None:
    from . import store

    return store.list_cards(filters, context)


@hookimpl
def polyhub_source_help(card: ModelCard, context: Context) -> str | None:
    oci = card.metadata.get("oci", {})
    lines = [
        card.summary or card.name,
        "",
        f"OCI artifact {oci.get('reference')} ({oci.get('digest')})",
    ]
    if oci.get("source"):
        lines.append(f"pushed from {oci['source']} at revision {oci.get('revision') or '-'}")
    return "\n".join(lines)


@hookimpl
def polyhub_push(
    card: ModelCard, files: Mapping[str, Path], target: str, context: Context
) -> str | None:
    if not target.startswith("oci:"):
        return None
    from . import store

    return store.push(card, files, target, context)


@hookimpl
def polyhub_blob_fetch(url: str, sha256: str, size: int | None, dest: Path) -> bool | None:
    import os

    if not url.startswith("oci://") and not os.environ.get("POLYHUB_REGISTRY"):
        return None
    from . import store

    return store.blob_fetch(url, sha256, size, dest)


@hookimpl
def polyhub_blob_stored(url: str, sha256: str, size: int, path: Path) -> None:
    from . import store

    store.blob_stored(url, sha256, size, path)

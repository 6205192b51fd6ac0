"""Pinning a model and publishing it elsewhere (``polyhub push``).

:func:`pin` is shared by ``polyhub push`` and ``polyhub lock``: it resolves an
address, fetches and verifies every asset, and pins the code repository to a
commit, so what is pushed or locked is exactly what a load would use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ._address import Address, parse_address
from ._config import read_config
from ._context import Context
from ._errors import UnsupportedError
from ._values import CodeRef, ModelCard

__all__ = ["Pinned", "pin", "push"]


@dataclass(frozen=True)
class Pinned:
    """A resolved model with its verified files and its code pinned to a commit.

    :ivar card: the card, ``card.code.revision`` replaced by the commit.
    :ivar files: local path of each asset, by sha256.
    :ivar sizes: size in bytes of each asset, by sha256.
    :ivar code_path: the checkout of the code at that commit, or ``None``.
    :ivar asked_revision: the code revision the hub named (a branch, a tag), before pinning.
    """

    card: ModelCard
    files: dict[str, Path]
    code_path: Path | None
    asked_revision: str | None


def pin(address: str | Address, context: Context, **options: Any) -> Pinned:
    """Resolve ``address``, fetch and verify every asset, pin the code to a commit.

    Assets without a published sha256 get the one of the downloaded bytes.

    :raises polyhub.PolyhubError: whatever resolving or fetching raises.
    """
    from ._hashing import file_sha256
    from ._plugins import default_plugins

    plugins = default_plugins()
    card = plugins.resolve(parse_address(address, **options), context)
    files: dict[str, Path] = {}
    assets = []
    for asset in card.assets:
        path = plugins.fetch(card, asset, context)
        if asset.sha256 is None or asset.size is None:
            # A blob of the cache is named by the sha256 it was verified to have while
            # it streamed in: no need to read gigabytes again.
            blob = context.cache.unnamed(path)
            cached = blob.parent.parent == context.cache.root / "blobs" / "sha256"
            asset = replace(
                asset,
                sha256=asset.sha256 or (blob.name if cached else file_sha256(path)),
                size=asset.size if asset.size is not None else path.stat().st_size,
            )
        files[str(asset.sha256)] = path
        assets.append(asset)
    code_path = None
    asked = None
    code = card.code
    if code is not None:
        asked = code.revision
        code, code_path = _pin_code(code, context)
    return Pinned(card.replace(assets=tuple(assets), code=code), files, code_path, asked)


def _pin_code(code: CodeRef, context: Context) -> tuple[CodeRef, Path]:
    """``code`` pinned to the commit whose checkout will run, and that checkout.

    A reference that names its file is pinned where the file is (a fallback
    revision when the asked one lacks it: the commit recorded is the code that
    runs); nothing of the code runs.
    """
    from ._errors import MetadataError
    from ._repocode import locate

    if code.file:
        try:
            root, commit, pinned = locate(context, code)
        except MetadataError:
            pass  # the load says so; the asked revision is pinned as it is
        else:
            if commit is not None:
                return pinned, root
    done = context.checkout(code.url, code.revision)
    return replace(code, revision=done.commit), Path(done.path)


def push(address: str | Address, target: str, *, context: Context | None = None) -> str:
    """Publish the model at ``address`` to ``target`` (``oci://REGISTRY/REPO[:TAG]``).

    Every asset is fetched and verified first, and the code pinned to a commit.

    :returns: the published reference, with its digest.
    :raises polyhub.UnsupportedError: no installed plugin publishes to ``target``.
    """
    from ._plugins import default_plugins

    context = context or default_plugins().context(read_config())
    pinned = pin(address, context)
    result = default_plugins().push(pinned.card, pinned.files, target, context)
    if result is None:
        raise UnsupportedError(
            f"no installed plugin publishes to {target!r} (oci://... needs polyhub-oci)"
        )
    return str(result)

"""Lock files: every model of a set pinned, so a load anywhere gets the same bytes and code.

``polyhub lock ADDRESS... -o polyhub.lock`` writes, per model, the address,
every asset (URL, sha256, size) and the code repository with its commit.
``polyhub sync`` fetches all of it; ``polyhub.load(address, lock=PATH)``
refuses a model whose assets or code differ from the lock, and runs the
locked commit of the code even when the hub names a branch that moved since.

The file is JSON (stable key order, one field per line) so it diffs well in
review::

    {"version": 1, "models": [{"address": "onnx:mnist", "card": "onnx:mnist",
      "source": "onnx", "assets": [{"name": ..., "url": ..., "sha256": ..., "size": ...}],
      "code": {"url": ..., "revision": "main", "commit": "<40 hex>", "repo_id": ...}}]}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ._atomic import atomic_write
from ._context import Context
from ._errors import HashMismatchError, MetadataError, PolyhubError
from ._values import ModelCard

__all__ = [
    "LockFile",
    "LockMismatchError",
    "LockedModel",
    "apply_lock",
    "create",
    "read",
    "sync",
    "write",
]

VERSION = 1


class LockMismatchError(PolyhubError):
    """A model differs from what the lock file pinned (another asset, hash, size or commit)."""

    __module__ = "polyhub"


@dataclass(frozen=True)
class LockedModel:
    """One locked model: the address as written, the canonical one, assets and code."""

    address: str
    card: str
    source: str
    assets: tuple[dict[str, Any], ...]
    code: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "card": self.card,
            "source": self.source,
            "assets": list(self.assets),
            "code": self.code,
        }


@dataclass(frozen=True)
class LockFile:
    """The parsed lock file; ``path`` is where it was read from (for messages)."""

    models: tuple[LockedModel, ...]
    path: str = "polyhub.lock"

    def find(self, address: str, canonical: str) -> LockedModel | None:
        for model in self.models:
            if address in (model.address, model.card) or canonical in (model.address, model.card):
                return model
        return None

    def blobs(self) -> dict[str, int]:
        """Every locked asset's sha256 and size."""
        return {a["sha256"]: int(a["size"]) for m in self.models for a in m.assets}


def _locked(address: str, context: Context) -> LockedModel:
    from ._publish import pin

    pinned = pin(address, context)
    card = pinned.card
    code = None
    if card.code is not None:
        from ._git import checkout_digest

        code = {
            "url": card.code.url,
            "revision": pinned.asked_revision,
            "commit": card.code.revision,
            "repo_id": card.code.repo_id,
            "subdir": card.code.subdir,
            "entry": card.code.entry,
            # What the core imports from the checkout (read back with defaults when absent).
            "file": card.code.file,
            "function": card.code.function,
            "fallback_revisions": list(card.code.fallback_revisions),
            # The checkout's content, so a bundle's code (which carries no git
            # objects to check the commit against) and a locked load can be verified.
            "tree_sha256": checkout_digest(
                context.checkout(card.code.url, card.code.revision).path
            ),
        }
    assets = tuple(
        {
            "name": a.name,
            "url": a.url,
            "sha256": a.sha256,
            "size": a.size,
            "format": a.format,
            "role": a.role,
            # What the hub publishes of the hash, when only a prefix: a later hub
            # that publishes another prefix is refused like any other change.
            **({"sha256_prefix": a.sha256_prefix} if a.sha256_prefix else {}),
        }
        for a in card.assets
    )
    return LockedModel(address, str(card.address), card.source, assets, code)


def create(addresses: Iterable[str], context: Context) -> LockFile:
    """Resolve and fetch every model of ``addresses``, pin its code; return the lock.

    :raises polyhub.PolyhubError: a model cannot be resolved or fetched.
    """
    return LockFile(tuple(_locked(a, context) for a in addresses))


def write(lock: LockFile, path: Path) -> None:
    """Write ``lock`` to ``path`` atomically."""
    body = json.dumps(
        {"version": VERSION, "models": [m.to_json() for m in lock.models]}, indent=1, sort_keys=True
    )
    atomic_write(path, (body + "\n").encode())


def read(path: str | Path) -> LockFile:
    """Parse a lock file.

    :raises polyhub.MetadataError: it is not a polyhub lock file (names the field).
    """
    where = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetadataError("no such lock file", file=where) from None
    except ValueError as exc:
        raise MetadataError(f"not JSON: {exc}", file=where) from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise MetadataError(
            f"not a version {VERSION} polyhub lock file", file=where, field="version"
        )
    models = []
    for i, raw in enumerate(data.get("models") or []):
        entry = f"models[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("address"), str):
            raise MetadataError(
                "a model needs an address", file=where, entry=entry, field="address"
            )
        assets = raw.get("assets") or []
        for a in assets:
            if (
                not isinstance(a, dict)
                or not isinstance(a.get("sha256"), str)
                or not isinstance(a.get("size"), int)
                or not isinstance(a.get("sha256_prefix", ""), str)
            ):
                raise MetadataError(
                    "every asset needs sha256 and size", file=where, entry=entry, field="assets"
                )
        code = raw.get("code")
        if code is not None and (
            not isinstance(code, dict) or len(str(code.get("commit", ""))) != 40
        ):
            raise MetadataError("code needs a 40-hex commit", file=where, entry=entry, field="code")
        models.append(
            LockedModel(
                raw["address"],
                str(raw.get("card") or raw["address"]),
                str(raw.get("source", "")),
                tuple(assets),
                code,
            )
        )
    return LockFile(tuple(models), where)


def sync(lock: LockFile, context: Context) -> list[Path]:
    """Bring everything ``lock`` names into the cache: indexes, assets, code checkouts.

    Each model is resolved (which caches its hub's index), checked against the
    lock, and its locked assets and commit are fetched.

    :returns: the cached path of every asset.
    :raises LockMismatchError: the hub now serves something else.
    """
    from ._address import parse_address
    from ._plugins import default_plugins

    plugins = default_plugins()

    paths = []
    for model in lock.models:
        card = apply_lock(
            plugins.resolve(parse_address(model.address), context),
            lock,
            context,
            address=model.address,
        )
        for asset in card.assets:
            paths.append(plugins.fetch(card, asset, context))
        if card.code is not None:
            context.checkout(card.code.url, card.code.revision)
    return paths


def apply_lock(card: ModelCard, lock: LockFile, context: Context, *, address: str) -> ModelCard:
    """Check ``card`` against ``lock`` and return it pinned to the locked commit.

    :raises LockMismatchError: the model is not in the lock, or an asset or the
        code differs (names the field and both values).
    """
    model = lock.find(address, str(card.address))
    if model is None:
        raise LockMismatchError(
            f"{address} is not in the lock file {lock.path} (it locks: "
            f"{', '.join(m.address for m in lock.models) or 'nothing'})"
        )
    locked = {a["name"]: a for a in model.assets}
    assets = []
    for asset in card.assets:
        want = locked.get(asset.name)
        if want is None:
            raise LockMismatchError(
                f"{address}: the asset {asset.name!r} is not in the lock file {lock.path}"
            )
        for field in ("url", "sha256", "size"):
            have = getattr(asset, field)
            if have is not None and have != want[field]:
                raise LockMismatchError(
                    f"{address}: the asset {asset.name!r} has {field} {have!r}, "
                    f"the lock file {lock.path} says {want[field]!r}"
                )
        prefix = asset.sha256_prefix
        locked_prefix = want.get("sha256_prefix")
        if prefix is not None and (
            (locked_prefix is not None and locked_prefix != prefix)
            or not str(want["sha256"]).startswith(prefix)
        ):
            raise LockMismatchError(
                f"{address}: the asset {asset.name!r} has sha256_prefix {prefix!r}, "
                f"the lock file {lock.path} says sha256 {want['sha256']!r}"
                + (f" (prefix {locked_prefix!r})" if locked_prefix else "")
            )
        # A hub that publishes no hash gets the locked one enforced.
        assets.append(replace(asset, sha256=want["sha256"], size=want["size"]))
    missing = set(locked) - {a.name for a in card.assets}
    if missing:
        raise LockMismatchError(
            f"{address}: the hub no longer lists {', '.join(sorted(missing))} ({lock.path})"
        )
    code = card.code
    if (code is None) != (model.code is None):
        raise LockMismatchError(
            f"{address}: code {'appeared' if code else 'disappeared'} since {lock.path}"
        )
    if code is not None and model.code is not None:
        if code.url != model.code["url"]:
            raise LockMismatchError(
                f"{address}: the code repository is {code.url}, the lock file {lock.path} says {model.code['url']}"
            )
        asked = code.revision
        if asked not in (model.code.get("revision"), model.code["commit"]):
            raise LockMismatchError(
                f"{address}: the code revision is {asked!r}, the lock file {lock.path} "
                f"pinned {model.code.get('revision')!r} at {model.code['commit']}"
            )
        # The locked commit is the one that holds the code (a fallback revision was
        # resolved when the lock was written): no moving branch is tried instead.
        code = replace(code, revision=model.code["commit"], fallback_revisions=())
        check_code(model, context.checkout(code.url, code.revision).path, where=str(lock.path))
    return card.replace(assets=tuple(assets), code=code)


def check_code(model: LockedModel, folder: Path, *, where: str) -> None:
    """Raise unless the checkout ``folder`` holds the content ``model``'s lock recorded.

    :raises polyhub.HashMismatchError: the code differs from the locked code (a
        tampered bundle or cache): none of it may run.
    """
    from ._git import checkout_digest

    expected = (model.code or {}).get("tree_sha256")
    if not expected:
        return  # a lock written before content digests: the commit id is all it pins
    actual = checkout_digest(folder)
    if actual != expected:
        raise HashMismatchError(
            url=str((model.code or {}).get("url", "")),
            expected=expected,
            actual=actual,
            what=f"the code checkout {folder} of {model.address} (lock file {where})",
        )


def addresses(lock: LockFile) -> Sequence[str]:
    return [m.address for m in lock.models]

"""What the ``oci`` plugin does: push, resolve, list, and serve blobs to the cache.

Manifests are cached in the plugin's folder of the home, ``<home>/plugins/oci/``
(``Context.storage``; by digest, immutable; tags map to the digest they last
had) so ``info`` and loads of a pushed or bundled
model work offline. Blobs go through the core's verified cache: the plugin
only writes bytes to a temporary file that the core hashes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from polyhub import (
    Address,
    AddressError,
    Context,
    DownloadError,
    MetadataError,
    ModelCard,
    ModelNotFoundError,
    OfflineError,
    PolyhubError,
    RevisionNotFoundError,
    atomic_write,
    file_sha256,
    parse_bool,
)

from . import modelpack as mp
from .client import RegistryClient, dumps
from .reference import Reference, parse_reference

log = logging.getLogger("polyhub.oci")

REGISTRY_ENV = "POLYHUB_REGISTRY"
PUSH_ENV = "POLYHUB_REGISTRY_PUSH"
BLOB_ARTIFACT = "application/vnd.polyhub.blob.v1"

_clients: dict[tuple[str, str], RegistryClient] = {}


def client_for(ref: Reference) -> RegistryClient:
    """One client (one HTTP session, one token) per repository and process."""
    key = (ref.registry, ref.repository)
    if key not in _clients:
        _clients[key] = RegistryClient(ref)
    return _clients[key]


def _flag(name: str) -> bool:
    # Only a clear "yes" turns pushing on; an unknown word leaves it off.
    return parse_bool(os.environ.get(name, ""), default=False)


# -- push ---------------------------------------------------------------------


def push(card: ModelCard, files: Mapping[str, Path], target: str, context: Context) -> str:
    """Push ``card`` as a ModelPack artifact to ``target``; return ``oci://REF:TAG@DIGEST``."""
    ref = parse_reference(target)
    if ref.digest is not None:
        # The digest is what the registry computes from the pushed manifest: a
        # target naming one cannot be honoured, and dropping it silently would
        # overwrite the ':latest' tag instead.
        raise AddressError(
            f"{target!r}: a push target names a tag, not a digest "
            f"(the digest is known only after the push); drop '@{ref.digest}'"
        )
    tag = ref.tag or "latest"
    client = client_for(ref)
    layers: list[dict[str, Any]] = []
    sent = 0
    for asset in card.assets:
        if asset.sha256 is None or asset.sha256 not in files:
            raise MetadataError(
                f"{asset.name} has no verified file to push", file=str(card.address)
            )
        path = files[asset.sha256]
        size = path.stat().st_size
        sent += client.upload_blob(path, f"sha256:{asset.sha256}", size)
        layers.append(mp.asset_layer(replace(asset, size=size)))
    revision = card.address.revision or ""
    with tempfile.TemporaryDirectory(prefix="polyhub-oci-") as scratch:
        if card.code is not None:
            code = card.code
            checkout = context.checkout(code.url, code.revision)
            blob = Path(scratch) / "code.tar"
            blob.write_bytes(mp.code_tar(Path(checkout.path)))
            digest = "sha256:" + file_sha256(blob)
            sent += client.upload_blob(blob, digest, blob.stat().st_size)
            revision = checkout.commit
            layers.append(
                {
                    "mediaType": mp.CODE_TAR,
                    "digest": digest,
                    "size": blob.stat().st_size,
                    "annotations": {
                        mp.FILEPATH: "code",
                        mp.P + "code.url": code.url,
                        mp.P + "code.commit": checkout.commit,
                        mp.P + "code.subdir": code.subdir,
                        mp.P + "code.entry": code.entry,
                        mp.P + "code.kind": code.kind,
                        mp.P + "code.repo_id": code.repo_id,
                        mp.P + "code.file": code.file,
                        mp.P + "code.function": code.function,
                        mp.P + "code.fallback_revisions": ",".join(code.fallback_revisions),
                    },
                }
            )
        config = mp.build_config(card, [layer["digest"] for layer in layers])
        config_path = Path(scratch) / "config.json"
        config_path.write_bytes(config)
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        sent += client.upload_blob(config_path, config_digest, len(config))
    annotations = {
        mp.SOURCE: str(card.address),
        mp.REVISION: revision,
        mp.P + "source": card.source,
        "org.opencontainers.image.title": card.name,
    }
    if card.version:
        annotations["org.opencontainers.image.version"] = card.version
    manifest = mp.build_manifest(config_digest, len(config), layers, annotations)
    digest = client.put_manifest(manifest, tag)
    log.info("pushed %s to %s:%s (%d new blobs)", card.address, ref.name, tag, sent)
    _remember(context, ref.with_tag(tag), digest, manifest)
    return f"oci://{ref.name}:{tag}@{digest}"


# -- manifests (cached for offline use) --------------------------------------


def _oci_dir(context: Context) -> Path:
    folder = context.storage("oci")
    legacy = context.cache.root / "oci"
    if legacy.is_dir():
        _adopt_legacy(legacy, folder)
    return folder


def _adopt_legacy(legacy: Path, folder: Path) -> None:
    """Move the manifests an older polyhub kept in ``<home>/oci/`` into the plugin's storage.

    A home filled (or unbundled) before plugin storage still answers offline. Each
    folder (or, when the new place has entries already, each file not there yet)
    moves by one rename, so a reader finds an entry in one place or the other.
    """
    import shutil

    for part in ("manifests", "tags", "configs"):
        old = legacy / part
        if not old.is_dir():
            continue
        new = folder / part
        try:
            os.rename(old, new)  # replaces an empty folder
        except OSError:  # the new place has entries already: they are newer, keep them
            for item in old.iterdir():
                with contextlib.suppress(OSError):
                    if not (new / item.name).exists():
                        os.rename(item, new / item.name)
            shutil.rmtree(old, ignore_errors=True)
    with contextlib.suppress(OSError):
        legacy.rmdir()


def _tag_file(context: Context, ref: Reference) -> Path:
    key = hashlib.sha256(f"{ref.name}:{ref.ref}".encode()).hexdigest()[:32]
    return _oci_dir(context) / "tags" / f"{key}.json"


def _remember(context: Context, ref: Reference, digest: str, body: bytes) -> None:
    atomic_write(_oci_dir(context) / "manifests" / digest.replace(":", "-"), body)
    if not ref.digest:
        atomic_write(_tag_file(context, ref), dumps({"reference": str(ref), "digest": digest}))


def _cached_manifest(context: Context, ref: Reference) -> tuple[bytes, str] | None:
    digest = ref.digest
    if digest is None:
        try:
            digest = json.loads(_tag_file(context, ref).read_text())["digest"]
        except (FileNotFoundError, ValueError, KeyError):
            return None
    path = _oci_dir(context) / "manifests" / str(digest).replace(":", "-")
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return None
    if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
        return None  # a damaged cache entry: ask the registry again
    return body, str(digest)


def get_manifest(context: Context, ref: Reference) -> tuple[bytes, str]:
    """The manifest of ``ref`` and its digest; offline (or registry down) from the cache."""
    cached = _cached_manifest(context, ref)
    if cached is not None and (ref.digest or context.offline):
        return cached  # a digest never changes; offline a tag keeps its last digest
    if context.offline:
        raise OfflineError(
            f"offline mode is on and the manifest of oci:{ref} is not in the cache at "
            f"{context.cache.root}; run once online (or unbundle a bundle holding it)"
        )
    try:
        body, digest, _media = client_for(ref).get_manifest(ref.ref)
    except DownloadError as exc:
        if cached is not None and exc.status in (None, 500, 502, 503, 504):
            context.warn(f"using the cached manifest of oci:{ref}: {exc}")
            return cached
        raise
    _remember(context, ref, digest, body)
    return body, digest


def _config(
    context: Context, ref: Reference, manifest: dict[str, Any], where: str
) -> dict[str, Any] | None:
    desc = manifest.get("config") or {}
    digest = str(desc.get("digest", ""))
    if desc.get("mediaType") != mp.CONFIG_TYPE or not digest.startswith("sha256:"):
        return None  # not a ModelPack config (an empty one from a generic ORAS push)
    body = _config_bytes(context, ref, digest)
    try:
        data = json.loads(body)
    except ValueError:
        raise MetadataError(
            "the ModelPack config is not JSON", file=where, field="config"
        ) from None
    return data if isinstance(data, dict) else None


def _parse(address: Address) -> Reference:
    """The reference of an ``oci:`` address; its ``@revision`` must be a manifest digest."""
    revision = address.revision
    if revision is not None and not re.match(r"^sha256:[0-9a-fA-F]{64}$", revision):
        raise RevisionNotFoundError(
            f"{address}: an OCI revision is a manifest digest (@sha256:<64 hex>), not {revision!r}; "
            "name a tag after ':' instead"
        )
    return parse_reference(address.path, digest=revision)


def _config_bytes(context: Context, ref: Reference, digest: str) -> bytes:
    """The config blob: metadata, kept with the manifests (not among model blobs), verified."""
    path = _oci_dir(context) / "configs" / digest.replace(":", "-")
    try:
        body = path.read_bytes()
        if "sha256:" + hashlib.sha256(body).hexdigest() == digest:
            return body
    except FileNotFoundError:
        pass
    if context.offline:
        raise OfflineError(
            f"offline mode is on and the config {digest} of oci:{ref} is not in the cache at "
            f"{context.cache.root}; run once online"
        )
    body = client_for(ref).get_small_blob(digest)
    atomic_write(path, body)
    return body


def resolve(address: Address, context: Context) -> ModelCard:
    """The card of ``oci:REGISTRY/REPO[:TAG][@sha256:...]``: manifest and config only.

    A model with code also brings its (small) code layer into the git cache,
    extracted but not run, so runtimes and ``help`` find it like a checkout.
    """
    ref = _parse(address)
    try:
        body, digest = get_manifest(context, ref)
    except ModelNotFoundError as exc:
        if ref.digest:
            raise RevisionNotFoundError(
                f"oci:{ref.name} has no manifest {ref.digest}: {exc}"
            ) from None
        raise
    where = f"oci://{ref.name}@{digest}"
    manifest = mp.parse_manifest(body, where)
    config = _config(context, ref, manifest, where)
    suffixes = _suffixes(context)
    card = mp.card_from_artifact(
        ref, address, manifest, config, digest=digest, suffix_formats=suffixes
    )
    if card.code is not None:
        card = _seed_code(card, ref, context)
    return card


def _suffixes(context: Context) -> dict[str, str]:
    """File suffix -> format name, from the installed plugins (for foreign artifacts)."""
    return {suffix: name for name in context.formats for suffix in context.formats[name].suffixes}


def _seed_code(card: ModelCard, ref: Reference, context: Context) -> ModelCard:
    """Put the code layer where the core's checkout finds it, and pick its trust id.

    The layer is seeded as the checkout of the REGISTRY repository
    (``oci://REGISTRY/REPO`` at the annotated commit), never of the original
    repository: nothing proves the tree is that commit's, so it must not become
    what a plain load of the original repository runs. The code runs only if its
    original repository is trusted (as the original source would decide) or the
    registry repository is: the card names the original repository when that
    one is trusted, else ``REGISTRY/REPO``.
    """
    code = card.code
    assert code is not None
    layer = card.metadata["oci"]["code_layer"]
    commit = code.revision or ""
    if not code.url or len(commit) != 40:
        raise MetadataError(
            "the code layer has no org.polyhub.code.url / code.commit annotations",
            file=card.file,
            field="layers",
        )
    blob = context.fetch_url(f"oci://{ref.name}@{layer}", sha256=str(layer)[7:])
    seeded = f"oci://{ref.registry}/{ref.repository}"
    context.seed_checkout(seeded, commit, blob)
    source = str(card.metadata["oci"].get("source") or "")
    original_scheme = source.split(":", 1)[0] if ":" in source else None
    # The annotated repo_id is the artifact's word: it counts only as the identity of
    # the annotated URL, else any artifact could borrow a trusted name for its code.
    from polyhub import repo_id_from_url

    names_its_url = bool(code.repo_id) and code.repo_id == repo_id_from_url(code.url)
    trusted_origin = names_its_url and context.is_trusted(code.repo_id, scheme=original_scheme)
    repo_id = code.repo_id if trusted_origin else f"{ref.registry}/{ref.repository}"
    return card.replace(code=replace(code, url=seeded, repo_id=repo_id))


def list_cards(filters: Mapping[str, Any], context: Context) -> list[ModelCard]:
    """Cards of every tag of ``repository=`` (or of every repository of ``registry=``).

    Reads manifests and configs only. Defaults to ``POLYHUB_REGISTRY``.
    """
    filters = dict(filters)
    repository = filters.pop("repository", None)
    registry = filters.pop("registry", None)
    model = filters.pop("model", None)
    tags = filters.pop("tags", None)
    if filters:
        raise TypeError(
            f"unknown filters for the oci source: {', '.join(sorted(filters))} "
            "(known: repository, registry, model, tags)"
        )
    if repository is None and registry is None:
        repository = os.environ.get(REGISTRY_ENV)
        if not repository:
            raise ModelNotFoundError(
                "say which registry to list: list_models('oci', repository='oci://REGISTRY/REPO') "
                f"or registry='REGISTRY', or set {REGISTRY_ENV}"
            )
    if repository is not None:
        repos = [parse_reference(str(repository))]
    else:
        host = str(registry).removeprefix("oci://").rstrip("/")
        probe = parse_reference(f"{host}/x")
        repos = [parse_reference(f"{host}/{name}") for name in client_for(probe).catalog()]
    cards: list[ModelCard] = []
    for repo in repos:
        for tag in sorted(
            _cached_tags(context, repo) if context.offline else client_for(repo).tags()
        ):
            address = Address("oci", f"{repo.name}:{tag}")
            try:
                if _is_tier_blob(context, repo.with_tag(tag)):
                    continue  # the blob tier's keep-alive manifests are not models
                card = _info_only(address, context)
            except PolyhubError as exc:
                context.warn(f"skipped oci:{repo.name}:{tag}: {exc}")
                continue
            if model and str(model).lower() not in (card.name.lower(), repo.repository.lower()):
                continue
            if tags and not set(tags) & set(card.tags):
                continue
            cards.append(card)
    return cards


def _cached_tags(context: Context, repo: Reference) -> list[str]:
    """Tags of ``repo`` seen before (offline listing)."""
    found = []
    for path in (_oci_dir(context) / "tags").glob("*.json"):
        try:
            ref = parse_reference(json.loads(path.read_text())["reference"])
        except (ValueError, KeyError, PolyhubError):
            continue
        if ref.name == repo.name and ref.tag:
            found.append(ref.tag)
    return found


def _is_tier_blob(context: Context, ref: Reference) -> bool:
    body, _digest = get_manifest(context, ref)
    try:
        return bool(json.loads(body).get("artifactType") == BLOB_ARTIFACT)
    except (ValueError, AttributeError):
        return False


def _info_only(address: Address, context: Context) -> ModelCard:
    """A card without bringing in the code layer (listing never downloads layers)."""
    ref = _parse(address)
    body, digest = get_manifest(context, ref)
    where = f"oci://{ref.name}@{digest}"
    manifest = mp.parse_manifest(body, where)
    config = _config(context, ref, manifest, where)
    return mp.card_from_artifact(
        ref, address, manifest, config, digest=digest, suffix_formats=_suffixes(context)
    )


# -- blobs for the core's cache -------------------------------------------------


def blob_fetch(url: str, sha256: str, size: int | None, dest: Path) -> bool | None:
    """Bytes of ``oci://`` URLs (this plugin's own), or of any blob from ``POLYHUB_REGISTRY``."""
    if url.startswith("oci://"):
        ref = parse_reference(url)
        if ref.digest != f"sha256:{sha256}":
            raise MetadataError(f"{url} does not name the blob sha256:{sha256}", file=url)
        with open(dest, "wb") as out:
            client_for(ref).download_blob(ref.digest, out)
        return True
    tier = os.environ.get(REGISTRY_ENV)
    if not tier:
        return None
    ref = parse_reference(tier)
    try:
        with open(dest, "wb") as out:
            client_for(ref).download_blob(f"sha256:{sha256}", out)
    except ModelNotFoundError:
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()
        return False
    log.info("got sha256:%s from the registry tier %s instead of %s", sha256[:12], ref.name, url)
    return True


def blob_stored(url: str, sha256: str, size: int, path: Path) -> None:
    """After a verified hub download, give the registry tier a copy (``POLYHUB_REGISTRY_PUSH=1``)."""
    tier = os.environ.get(REGISTRY_ENV)
    if not tier or not _flag(PUSH_ENV) or url.startswith("oci://"):
        return
    try:
        ref = parse_reference(tier)
        client = client_for(ref)
        client.upload_blob(path, f"sha256:{sha256}", size)
        _keep_alive(client, sha256, size)
    except PolyhubError as exc:
        log.warning("could not push sha256:%s to the registry tier %s: %s", sha256[:12], tier, exc)


_EMPTY = b"{}"
_EMPTY_TYPE = "application/vnd.oci.empty.v1+json"


def _keep_alive(client: RegistryClient, sha256: str, size: int) -> None:
    """Tag a one-layer manifest ``sha256-<hex>`` for the blob, so garbage collection keeps it.

    A registry's garbage collector deletes every blob no manifest references.
    """
    empty_digest = "sha256:" + hashlib.sha256(_EMPTY).hexdigest()
    with tempfile.NamedTemporaryFile(prefix="polyhub-oci-") as f:
        f.write(_EMPTY)
        f.flush()
        client.upload_blob(Path(f.name), empty_digest, len(_EMPTY))
    manifest = dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": BLOB_ARTIFACT,
            "config": {"mediaType": _EMPTY_TYPE, "digest": empty_digest, "size": len(_EMPTY)},
            "layers": [
                {
                    "mediaType": "application/octet-stream",
                    "digest": f"sha256:{sha256}",
                    "size": size,
                }
            ],
        }
    )
    client.put_manifest(manifest, f"sha256-{sha256}")

"""Fetching an ONNX hub model: the file, and the external data files it needs beside it.

Every model over 2 GB (protobuf's limit) ships as ``model.onnx`` holding the
graph plus one or more data files (``model.onnx.data``, ...) that tensors name
by a ``location`` relative to the model's folder. The manifest gives the sha256
of the model file and of the entry's ``model_with_data`` tarball, never of a
data file. So, when the fetched model refers to external data:

1. the tarball, when the manifest gives its sha256, is fetched, verified,
   extracted safely, and the model is taken from it with its data files: every
   byte is then checked against the manifest;
2. otherwise (no tarball, or one without the data files) each data file is
   fetched from beside the model file, under the core's first-seen rule (its
   sha256 is recorded on the first download and enforced after; refused under
   ``POLYHUB_REQUIRE_HASHES``), and model and data files are laid out, under
   their real names, in a folder of the cache made atomically.

Either way the path returned is the model file in a folder that holds its data
files, where onnx and onnxruntime look for them. Models without external data
come back as the core's verified blob, untouched.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from polyhub import (
    Asset,
    DownloadError,
    GitLfsPointerError,
    HashMismatchError,
    MetadataError,
    UnsafePathError,
    atomic_folder,
    file_sha256,
    is_local,
    safe_relpath,
)

from .external import external_refs
from .hubs import FILES_ENV, HF_FILES

if TYPE_CHECKING:
    from polyhub import Context, ModelCard

__all__ = ["fetch_model"]

_TEST_DATA = "test-data"


def fetch_model(card: ModelCard, asset: Asset, context: Context) -> Path:
    """The verified local path of ``asset``, with its external data files beside it.

    :raises polyhub.DownloadError: a download failed; a Git LFS pointer where
        the file was expected is named as such, with where the file really is.
    :raises polyhub.HashMismatchError: bytes differ from the manifest's sha256.
    :raises polyhub.MetadataError: the model needs data files that neither its
        tarball nor its folder on the hub holds.
    """
    path = _fetch(card, asset, context)
    if asset.role != "model" or asset.format != "onnx":
        return path
    try:
        refs = external_refs(path)
    except MetadataError:
        return path  # not an ONNX protobuf: format detection says so next
    locations = sorted({r.location for r in refs if r.location})
    if not locations:
        return path
    for location in locations:
        try:
            safe_relpath(location)
        except UnsafePathError:
            # Never build a URL or a path from it; the load refuses the model by name.
            return path
    from_tarball = _from_tarball(card, asset, context, locations)
    if from_tarball is not None:
        return from_tarball
    return _from_beside(card, asset, context, path, locations)


def _fetch(card: ModelCard, asset: Asset, context: Context) -> Path:
    try:
        return context.fetch(asset, card=card)
    except GitLfsPointerError as exc:
        if asset.url.startswith(HF_FILES):
            # Pointing the user at the mirror that just answered would send them in a circle.
            hint = (
                "This is the Hugging Face mirror of the ONNX Model Zoo, so the mirror does "
                f"not hold this file; set {FILES_ENV} to a base URL that serves it"
            )
        elif not asset.url.startswith(("http://", "https://")):
            hint = (
                "The hub folder holds Git LFS pointers: a Git checkout made without Git LFS "
                "('git lfs pull' in it fetches the files), or load from the default hub, "
                f"whose files come from {HF_FILES}"
            )
        else:
            hint = (
                "The ONNX Model Zoo's files left GitHub's LFS on 2025-07-01 and are at "
                f"{HF_FILES}/<model_path>, where hub onnx/models takes them by default; set "
                f"{FILES_ENV} to 'huggingface' or to a base URL that serves this hub's files"
            )
        raise GitLfsPointerError(exc.url or asset.url, exc.pointer, hint=hint) from exc
    except HashMismatchError as exc:
        revision = card.address.revision
        if not (revision and asset.url.startswith(HF_FILES)):
            raise
        raise HashMismatchError(
            url=asset.url,
            expected=exc.expected,
            actual=exc.actual,
            what=(
                f"{asset.name} of {card.address} (the Hugging Face mirror holds the files of "
                f"onnx/models main, and this file changed between {revision} and main; GitHub "
                f"no longer serves the old one: set {FILES_ENV} to a host that has it)"
            ),
        ) from exc


def _from_tarball(
    card: ModelCard, asset: Asset, context: Context, locations: list[str]
) -> Path | None:
    archives = [a for a in card.assets_with_role(_TEST_DATA) if a.sha256]
    if not archives:
        return None
    archive = archives[0]
    blob = _fetch(card, archive, context)
    # Same key and bound as polyhub.download(with_test_data=True): one extraction serves both.
    folder = context.extract(
        blob,
        key=archive.sha256 or blob.resolve().name,
        max_bytes=None if archive.size is None else max(archive.size * 64, 1 << 30),
    )
    found = []
    for candidate in sorted(folder.rglob("*.onnx")):
        if candidate.is_file() and all((candidate.parent / loc).is_file() for loc in locations):
            found.append(candidate)
    if not found:
        return None
    for candidate in found:
        if asset.sha256 and file_sha256(candidate) == asset.sha256:
            return candidate
    if len(found) == 1:
        return found[0]  # authenticated by the tarball's sha256, if not byte-equal to the model
    raise MetadataError(
        f"{archive.name} holds {len(found)} ONNX models with the data files "
        f"{', '.join(locations)}, none of them the model file (sha256 {asset.sha256}): "
        f"{', '.join(str(f.relative_to(folder)) for f in found)}",
        file=card.file,
        entry=card.name,
        field="model_with_data_path",
    )


def _beside(url: str, location: str) -> str:
    """The URL (or path) of ``location`` in the folder of the file at ``url``."""
    if is_local(url) and not url.startswith("file:"):
        return os.path.join(os.path.dirname(url), *PurePosixPath(location).parts)
    return url.rsplit("/", 1)[0] + "/" + quote(location, safe="/")


def _from_beside(
    card: ModelCard, asset: Asset, context: Context, model: Path, locations: list[str]
) -> Path:
    data: dict[str, Path] = {}
    for location in locations:
        url = _beside(asset.url, location)
        try:
            data[location] = _fetch(
                card,
                Asset(url=url, name=posixpath.join(posixpath.dirname(asset.name), location)),
                context,
            )
        except DownloadError as exc:
            if exc.status != 404:
                raise
            raise MetadataError(
                f"the model keeps tensors in the external data file {location!r}, which is "
                f"neither in the entry's model_with_data tarball nor beside the model ({url} "
                "gave 404)",
                file=card.file,
                entry=card.name,
                field="model_path",
            ) from exc
    name = posixpath.basename(asset.name) or "model.onnx"
    key = "onnx-external:" + ",".join(
        # The blobs' own names (their sha256), not the names the cache shows them by:
        # the folder is keyed by content.
        [
            f"{name}={model.resolve().name}",
            *(f"{loc}={data[loc].resolve().name}" for loc in locations),
        ]
    )
    folder = _assemble(context.cache.extract_dir(key), {name: model, **data})
    return folder / name


def _assemble(dest: Path, files: dict[str, Path]) -> Path:
    """A folder at ``dest`` holding ``files`` (relative name -> cached blob), made atomically.

    Hard links where the filesystem allows (no copy of gigabytes), copies elsewhere;
    never symbolic links, which the external-data check refuses. A complete folder
    is reused as is.
    """

    def link_all(tmp: Path) -> None:
        for relative, blob in files.items():
            target = tmp.joinpath(*PurePosixPath(relative).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(blob.resolve(), target)  # the blob, not the link naming it
            except OSError:
                shutil.copyfile(blob, target)

    return atomic_folder(dest, link_all)

"""Bundles: a lock file's models in one tar, for machines with no network.

``polyhub bundle polyhub.lock -o models.tar`` (after ``polyhub sync``) packs
from the cache what an offline load of each locked model reads::

    polyhub.lock                          the lock file itself
    blobs/sha256/<ab>/<sha256>            every locked asset
    index/, urls/, plugins/oci/           hub indexes, first-seen hashes, OCI manifests
    git/refs/, git/checkouts/<repo>/<c>   branch resolutions and the checkouts they name

``polyhub unbundle models.tar`` extracts it safely (no links, nothing outside
the folder), re-hashes every blob, and merges it into the cache; then every
locked load works with ``POLYHUB_OFFLINE=1``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from ._atomic import atomic_write
from ._context import Context
from ._errors import HashMismatchError, MetadataError, OfflineError, UnsafeArchiveError
from ._hashing import file_sha256
from ._lockfile import check_code, read, sync

__all__ = ["create", "extract"]

LOCK_NAME = "polyhub.lock"
# Small metadata folders of the home that resolution reads offline.
_INDEX_DIRS = ("index", "urls", "plugins/oci", "git/refs")
# Where an older polyhub kept what is now under plugins/: merged to the new place.
_MOVED = {"oci": ("plugins", "oci")}
_MARKER = ".polyhub-complete"  # written by extract_tar


def _checkouts(home: Path, lock_commits: set[str]) -> list[Path]:
    """Checkout folders named by a branch resolution or by the lock."""
    wanted = set(lock_commits)
    refs = home / "git" / "refs"
    if refs.is_dir():
        for f in refs.glob("*.json"):
            with contextlib.suppress(ValueError, OSError):
                wanted.update(str(c) for c in json.loads(f.read_text()).values())
    root = home / "git" / "checkouts"
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/*") if p.is_dir() and p.name in wanted)


def create(lock_path: Path, output: Path, context: Context) -> Path:
    """Write the bundle of ``lock_path`` to ``output``; sync first unless offline.

    :raises polyhub.OfflineError: offline, and a locked asset is not cached.
    """
    lock = read(lock_path)
    if not context.offline:
        sync(lock, context)
    home = context.cache.root
    commits = {str(m.code["commit"]) for m in lock.models if m.code}
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(lock_path, arcname=LOCK_NAME)
            for sha256 in sorted(lock.blobs()):
                blob = context.cache.blob_path(sha256)
                if not blob.is_file():
                    raise OfflineError(
                        f"{lock_path}: sha256 {sha256} is not in the cache at {home}; run `polyhub sync {lock_path}` online"
                    )
                tar.add(blob, arcname=str(blob.relative_to(home)))
            for name in _INDEX_DIRS:
                if (home / name).is_dir():
                    tar.add(home / name, arcname=name, filter=_regular)
            for folder in _checkouts(home, commits):
                tar.add(folder, arcname=str(folder.relative_to(home)), filter=_regular)
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return output


def _regular(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    # Links would be refused on extraction; lock files of the cache are not content.
    if not (info.isfile() or info.isdir()) or info.name.endswith(".lock"):
        return None
    return info


def extract(bundle: Path, context: Context, *, lock_output: Path | None = None) -> Path:
    """Merge ``bundle`` into the cache, verifying every blob; return where its lock file is.

    :raises polyhub.UnsafeArchiveError: a member is a link or escapes.
    :raises polyhub.HashMismatchError: a blob is not what its name says.
    """
    from ._archive import extract_tar

    home = context.cache.root
    context.cache.ensure()
    scratch = Path(tempfile.mkdtemp(dir=home, prefix=".unbundle-"))
    try:
        root = extract_tar(bundle, scratch / "x")
        lock_file = root / LOCK_NAME
        if not lock_file.is_file():
            raise MetadataError(f"no {LOCK_NAME} in the bundle", file=str(bundle))
        lock = read(lock_file)
        for sha256, size in lock.blobs().items():
            src = root / "blobs" / "sha256" / sha256[:2] / sha256
            if not src.is_file():
                raise MetadataError(f"the bundle lacks the blob {sha256}", file=str(bundle))
            actual = file_sha256(src)
            if actual != sha256 or src.stat().st_size != size:
                raise HashMismatchError(
                    url=str(bundle),
                    expected=sha256,
                    actual=actual,
                    what=f"{bundle}:{src.relative_to(root)}",
                )
        members = [
            path
            for path in sorted(root.rglob("*"))
            if not path.is_dir() and path.relative_to(root) not in (Path(LOCK_NAME), Path(_MARKER))
        ]
        # Every member is checked before any is merged: a refused bundle leaves
        # the cache as it was. A blob the lock does not name was not verified
        # above, so it is refused rather than merged under a name it may not match.
        locked = {f"blobs/sha256/{sha256[:2]}/{sha256}" for sha256 in lock.blobs()}
        for path in members:
            rel = path.relative_to(root)
            if rel.parts[0] not in ("blobs", "index", "urls", "oci", "git") and rel.parts[:2] != (
                "plugins",
                "oci",
            ):
                raise UnsafeArchiveError(f"{bundle}: unexpected member {rel}")
            if rel.parts[0] == "blobs" and rel.as_posix() not in locked:
                raise UnsafeArchiveError(f"{bundle}: the blob {rel} is not in its lock file")
        # Code runs: each checkout must be the content its lock recorded (a checkout
        # carries no git objects that could prove its commit).
        by_commit = {str(m.code["commit"]): m for m in lock.models if m.code}
        checkouts = root / "git" / "checkouts"
        for folder in sorted(checkouts.glob("*/*")) if checkouts.is_dir() else []:
            model = by_commit.get(folder.name)
            if model is None:
                raise UnsafeArchiveError(
                    f"{bundle}: the code checkout {folder.relative_to(root)} is not in its lock file"
                )
            check_code(model, folder, where=f"{bundle}:{LOCK_NAME}")
        for path in members:
            rel = path.relative_to(root)
            if rel.parts[0] in _MOVED:
                rel = Path(*_MOVED[rel.parts[0]], *rel.parts[1:])
            dest = home / rel
            if rel.parts[:2] == ("git", "checkouts"):
                continue  # whole folders, below
            if rel.parts[0] == "blobs" and dest.exists():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
        checkouts = root / "git" / "checkouts"
        if checkouts.is_dir():
            for folder in checkouts.glob("*/*"):
                dest = home / folder.relative_to(root)
                if not dest.exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(folder, dest)
        target = lock_output or home / "bundles" / f"{bundle.stem}.lock"
        atomic_write(target, lock_file.read_bytes())
        return target
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

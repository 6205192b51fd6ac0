"""Git checkouts pinned to a commit, cached by commit.

Each remote gets one bare repository under ``<home>/git/repos``; a checkout
of a commit is written to a temporary folder and renamed to
``<home>/git/checkouts/<repo>/<commit>``, so it is either complete or absent.
The resolution of each branch or tag is remembered and reused until a
refresh (``force_reload=True``) asks the remote again, so a branch that moved
is noticed on refresh, repeated loads need no network, and offline mode works;
a full commit id that is already present never needs the network.

Submodules are checked out too, each pinned to the commit its superproject
records, through the same cache and mirrors (relative URLs resolved against
the superproject's URL), recursively up to :data:`MAX_SUBMODULE_DEPTH`. A
submodule that cannot be had is an error naming it; a repository from the
network may not name a submodule on this machine (file:// or a path).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from ._atomic import atomic_write
from ._config import Config
from ._errors import (
    DownloadError,
    OfflineError,
    PolyhubError,
    RevisionNotFoundError,
    UnsupportedError,
    UntrustedError,
)
from ._paths import UnsafePathError, safe_relpath

__all__ = ["Checkout", "checkout", "checkout_digest", "is_published", "repo_id_from_url"]

log = logging.getLogger(__name__)

_SHA = re.compile(r"^[0-9a-f]{40}$")
MAX_SUBMODULE_DEPTH = 8
_depth: ContextVar[int] = ContextVar("polyhub_submodule_depth", default=0)
_SCP = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


@dataclass(frozen=True)
class Checkout:
    """A checked-out tree: ``path`` holds the files of ``commit``."""

    path: Path
    commit: str
    url: str
    revision: str | None


def repo_id_from_url(url: str) -> str:
    """A stable identity for trust: ``host[:port]/owner/name``, lower case, no ``.git``
    (``file://<real path>`` for local repositories, case kept).

    Works for https, ssh, git, scp-like (``git@host:owner/name``) and file URLs.
    """
    from urllib.parse import urlparse

    parsed = urlparse(url)
    scp = _SCP.match(url) if "://" not in url else None
    if scp and len(scp.group("host")) > 1:
        host, path = scp.group("host").lower(), scp.group("path")
    elif parsed.scheme in ("http", "https", "ssh", "git", "git+ssh"):
        host = (parsed.hostname or "").lower()
        if ":" in host:  # IPv6: keep the brackets, or the port would be ambiguous
            host = f"[{host}]"
        default_port = {"http": 80, "https": 443, "git": 9418}.get(parsed.scheme, 22)
        if parsed.port and parsed.port != default_port:
            host = f"{host}:{parsed.port}"
        path = parsed.path
    elif parsed.scheme == "file" or not parsed.scheme or len(parsed.scheme) == 1:
        # Paths are case-sensitive: no lower-casing here.
        return "file://" + os.path.realpath(parsed.path if parsed.scheme == "file" else url)
    else:
        return url.lower()
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    return f"{host}/{path}".lower()


def _git(args: list[str], *, cwd: Path | None = None, timeout: float = 600) -> str:
    from ._config import read_config
    from ._downloader import git_network_env

    env = {
        **os.environ,
        # The CA bundle, proxies and slow-transfer limit that HTTP downloads use.
        **git_network_env(read_config()),
        "GIT_TERMINAL_PROMPT": "0",  # never hang on a password prompt
        "GIT_ASKPASS": os.environ.get("GIT_ASKPASS", "true"),
        "LC_ALL": "C",
    }
    try:
        done = subprocess.run(
            # ext:: runs arbitrary commands as a "transport"; no hub needs it.
            ["git", "-c", "protocol.ext.allow=never", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise UnsupportedError(
            "git is not installed; polyhub needs it to fetch code repositories"
        ) from None
    except subprocess.TimeoutExpired:
        raise DownloadError(f"git {' '.join(args[:2])} timed out after {timeout:.0f}s") from None
    if done.returncode != 0:
        raise _GitFailed(done.stderr.strip() or done.stdout.strip())
    return done.stdout


class _GitFailed(Exception):
    pass


# Where a local repository's remote-tracking branches (origin/*) are kept in the bare cache.
_ORIGIN = "refs/polyhub/origin/"


def _is_local(url: str) -> bool:
    return url.startswith("file://") or ("://" not in url and _SCP.match(url) is None)


def _repo_key(url: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))[
        :40
    ]
    return f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{name or 'repo'}"


_GIT_SCHEMES = {
    "http",
    "https",
    "git",
    "ssh",
    "file",
    "ftp",
    "ftps",
    "ext",
    "fd",
    "git+ssh",
    "ssh+git",
}


def seed_checkout(url: str, commit: str, archive: Path, config: Config) -> Path:
    """Place the tree in the tar ``archive`` as the checkout of ``url`` at ``commit``.

    For code that arrives without its git history (a registry's code layer):
    :func:`checkout` of that full commit id then finds it and calls no git. An
    existing checkout is kept (a commit's tree never changes). The tar is
    extracted safely into a temporary folder renamed at the end.

    :raises polyhub.UnsafeArchiveError: a member escapes, is a link or a device.
    """
    from ._archive import extract_tar

    if not _SHA.match(commit.lower()):
        raise DownloadError(f"refusing to seed {url} at {commit!r}: not a full commit id")
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if scheme is None or scheme.group(1).lower() in _GIT_SCHEMES:
        # Nothing proves the tree is that commit's: seeding a repository git can fetch
        # would make a plain load of it run whatever the archive holds.
        raise UntrustedError(
            f"refusing to seed {url}: only code that has no git remote (e.g. an "
            "oci://REGISTRY/REPO code layer) may be placed as a checkout"
        )
    dest = config.home / "git" / "checkouts" / _repo_key(url) / commit.lower()
    if not dest.is_dir():
        extract_tar(archive, dest)
    return dest


def _has_commit(bare: Path, rev: str) -> str | None:
    try:
        return _git(
            ["--git-dir", str(bare), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"]
        ).strip()
    except _GitFailed:
        return None


def checkout(
    url: str, revision: str | None, config: Config, *, original_url: str | None = None
) -> Checkout:
    """Check out ``url`` at ``revision`` (``None``: the remote's default branch).

    :raises DownloadError: also when the git cache cannot be written (a read-only
        or full home): it names the path and ``POLYHUB_HOME``.
    """
    try:
        return _checkout(url, revision, config, original_url=original_url)
    except PolyhubError:
        raise
    except OSError as exc:  # mkdir/mkdtemp/rename in a read-only or full home
        raise DownloadError(
            f"cannot write the git cache of {original_url or url}: {exc.filename or config.home}: "
            f"{exc.strerror or exc}. Set POLYHUB_HOME to a writable folder",
            url=original_url or url,
        ) from exc


def _checkout(
    url: str, revision: str | None, config: Config, *, original_url: str | None = None
) -> Checkout:
    original_url = original_url or url
    for value, what in ((url, "repository URL"), (revision or "", "revision")):
        if value.startswith("-") or "\x00" in value or "\n" in value:
            # Would reach git's command line as an option (--upload-pack=...).
            raise DownloadError(f"refusing the {what} {value!r}: it is not a URL or revision")
    key = _repo_key(original_url)
    root = config.home / "git"
    bare = root / "repos" / f"{key}.git"
    refs_file = root / "refs" / f"{key}.json"
    known: dict[str, str] = {}
    if refs_file.exists():
        try:
            known = json.loads(refs_file.read_text())
        except ValueError:
            known = {}
        if not isinstance(known, dict):  # a foreign or damaged file: resolve afresh
            known = {}
    wanted = revision or "HEAD"
    commit: str | None = None
    if revision and _SHA.match(revision.lower()):
        if (root / "checkouts" / key / revision.lower()).is_dir():
            # A pinned commit never changes: its checkout is final.
            return Checkout(
                root / "checkouts" / key / revision.lower(),
                revision.lower(),
                original_url,
                revision,
            )
        if bare.exists():
            commit = _has_commit(bare, revision.lower())
    if commit is None and (config.offline or not config.force_reload):
        # A branch or tag is re-resolved on refresh (force_reload=True), like a
        # pinned dependency: loads stay fast and give the same code until then.
        commit = known.get(wanted)
    if commit is None:
        if config.offline:
            raise OfflineError(
                f"offline mode is on and {original_url}@{wanted} was never fetched into the cache at "
                f"{config.home}; run once online"
            )
        commit = _fetch_and_resolve(url, original_url, bare, revision, force=config.force_reload)
        known[wanted] = commit
        atomic_write(refs_file, json.dumps(known, indent=1, sort_keys=True).encode())
    dest = root / "checkouts" / key / commit
    if not dest.exists():
        _materialise(
            bare,
            commit,
            dest,
            lambda tmp: _submodules(bare, commit, tmp, original_url, config),
        )
    return Checkout(path=dest, commit=commit, url=original_url, revision=revision)


# A fetch brings every branch and tag: a second revision of the same repository
# asked for moments later (MindSpore: the hub's default branch, then r1.6; the
# models repository's master, then a fallback branch) is resolved from it without
# going back to the network. Monotonic time of each bare mirror's last full fetch.
_FRESH_FETCH_S = 10.0
_last_fetch: dict[str, float] = {}


def _fetch_and_resolve(
    url: str, original_url: str, bare: Path, revision: str | None, *, force: bool = False
) -> str:
    fetched_at = _last_fetch.get(str(bare))
    if (
        not force
        and fetched_at is not None
        and time.monotonic() - fetched_at < _FRESH_FETCH_S
        and bare.exists()
    ):
        found = _resolve_fetched(bare, revision)
        if found:
            return found
    if not bare.exists():
        bare.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=bare.parent, prefix=".init-"))
        _git(["init", "--quiet", "--bare", str(tmp)])
        try:
            os.rename(tmp, bare)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # created meanwhile by another process
    fetch = [
        "--git-dir",
        str(bare),
        "fetch",
        "--quiet",
        "--prune",
        "--force",
        "--no-tags",
        "--",
        url,
    ]
    branches_and_tags = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
    if _is_local(url):
        # A plain `git clone` has only its default branch under refs/heads; the others
        # are refs/remotes/origin/*, and a local hub's r1.6 must be found there too.
        branches_and_tags.append(f"+refs/remotes/origin/*:{_ORIGIN}*")
    try:
        _git([*fetch, *branches_and_tags, "+HEAD:refs/polyhub/HEAD"])
    except _GitFailed as exc:
        # A remote without HEAD (or an empty one) still lets its branches be fetched.
        try:
            _git([*fetch, *branches_and_tags])
        except _GitFailed:
            raise DownloadError(
                f"git could not fetch {original_url}: {exc}", url=original_url
            ) from None
    _last_fetch[str(bare)] = time.monotonic()
    found = _resolve_fetched(bare, revision)
    if found:
        return found
    if revision is None:
        raise RevisionNotFoundError(f"{original_url} has no default branch (HEAD)")
    if re.fullmatch(r"[0-9a-fA-F]{7,40}", revision):
        found = _has_commit(bare, revision.lower())
        if found is None and len(revision) == 40:
            # Not reachable from a branch or tag: ask for the object itself.
            try:
                _git(["--git-dir", str(bare), "fetch", "--quiet", "--", url, revision.lower()])
                found = _has_commit(bare, revision.lower())
            except _GitFailed:
                found = None
        if found:
            return found
    branches = _git(
        [
            "--git-dir",
            str(bare),
            "for-each-ref",
            "--format=%(refname:short)",
            "refs/heads",
            "refs/tags",
            _ORIGIN,
        ]
    ).split()
    raise RevisionNotFoundError(
        f"{original_url} has no branch, tag or commit {revision!r}; it has: {', '.join(branches[:20]) or 'nothing'}"
    )


def _resolve_fetched(bare: Path, revision: str | None) -> str | None:
    """The commit of ``revision`` (``None``: the default branch) among the fetched refs."""
    if revision is None:
        return _has_commit(bare, "refs/polyhub/HEAD")
    for ref in (f"refs/heads/{revision}", f"refs/tags/{revision}", f"{_ORIGIN}{revision}"):
        found = _has_commit(bare, ref)
        if found:
            return found
    return None


def checkout_digest(folder: Path) -> str:
    """A sha256 of a checkout's content: every path, its executable bit and its bytes.

    A checkout carries no git objects, so its commit id cannot be checked against
    it; this digest, recorded in a lock file, can (a bundle's code, a locked load).
    Symbolic links count by their target; the completion mark of a folder made by
    :func:`polyhub._atomic.atomic_folder` does not count.
    """
    from ._atomic import COMPLETE_MARK
    from ._hashing import file_sha256

    digest = hashlib.sha256()
    root = Path(folder)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if rel == COMPLETE_MARK:
                continue
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                digest.update(f"{rel}\0link\0{os.readlink(path)}\n".encode())
                continue
            content = file_sha256(path)
            executable = "x" if info.st_mode & stat.S_IXUSR else "-"
            digest.update(f"{rel}\0{executable}\0{content}\n".encode())
    return digest.hexdigest()


def is_published(url: str, commit: str, config: Config) -> bool | None:
    """Whether ``commit`` of ``url`` is on a branch or tag of it (as last fetched).

    A commit that is only on a pull-request ref (``refs/pull/N/head``, how a
    fork's code reaches its parent repository) or on no ref at all is not
    published by the repository's owners, so the repository's trust does not
    cover it. ``url`` is the URL as the source gave it (before mirrors).

    :returns: ``None`` when this home holds no git history of ``url``: the
        checkout arrived without it (an unbundled lock file, a registry's code
        layer), so whether it was published was judged where it was fetched.
    """
    bare = config.home / "git" / "repos" / f"{_repo_key(url)}.git"
    if not _SHA.match(commit):
        return False
    if not bare.is_dir():
        return None
    try:
        found = _git(
            [
                "--git-dir",
                str(bare),
                "for-each-ref",
                "--count=1",
                "--format=%(refname)",
                f"--contains={commit}",
                "refs/heads",
                "refs/tags",
            ]
        )
    except _GitFailed:
        return False
    return bool(found.strip())


def _is_local_url(url: str) -> bool:
    return url.startswith(("file:", "/", "./", "../", "~")) or (
        "://" not in url and not _SCP.match(url)
    )


def _resolve_submodule_url(superproject: str, url: str) -> str:
    """``url`` from ``.gitmodules``, resolved as git does against the superproject's URL."""
    if not url.startswith(("./", "../")):
        return url
    base = superproject.rstrip("/")
    rest = url
    while rest.startswith(("./", "../")):
        if rest.startswith("./"):
            rest = rest[2:]
        else:
            rest = rest[3:]
            base = base.rsplit("/", 1)[0] if "/" in base.split("://", 1)[-1] else base
    return f"{base}/{rest}"


def _submodules(bare: Path, commit: str, tmp: Path, url: str, config: Config) -> None:
    """Fill the gitlinks of ``commit`` (written to ``tmp``) with their pinned checkouts."""
    listing = _git(["--git-dir", str(bare), "ls-tree", "-r", "-z", "--full-tree", commit])
    links = []
    for item in listing.split("\0"):
        meta, _, path = item.partition("\t")
        fields = meta.split()
        if len(fields) == 3 and fields[0] == "160000":
            links.append((path, fields[2]))
    if not links:
        return
    where = f"{url}@{commit[:12]}"
    try:
        raw = _git(
            [
                "--git-dir",
                str(bare),
                "config",
                "-z",
                "--blob",
                f"{commit}:.gitmodules",
                "--get-regexp",
                r"^submodule\..*\.(path|url)$",
            ]
        )
    except _GitFailed:
        raw = ""
    paths: dict[str, str] = {}
    urls: dict[str, str] = {}
    for item in raw.split("\0"):
        key, _, value = item.partition("\n")
        if key.endswith(".path"):
            paths[key[len("submodule.") : -len(".path")]] = value
        elif key.endswith(".url"):
            urls[key[len("submodule.") : -len(".url")]] = value
    url_of = {path: urls.get(name, "") for name, path in paths.items()}
    depth = _depth.get()
    for path, sha in links:
        label = f"{where}: submodule {path!r}"
        try:
            rel = safe_relpath(path)
        except UnsafePathError as exc:
            raise DownloadError(f"{label}: {exc}") from None
        sub_url = _resolve_submodule_url(url, url_of.get(path, ""))
        if not url_of.get(path):
            raise DownloadError(f"{label} has no url in .gitmodules, so it cannot be fetched")
        if _is_local_url(sub_url) and not _is_local_url(url):
            raise UntrustedError(
                f"{label} names {sub_url!r}, a repository on this machine, which a "
                "repository from the network may not do"
            )
        if depth >= MAX_SUBMODULE_DEPTH:
            raise DownloadError(f"{label}: submodules nest more than {MAX_SUBMODULE_DEPTH} deep")
        token = _depth.set(depth + 1)
        try:
            sub = checkout(config.rewrite_url(sub_url), sha, config, original_url=sub_url)
        except RevisionNotFoundError as exc:
            raise RevisionNotFoundError(
                f"{label} pins commit {sha}, which {sub_url} lacks: {exc}"
            ) from None
        except PolyhubError as exc:
            if isinstance(exc, (OfflineError, UntrustedError)):
                raise
            raise DownloadError(f"{label} ({sub_url}) could not be checked out: {exc}") from None
        finally:
            _depth.reset(token)
        shutil.copytree(sub.path, tmp.joinpath(*rel.parts), symlinks=True, dirs_exist_ok=True)


# A checkout being written is ``.<commit12>.<random>.tmp`` (+ ``.index``) next to
# its final folder; one left by a killed process is removed once this old.
STALE_CHECKOUT = 24 * 3600.0


def sweep_stale_checkouts(checkouts: Path, older_than: float = STALE_CHECKOUT) -> list[Path]:
    """Remove half-written checkouts (a process killed during ``_materialise``).

    Only polyhub's own ``.<hex>.<random>.tmp``/``.index`` entries under
    ``checkouts/*/`` (``<home>/git/checkouts``) older than ``older_than`` seconds go.
    """
    removed: list[Path] = []
    now = time.time()
    for path in checkouts.glob("*/.*"):
        if not _PARTIAL_CHECKOUT.fullmatch(path.name):
            continue
        try:
            st = path.lstat()
        except OSError:
            continue
        if now - st.st_mtime < older_than:
            continue
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        removed.append(path)
    return removed


_PARTIAL_CHECKOUT = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9_]+\.(?:tmp|index)")


def _materialise(
    bare: Path, commit: str, dest: Path, fill: Callable[[Path], None] | None = None
) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_checkouts(dest.parent.parent)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{commit[:12]}.", suffix=".tmp"))
    index = tmp.with_suffix(".index")
    try:
        env_args = ["--git-dir", str(bare), "--work-tree", str(tmp)]
        subprocess_env = {**os.environ, "GIT_INDEX_FILE": str(index), "GIT_TERMINAL_PROMPT": "0"}
        for args in (["read-tree", commit], ["checkout-index", "--all", "--force"]):
            done = subprocess.run(
                ["git", *env_args, *args],
                env=subprocess_env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise DownloadError(f"git could not check out {commit}: {done.stderr.strip()}")
        if fill is not None:
            fill(tmp)
        try:
            os.rename(tmp, dest)
        except OSError:
            if not dest.exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        index.unlink(missing_ok=True)

"""The ``megengine:`` address grammar: which repository, which entrypoint, which revision.

Three forms name a repository; the last path segment is always the entrypoint::

    megengine:<owner>/<repo>/<entry>[@ref][?git_host=HOST[:PORT]&protocol=https|ssh|http|git]
    megengine:<git-url>/<entry>[@ref]          e.g. file:///srv/models.git/resnet18,
                                               git://127.0.0.1:9418/models.git/resnet18
    megengine:<folder>/<entry>                 a local folder: /abs, ./rel, ../rel or ~/...

or, equivalently, ``megengine:<entry>?repo=<any of the three repository forms>``.

The ``owner/repo`` form defaults to github.com over HTTPS and to the branch
``master``, as ``megengine.hub`` does (a repository that has no ``master``,
only e.g. ``main``, is read at the remote's default branch instead); the URL and folder forms default to the
repository's own HEAD. ``commit=`` is accepted as upstream's spelling of
``@ref``. A plain folder is used as it is (no git) unless ``@ref`` is given, in
which case it must be a git repository and is checked out at that ref.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from polyhub import Address

from .errors import InvalidGitHost, InvalidProtocol, InvalidRepo

__all__ = [
    "DEFAULT_BRANCH",
    "DEFAULT_GIT_HOST",
    "DEFAULT_REPO",
    "PROTOCOLS",
    "RepoSpec",
    "parse_repo",
    "split_address",
]

DEFAULT_GIT_HOST = "github.com"
DEFAULT_BRANCH = "master"
DEFAULT_REPO = "megengine/models"
PROTOCOLS = ("https", "ssh", "http", "git")

# A host git accepts: a DNS name (any case, single label such as localhost
# allowed), a dotted IPv4 or a bracketed IPv6, then an optional port. A leading
# '-' is refused: git would read it as an option (ssh -oProxyCommand=...).
_HOST = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9])?)(?::(\d{1,5}))?$"
)
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_ENTRY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_URL_SCHEMES = ("file://", "git://", "ssh://", "http://", "https://", "git+ssh://")


@dataclass(frozen=True)
class RepoSpec:
    """A hubconf repository, before any fetching.

    :ivar url: the git URL (mirrors are applied later, by the core), or the folder
        for a local repository.
    :ivar repo_id: what trust is checked against, as the core computes it from the URL:
        lower-case ``host[:port]/owner/repo`` (a protocol's default port left out)
        for network repositories, ``file://<real path>`` for local ones.
    :ivar revision: branch, tag or commit; ``None`` is the repository's HEAD.
    :ivar local: ``True`` for a plain folder used in place (no git).
    :ivar prefix: the address path that names the repository; ``prefix/entry``
        addresses one entrypoint.
    :ivar options: the address options that belong to the repository (git_host, protocol).
    :ivar default_branch: ``revision`` is :data:`DEFAULT_BRANCH` because the address
        named none; a repository without that branch is read at its remote HEAD.
    """

    url: str
    repo_id: str
    revision: str | None
    local: bool = False
    prefix: str = ""
    options: tuple[tuple[str, str], ...] = ()
    default_branch: bool = False

    def address(self, entry: str) -> Address:
        """The canonical address of ``entry`` in this repository."""
        return Address(
            scheme="megengine",
            path=f"{self.prefix}/{entry}",
            revision=self.revision,
            options=dict(self.options),
        )


def _check_host(host: str) -> str:
    match = _HOST.match(host)
    if not match:
        raise InvalidGitHost(
            f"git_host {host!r} is not a host name, IPv4 or [IPv6] address with an "
            "optional :port (e.g. 'git.example.com:2222')"
        )
    port = match.group(1)
    if port is not None and not 0 < int(port) < 65536:
        raise InvalidGitHost(f"git_host {host!r} has a port outside 1-65535")
    # DNS names are case-insensitive; one spelling keeps trust ids and caches stable.
    return host.lower()


def _check_protocol(protocol: str | None) -> str:
    value = (protocol or "https").strip().lower()
    if value not in PROTOCOLS:
        raise InvalidProtocol(
            f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)} (case does not matter)"
        )
    return value


def _git_url(host: str, owner: str, repo: str, protocol: str) -> str:
    hostname, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if not hostname:
        hostname, port = host, ""
    if protocol == "ssh":
        if port:
            # scp syntax (git@host:path) cannot carry a port.
            return f"ssh://git@{hostname}:{port}/{owner}/{repo}.git"
        return f"git@{host}:{owner}/{repo}.git"
    return f"{protocol}://{host}/{owner}/{repo}.git"


def _url_repo_id(url: str) -> str:
    # The core's identity, so trust entries written by `polyhub trust` match.
    from polyhub import repo_id_from_url  # here: the core's git module is heavy to import

    return repo_id_from_url(url)


def _is_local(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~")) or text in (".", "..")


def parse_repo(
    text: str,
    *,
    revision: str | None = None,
    git_host: str | None = None,
    protocol: str | None = None,
) -> RepoSpec:
    """Parse a repository named as ``owner/repo``, a git URL or a local folder.

    :raises InvalidRepo: the text is none of the three forms.
    :raises InvalidGitHost: ``git_host`` is malformed.
    :raises InvalidProtocol: ``protocol`` is not supported.
    """
    text = text.strip()
    if not text:
        raise InvalidRepo("the repository is empty: expected 'owner/repo', a git URL or a folder")
    if text.startswith(_URL_SCHEMES):
        if git_host is not None or protocol is not None:
            raise InvalidRepo(
                f"{text!r} is a URL: git_host and protocol apply only to the 'owner/repo' form"
            )
        url = text.rstrip("/")
        return RepoSpec(url=url, repo_id=_url_repo_id(url), revision=revision, prefix=url)
    if _is_local(text):
        if git_host is not None or protocol is not None:
            raise InvalidRepo(
                f"{text!r} is a folder: git_host and protocol apply only to the 'owner/repo' form"
            )
        folder = Path(os.path.expanduser(text)).absolute()
        folder = Path(os.path.normpath(folder))
        if revision is not None:
            # A ref names a commit: that needs git, so go through a file:// checkout.
            url = folder.as_uri()
            return RepoSpec(url=url, repo_id=_url_repo_id(url), revision=revision, prefix=url)
        return RepoSpec(
            url=str(folder),
            repo_id="file://" + os.path.realpath(folder),
            revision=None,
            local=True,
            prefix=str(folder),
        )
    parts = text.split("/")
    if len(parts) != 2 or not all(_NAME.match(p) and p not in (".", "..") for p in parts):
        raise InvalidRepo(
            f"repository {text!r} is not 'owner/repo', a git URL (file://, git://, ssh://, "
            "http(s)://) or a folder (/abs, ./rel, ~/...)"
        )
    owner, name = parts
    host = _check_host(git_host.strip() if git_host else DEFAULT_GIT_HOST)
    proto = _check_protocol(protocol)
    options: list[tuple[str, str]] = []
    if host != DEFAULT_GIT_HOST:
        options.append(("git_host", host))
    if proto != "https":
        options.append(("protocol", proto))
    url = _git_url(host, owner, name, proto)
    return RepoSpec(
        url=url,
        repo_id=_url_repo_id(url),
        revision=revision or DEFAULT_BRANCH,
        prefix=f"{owner}/{name}",
        options=tuple(options),
        default_branch=revision is None,
    )


def _revision(address: Address) -> str | None:
    commit = address.option("commit")
    commit = str(commit).strip() if commit not in (None, "") else None
    if commit and address.revision and commit != address.revision:
        raise InvalidRepo(
            f"{address}: '@{address.revision}' and commit={commit!r} disagree; give one of them"
        )
    return address.revision or commit


def split_address(address: Address) -> tuple[RepoSpec, str]:
    """Split a ``megengine:`` address into its repository and entrypoint.

    :raises InvalidRepo: the path names no entrypoint, or the repository is malformed.
    """
    path = address.path.strip()
    repo_option = address.option("repo") or address.option("hub")
    if repo_option:
        if "/" in path:
            raise InvalidRepo(
                f"{address}: with repo= the path is just the entrypoint, not {path!r}"
            )
        repo_text, entry = str(repo_option), path
    else:
        repo_text, sep, entry = path.rstrip("/").rpartition("/")
        if not sep or not repo_text:
            raise InvalidRepo(
                f"{address}: expected 'megengine:<owner>/<repo>/<entry>', "
                "'megengine:<git-url>/<entry>', 'megengine:<folder>/<entry>' or "
                "'megengine:<entry>?repo=...'"
            )
    if not _ENTRY.match(entry):
        raise InvalidRepo(f"{address}: entrypoint {entry!r} is not a Python identifier")
    git_host = address.option("git_host")
    protocol = address.option("protocol")
    spec = parse_repo(
        repo_text,
        revision=_revision(address),
        git_host=str(git_host) if git_host not in (None, "") else None,
        protocol=str(protocol) if protocol not in (None, "") else None,
    )
    return spec, entry

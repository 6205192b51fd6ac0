"""Trust: which repositories may run code (``hubconf.py``, ``mindspore_hub_conf.py``) here.

A repository is trusted when it is in the trust list (``<home>/trusted_repos``,
one repo id a line, managed by ``polyhub trust``), in ``POLYHUB_TRUSTED_REPOS``
(comma-separated; an entry ending in ``/`` trusts a whole owner), or under a
prefix its source declares official (``SourceInfo.trusted``). Being in the
cache does NOT make a repository trusted. Nothing here ever calls ``input()``
unless stdin is a terminal and the caller passed ``trust_repo="check"``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from ._atomic import atomic_write
from ._config import Config
from ._errors import PolyhubError, UntrustedError

__all__ = ["TrustStore", "describe", "to_repo_id"]


def normalize(repo_id: str) -> str:
    repo_id = repo_id.strip()
    return repo_id if repo_id.startswith("file://") else repo_id.lower()


def _matches(repo_id: str, entry: str) -> bool:
    entry = normalize(entry)
    if not entry:
        return False
    if entry.endswith("/"):
        return repo_id.startswith(entry)
    return repo_id == entry


class TrustStore:
    """The trust list of one polyhub home."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.path: Path = config.home / "trusted_repos"

    def entries(self) -> list[str]:
        """The repo ids of the trust list.

        :raises PolyhubError: the list exists but cannot be read (it names the file).
        """
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise PolyhubError(
                f"cannot read the trust list {self.path}: {exc}; fix or remove it, "
                "or set POLYHUB_HOME to another folder"
            ) from exc
        return [normalize(ln) for ln in lines if ln.strip() and not ln.startswith("#")]

    def _write(self, entries: list[str]) -> None:
        try:
            atomic_write(self.path, "".join(f"{e}\n" for e in entries).encode())
        except OSError as exc:  # a read-only or full home
            raise PolyhubError(
                f"cannot write the trust list {self.path}: {exc.strerror or exc}. "
                "Set POLYHUB_HOME to a writable folder, or trust through "
                "POLYHUB_TRUSTED_REPOS"
            ) from exc

    def add(self, repo_id: str) -> None:
        """Add ``repo_id`` to the trust list.

        :raises PolyhubError: the list cannot be read or written (it names the file).
        """
        repo_id = normalize(repo_id)
        entries = self.entries()
        if repo_id not in entries:
            self._write([*entries, repo_id])

    def remove(self, repo_id: str) -> bool:
        """Drop ``repo_id`` from the trust list; ``False`` when it was not there.

        :raises PolyhubError: the list cannot be read or written (it names the file).
        """
        repo_id = normalize(repo_id)
        entries = self.entries()
        if repo_id not in entries:
            return False
        self._write([e for e in entries if e != repo_id])
        return True

    def env_entries(self) -> list[tuple[str, str | None]]:
        """``POLYHUB_TRUSTED_REPOS`` read as ``trust add`` reads its argument: each entry's
        repo id, or the entry as written and why it is ignored.

        A URL there (``https://github.com/acme/models``) used to be compared as written,
        so it never matched ``github.com/acme/models`` and trusted nothing, silently.
        """
        result: list[tuple[str, str | None]] = []
        for raw in self.config.trusted_repos:
            try:
                result.append((to_repo_id(raw), None))
            except ValueError as exc:
                result.append((raw, str(exc)))
        return result

    def is_trusted(self, repo_id: str, *, defaults: Iterable[str] = ()) -> bool:
        repo_id = normalize(repo_id)
        from_env = [e for e, problem in self.env_entries() if problem is None]
        sources = [*self.entries(), *from_env, *defaults]
        return any(_matches(repo_id, e) for e in sources)

    def check(self, repo_id: str, *, defaults: Iterable[str] = (), purpose: str = "") -> None:
        """Raise :class:`UntrustedError` unless ``repo_id`` may run code, following ``trust_repo``."""
        mode = self.config.trust_repo
        what = purpose or "run its code"
        if mode is True:
            self.add(repo_id)
            return
        if self.is_trusted(repo_id, defaults=defaults):
            return
        if mode == "check" and sys.stdin is not None and sys.stdin.isatty():
            answer = input(f"The repository {repo_id} is not trusted. Allow it to {what}? [y/N] ")
            if answer.strip().lower() in ("y", "yes"):
                self.add(repo_id)
                return
        raise UntrustedError(
            f"the repository {repo_id} is not trusted to {what}: pass trust_repo=True, "
            f"run 'polyhub trust add {repo_id}', or add it to POLYHUB_TRUSTED_REPOS"
        )

    def check_commit(self, repo_id: str, commit: str, *, purpose: str = "") -> None:
        """Raise :class:`UntrustedError` unless ``repo_id@commit`` is trusted by name.

        For a commit on no branch or tag of a trusted repository (e.g. only on a
        pull-request ref): trusting the repository, an owner prefix or
        ``trust_repo=True`` does not cover it, only an entry ``<repo>@<commit>``
        in the trust list or ``POLYHUB_TRUSTED_REPOS`` (or a yes at a ``"check"``
        prompt on a terminal).
        """
        key = f"{normalize(repo_id)}@{commit.lower()}"
        from_env = [e for e, problem in self.env_entries() if problem is None]
        if key in (*self.entries(), *from_env):
            return
        what = purpose or "run its code"
        note = (
            f"commit {commit} is on no branch or tag of {repo_id} (a pull-request ref, "
            "e.g. a fork's code, or a commit since deleted)"
        )
        if self.config.trust_repo == "check" and sys.stdin is not None and sys.stdin.isatty():
            answer = input(f"The {note}. Allow it to {what}? [y/N] ")
            if answer.strip().lower() in ("y", "yes"):
                self.add(key)
                return
        raise UntrustedError(
            f"the {note}: trusting the repository does not cover it. To {what} anyway, "
            f"run 'polyhub trust add {key}' or add {key} to POLYHUB_TRUSTED_REPOS"
        )


_HOST = r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])"
_PART = r"[A-Za-z0-9_.~-]+"
_REPO_ID = re.compile(rf"^{_HOST}(?::\d+)?/{_PART}/(?:{_PART})?$", re.IGNORECASE)


def to_repo_id(text: str) -> str:
    """The repo id a user means by ``text``: ``host/owner/name``, ``host/owner/`` (a whole
    owner), ``file://<path>``, or a repository URL (``https://...``, ``git@host:owner/name``)
    converted to its id.

    :raises ValueError: anything else, saying what was expected (e.g. a missing host).
    """
    from ._git import repo_id_from_url

    value = text.strip()
    if not value:
        raise ValueError("an empty repo id; expected host/owner/name, e.g. github.com/acme/models")
    pinned = re.fullmatch(r"(?P<repo>[^@]+/[^@/]+)@(?P<commit>[0-9a-fA-F]+)", value)
    if pinned and "://" not in value:
        # One commit of a repository (one on no branch or tag must be trusted by name).
        if len(pinned["commit"]) != 40:
            raise ValueError(
                f"{text!r}: name the commit by its full 40-digit id, as the refusal printed it"
            )
        return f"{to_repo_id(pinned['repo'])}@{pinned['commit'].lower()}"
    if value.startswith("file://"):
        return repo_id_from_url(value)
    if "://" in value or re.match(r"^[^/@]+@[^/:]+:", value):
        converted = repo_id_from_url(value)
        if _REPO_ID.match(converted):
            return normalize(converted)
        raise ValueError(
            f"{text!r}: the URL gives the repo id {converted!r}, which is not host/owner/name"
        )
    candidate = normalize(value.removesuffix(".git"))
    host = candidate.split("/", 1)[0]
    # "acme/models" would read as host "acme": a host has a dot, a port, or is localhost.
    looks_like_host = "." in host or ":" in host or host == "localhost"
    if _REPO_ID.match(candidate) and looks_like_host:
        return candidate
    parts = candidate.rstrip("/").split("/")
    if len(parts) in (1, 2) and "." not in parts[0]:
        hint = "/".join(parts)
        raise ValueError(
            f"{text!r} names no host: write it as host/owner/name, e.g. github.com/{hint}"
            + ("" if len(parts) == 2 else "/")
        )
    raise ValueError(
        f"{text!r} is not a repo id: expected host/owner/name (one repository) or "
        "host/owner/ (every repository of the owner), or the repository's URL"
    )


def describe(repo_id: str) -> str:
    """What trusting ``repo_id`` covers, in words."""
    if repo_id.startswith("file://"):
        return f"code of the local repository at {repo_id.removeprefix('file://')} may run"
    if "@" in repo_id and not repo_id.startswith("file://"):
        repo, commit = repo_id.rsplit("@", 1)
        return f"code of {repo} at commit {commit} only may run"
    if repo_id.endswith("/"):
        return f"code of every repository under {repo_id} may run, at any branch or commit"
    return f"code of the repository {repo_id} (any branch, tag or commit) may run"

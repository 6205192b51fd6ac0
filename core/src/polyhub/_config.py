"""Configuration: the ``POLYHUB_*`` environment variables and per-call overrides.

Read once per call into a frozen :class:`Config`, so one ``load`` sees one
consistent configuration even if the environment changes meanwhile.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ._errors import PolyhubError
from ._flags import parse_bool

__all__ = ["Config", "env_flag", "get_dir", "read_config", "set_dir"]

_home_override: Path | None = None


def env_flag(name: str, default: bool = False) -> bool:
    """Read a boolean variable: 1/true/yes/on or 0/false/no/off, any case (see :func:`parse_bool`).

    Unset gives ``default``; set but empty (``NAME=``) gives ``False``.

    :raises PolyhubError: the value is none of those words.
    """
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.strip():
        return False
    try:
        return parse_bool(raw)
    except PolyhubError:
        # The message shows the assignment as the user wrote it.
        raise PolyhubError(
            f"{name}={raw!r} is not a boolean: use 1/true/yes/on or 0/false/no/off"
        ) from None


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise PolyhubError(f"{name}={raw!r} is not a number") from None
    # inf and nan parse, but break every later use (int(), comparisons, sleeps).
    if not math.isfinite(value):
        raise PolyhubError(f"{name}={raw!r} is not a finite number")
    return value


def _positive(name: str, value: float) -> float:
    # requests refuses a timeout of 0 or less with a bare ValueError, mid-download.
    if value <= 0:
        raise PolyhubError(f"{name}={os.environ.get(name)!r} must be a positive number of seconds")
    return value


def _env_bytes(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PolyhubError(f"{name}={raw!r} is not a whole number of bytes") from None
    if value <= 0:
        raise PolyhubError(f"{name}={raw!r} must be a positive number of bytes")
    return value


def set_dir(path: str | os.PathLike[str] | None) -> None:
    """Set the polyhub home (the cache root) for this process; ``None`` restores the default."""
    global _home_override
    _home_override = None if path is None else Path(os.path.expanduser(os.fspath(path))).absolute()


def dir_was_set() -> bool:
    """True when :func:`set_dir` chose the polyhub home of this process.

    For shims of clients whose own default folder applies only when nobody
    chose one (``mindspore_hub``'s ``~/.mscache``).
    """
    return _home_override is not None


def home_source() -> str:
    """What chose the polyhub home, for messages: ``set_dir()`` or the variable that named it."""
    if _home_override is not None:
        return "set by polyhub.set_dir()"
    if os.environ.get("POLYHUB_HOME"):
        return "POLYHUB_HOME"
    if os.environ.get("XDG_CACHE_HOME"):
        return "under XDG_CACHE_HOME; POLYHUB_HOME is not set"
    return "the default; POLYHUB_HOME is not set"


def get_dir() -> Path:
    """The polyhub home: ``set_dir()``, else ``POLYHUB_HOME``, else ``$XDG_CACHE_HOME/polyhub``,
    else the platform's user cache folder (``~/.cache/polyhub`` on Linux)."""
    if _home_override is not None:
        return _home_override
    home = os.environ.get("POLYHUB_HOME")
    if home:
        return Path(os.path.expanduser(home)).absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:  # empty counts as unset, as the XDG spec says
        return Path(os.path.expanduser(xdg)).absolute() / "polyhub"
    import platformdirs  # only needed when nothing else names the home

    return Path(platformdirs.user_cache_dir("polyhub", appauthor=False)).absolute()


def _parse_mirrors(raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        prefix, sep, replacement = item.partition("=")
        if not sep or not prefix:
            raise PolyhubError(
                f"POLYHUB_MIRRORS entry {item!r} is not PREFIX=REPLACEMENT, e.g. "
                "'https://raw.githubusercontent.com=http://127.0.0.1:8000/raw'"
            )
        pairs.append((prefix.strip(), replacement.strip()))
    # Longest prefix first, so the most specific mirror wins.
    return tuple(sorted(pairs, key=lambda p: len(p[0]), reverse=True))


@dataclass(frozen=True)
class Config:
    """Everything one call of the API needs to know about its environment."""

    home: Path
    offline: bool = False
    require_hashes: bool = False
    mirrors: tuple[tuple[str, str], ...] = ()
    progress: bool = True
    trusted_repos: tuple[str, ...] = ()
    trust_repo: bool | str | None = None
    force_reload: bool = False
    verify: bool = False
    timeout: float = 30.0
    retries: int = 5
    backoff_cap: float = 60.0
    lock_timeout: float = 600.0
    # Slow retrieval: a transfer whose average rate over any ``low_speed_time``
    # seconds falls below ``low_speed_limit`` bytes/s is abandoned (0 turns it off).
    # The names and meaning are curl's and git's (http.lowSpeedLimit/Time).
    low_speed_limit: int = 1024
    low_speed_time: float = 60.0
    # Endless data: the most bytes read for a file whose size no metadata declares,
    # and for an index (a manifest, a card), which is held in memory.
    max_download_bytes: int = 16 << 30
    max_index_bytes: int = 64 << 20
    # How long a cached hub index (a manifest, a card) is used without asking the hub
    # again; an index whose URL names a commit never changes and is kept for good.
    # ``force_reload=True`` refreshes it at once.
    index_ttl: float = 24 * 3600.0

    def with_(self, **changes: Any) -> Config:
        return replace(self, **changes)

    def rewrite_url(self, url: str) -> str:
        """Apply ``POLYHUB_MIRRORS``: the longest matching prefix is replaced."""
        for prefix, replacement in self.mirrors:
            if url.startswith(prefix):
                return replacement + url[len(prefix) :]
        return url


def read_config(
    *,
    offline: bool | None = None,
    trust_repo: bool | str | None = None,
    force_reload: bool = False,
    verify: bool = False,
) -> Config:
    """Build a :class:`Config` from the environment, then apply the per-call overrides.

    ``verify`` (re-hash cached files on every use) is on when asked for here or
    when ``POLYHUB_VERIFY`` is true.
    """
    trusted = tuple(
        t.strip() for t in os.environ.get("POLYHUB_TRUSTED_REPOS", "").split(",") if t.strip()
    )
    if trust_repo is not None and trust_repo not in (True, False, "check"):
        raise PolyhubError(f"trust_repo must be True, False or 'check', not {trust_repo!r}")
    return Config(
        home=get_dir(),
        offline=env_flag("POLYHUB_OFFLINE") if offline is None else bool(offline),
        require_hashes=env_flag("POLYHUB_REQUIRE_HASHES"),
        mirrors=_parse_mirrors(os.environ.get("POLYHUB_MIRRORS", "")),
        progress=not env_flag("POLYHUB_DISABLE_PROGRESS_BARS"),
        trusted_repos=trusted,
        trust_repo=trust_repo,
        force_reload=force_reload,
        verify=verify or env_flag("POLYHUB_VERIFY"),
        timeout=_positive("POLYHUB_TIMEOUT", _env_float("POLYHUB_TIMEOUT", 30.0)),
        retries=int(_env_float("POLYHUB_RETRIES", 5)),
        lock_timeout=_env_float("POLYHUB_LOCK_TIMEOUT", 600.0),
        low_speed_limit=int(_env_float("POLYHUB_LOW_SPEED_LIMIT", 1024)),
        low_speed_time=_env_float("POLYHUB_LOW_SPEED_TIME", 60.0),
        max_download_bytes=_env_bytes("POLYHUB_MAX_DOWNLOAD_BYTES", 16 << 30),
        max_index_bytes=_env_bytes("POLYHUB_MAX_INDEX_BYTES", 64 << 20),
        index_ttl=_env_float("POLYHUB_INDEX_TTL", 24 * 3600.0),
    )

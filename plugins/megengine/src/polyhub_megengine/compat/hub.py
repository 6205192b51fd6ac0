"""A drop-in for ``megengine.hub``, backed by polyhub: ``from polyhub_megengine.compat import hub``.

Follows the API of ``megengine.hub`` in MegEngine 1.13 (the last release with
Linux wheels): same names, arguments, defaults, return values and exception class
names (``list``, ``help``, ``load``, ``import_module``, ``load_serialized_obj_from_url``,
``pretrained``); ``docs/megengine.md`` lists every deliberate difference beside
upstream's behaviour. Upstream's flaws fixed:

- repositories are git checkouts pinned to a commit in polyhub's cache (mirrors,
  offline mode, ``force_reload``), any host git accepts (ports, IPv4/IPv6, upper
  case), and branches containing ``/`` work over SSH too;
- ``import_module`` has upstream's documented ``git_host`` default;
- ``list`` and ``help`` read ``hubconf.py`` statically and never run it;
- running ``hubconf.py`` needs trust (``github.com/megengine/*`` is trusted by
  default; pass ``trust_repo=True`` or use ``polyhub trust add``); ``dependencies``
  is checked before anything is imported;
- weights are verified (``#sha256=`` on the URL, or the first-seen hash) and
  unpickled with an allow-list (``trust_pickles=True`` lifts it);
- every error derives from ``Exception`` (upstream's ``HTTPDownloadError`` was a
  ``BaseException``) and from the matching polyhub error.

``use_cache=True`` (the default, as upstream) uses the cached checkout without
network when there is one; ``use_cache=False`` fetches the code again and, as
upstream, reuses cached weights. ``model_dir`` of
``load_serialized_obj_from_url`` is accepted for compatibility; files live in
polyhub's content-addressed cache.
"""

from __future__ import annotations

import builtins
import functools
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from polyhub import (
    CodeRef,
    Context,
    Device,
    DownloadError,
    HashMismatchError,
    ImportedCode,
    ModelNotFoundError,
    OfflineError,
    RevisionNotFoundError,
    make_context,
)

from ..address import DEFAULT_BRANCH, RepoSpec, parse_repo
from ..detect import HUBCONF as _HUBCONF_FORMAT
from ..errors import (
    BranchNotFoundError,
    FetcherError,
    GitCheckoutError,
    GitPullError,
    HTTPDownloadError,
    HTTPSFetchError,
    HTTPSRevisionError,
    InvalidGitHost,
    InvalidProtocol,
    InvalidRepo,
    NoHubconfError,
    WeightsNotFoundError,
)
from ..weights import WeightLoader, intercept, pretrained

__all__ = [
    "DEFAULT_BRANCH_NAME",
    "DEFAULT_GIT_HOST",
    "DEFAULT_PROTOCOL",
    "EntryNotFoundError",
    "FetcherError",
    "GitCheckoutError",
    "GitPullError",
    "HTTPDownloadError",
    "InvalidGitHost",
    "InvalidProtocol",
    "InvalidRepo",
    "help",
    "import_module",
    "list",
    "load",
    "load_serialized_obj_from_url",
    "pretrained",
]

DEFAULT_GIT_HOST = "github.com"
DEFAULT_PROTOCOL = "HTTPS"
DEFAULT_BRANCH_NAME = DEFAULT_BRANCH
HUBCONF = "hubconf.py"
HUBDEPENDENCY = "dependencies"

_T = TypeVar("_T")


class EntryNotFoundError(ModelNotFoundError, RuntimeError):
    """No such entrypoint; a ``RuntimeError`` as upstream raised, and a polyhub error."""


def _spec(repo_info: str, git_host: str, commit: str | None, protocol: str) -> RepoSpec:
    # Upstream's grammar is owner/name[:branch]: a second ':' is malformed, and is
    # refused here, before any fetch, as upstream refuses it.
    if not isinstance(repo_info, str) or not repo_info.strip() or repo_info.count(":") > 1:
        raise InvalidRepo(f"repo_info: {repo_info!r} is invalid.")
    # Split at the first ':' only: the branch keeps its '/' (feature/x), unlike upstream over SSH.
    repo, _, branch = repo_info.partition(":")
    return parse_repo(repo, revision=commit or branch or None, git_host=git_host, protocol=protocol)


def _context(*, offline: bool | None, use_cache: bool, trust_repo: bool | str | None) -> Context:
    return make_context(offline=offline, trust_repo=trust_repo, force_reload=not use_cache)


def _weights_context(context: Context) -> Context:
    """The context weights are fetched with: upstream's ``use_cache=False`` fetches the
    code again, never the weights, which stay in its ``serialized`` folder."""
    if not context.force_reload:
        return context
    return context.with_(force_reload=False)


@contextmanager
def _translated(protocol: str, commit: str | None) -> Iterator[None]:
    """Upstream's error classes for fetching a repository, still polyhub errors underneath.

    Upstream's class depends on how it fetched: over SSH ``git clone -b <branch>``
    fails with ``GitPullError`` for a missing repository or branch and ``git checkout``
    with ``GitCheckoutError`` for a missing commit; over HTTPS (the default) it
    downloads an archive and any failure is ``HTTPDownloadError``.
    """
    https = protocol.upper() == "HTTPS"
    try:
        yield
    except (FetcherError, HTTPDownloadError, HashMismatchError, OfflineError):
        raise
    except RevisionNotFoundError as exc:
        if https:
            raise HTTPSRevisionError(str(exc)) from exc
        if commit is None:
            raise BranchNotFoundError(str(exc)) from exc
        raise GitCheckoutError(str(exc)) from exc
    except DownloadError as exc:
        error = HTTPSFetchError if https else GitPullError
        raise error(str(exc), url=exc.url, status=exc.status) from exc


def _weights_error(exc: DownloadError) -> HTTPDownloadError:
    """Upstream's downloader raised a ``FileNotFoundError`` for a 404."""
    error = WeightsNotFoundError if exc.status == 404 else HTTPDownloadError
    return error(str(exc), url=exc.url, status=exc.status)


@contextmanager
def _weights_errors() -> Iterator[None]:
    """A failed weights download is upstream's ``HTTPDownloadError``, not a git error."""
    try:
        yield
    except (FetcherError, HashMismatchError, OfflineError):
        raise
    except DownloadError as exc:
        raise _weights_error(exc) from exc


def _with_repo(
    repo_info: str,
    git_host: str,
    use_cache: bool,
    commit: str | None,
    protocol: str,
    trust_repo: bool | str | None,
    action: Callable[[Context, RepoSpec], _T],
) -> _T:
    spec = _spec(repo_info, git_host, commit, protocol)
    with _translated(protocol, commit):
        if use_cache:
            # Upstream's use_cache: a cached checkout is used without any network.
            try:
                return action(_context(offline=True, use_cache=True, trust_repo=trust_repo), spec)
            except OfflineError:
                pass
        return action(_context(offline=None, use_cache=use_cache, trust_repo=trust_repo), spec)


def _hubconf(context: Context, spec: RepoSpec) -> Any:
    from ..repo import hubconf_for, materialize

    root, commit = materialize(context, spec.url, spec.revision)
    if not (root / HUBCONF).is_file():
        raise NoHubconfError(f"{spec.url}: the checkout {root} has no {HUBCONF}")
    return hubconf_for(root, commit)


def list(
    repo_info: str,
    git_host: str = DEFAULT_GIT_HOST,
    use_cache: bool = True,
    commit: str | None = None,
    protocol: str = DEFAULT_PROTOCOL,
) -> builtins.list[str]:
    """All entrypoints of the repository's ``hubconf.py``, read without running it."""
    conf = _with_repo(repo_info, git_host, use_cache, commit, protocol, None, _hubconf)
    return builtins.list(conf.names())


def help(
    repo_info: str,
    entry: str,
    git_host: str = DEFAULT_GIT_HOST,
    use_cache: bool = True,
    commit: str | None = None,
    protocol: str = DEFAULT_PROTOCOL,
) -> str | None:
    """The docstring of ``entry`` (what ``entry.__doc__`` is: ``None`` when it has none),
    read without running hubconf."""
    conf = _with_repo(repo_info, git_host, use_cache, commit, protocol, None, _hubconf)
    found = conf.entry(entry)
    if found is None:
        raise EntryNotFoundError(
            f"Cannot find callable {entry} in hubconf.py of {repo_info}; it has: {', '.join(conf.names())}"
        )
    return found.doc


def load(
    repo_info: str,
    entry: str,
    *args: Any,
    git_host: str = DEFAULT_GIT_HOST,
    use_cache: bool = True,
    commit: str | None = None,
    protocol: str = DEFAULT_PROTOCOL,
    **kwargs: Any,
) -> Any:
    """Load ``entry`` from the repository, e.g. ``load("megengine/models", "resnet18", pretrained=True)``.

    polyhub extensions (keyword only): ``trust_repo`` (``True``, ``False`` or ``"check"``)
    and ``trust_pickles`` (unpickle weights without the allow-list).
    """
    from ..runtime import load_entry

    trust_repo = kwargs.pop("trust_repo", None)
    trust_pickles = bool(kwargs.pop("trust_pickles", False))

    def action(context: Context, spec: RepoSpec) -> Any:
        conf = _hubconf(context, spec)
        if conf.entry(entry) is None:
            raise EntryNotFoundError(
                f"Cannot find callable {entry} in hubconf.py of {repo_info}; it has: "
                + ", ".join(conf.names())
            )
        from ..repo import materialize

        _, pinned = materialize(context, spec.url, spec.revision)
        code = CodeRef(
            url=spec.url,
            revision=pinned or spec.revision,
            entry=entry,
            kind=_HUBCONF_FORMAT,
            repo_id=spec.repo_id,
            file=HUBCONF,
        )
        try:
            # The core checks dependencies and trust before hubconf.py runs.
            imported = context.import_code(code, scheme="megengine", purpose=f"run {HUBCONF}")
            with _weights_errors():
                return load_entry(
                    _weights_context(context),
                    imported,
                    Device("auto"),
                    args=args,
                    kwargs=kwargs,
                    trust_pickles=trust_pickles,
                    where=f"{repo_info}:{entry}",
                )
        except ModelNotFoundError as exc:
            if isinstance(exc, RuntimeError):
                raise
            # Read statically the name looked callable (``x = make()``); once run it is
            # not: upstream's RuntimeError, as for an entry that is not there at all.
            raise EntryNotFoundError(str(exc)) from exc

    return _with_repo(repo_info, git_host, use_cache, commit, protocol, trust_repo, action)


def import_module(
    repo_info: str,
    git_host: str = DEFAULT_GIT_HOST,
    use_cache: bool = True,
    commit: str | None = None,
    protocol: str = DEFAULT_PROTOCOL,
    *,
    trust_repo: bool | str | None = None,
) -> types.ModuleType:
    """The repository's ``hubconf`` module (after the trust and dependency checks).

    Its functions run with the repository's modules importable and weights
    routed through polyhub, also when called later.
    """
    from ..repo import materialize

    def action(context: Context, spec: RepoSpec) -> types.ModuleType:
        conf = _hubconf(context, spec)
        _, pinned = materialize(context, spec.url, spec.revision)
        code = CodeRef(
            url=spec.url,
            revision=pinned or spec.revision,
            kind=_HUBCONF_FORMAT,
            repo_id=spec.repo_id,
            file=HUBCONF,
        )
        # The core checks dependencies and trust, then imports the whole file.
        imported = context.import_code(code, scheme="megengine", purpose=f"run {HUBCONF}")
        module = imported.module
        assert module is not None  # no entry named: the whole file, or an error
        loader = WeightLoader(
            _weights_context(context), repo_sha256=conf.weights_sha256, where=repo_info
        )
        wrapped = types.ModuleType(f"hubconf ({repo_info}@{(pinned or '')[:12]})", module.__doc__)
        for name, value in vars(module).items():
            if isinstance(value, types.FunctionType):
                value = _in_repo(value, imported, loader)
            setattr(wrapped, name, value)
        return wrapped

    return _with_repo(repo_info, git_host, use_cache, commit, protocol, trust_repo, action)


def _in_repo(
    function: Callable[..., Any], imported: ImportedCode, loader: WeightLoader
) -> Callable[..., Any]:
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        with _weights_errors(), intercept(loader), imported.activate():
            return function(*args, **kwargs)

    return call


def load_serialized_obj_from_url(
    url: str, model_dir: Any = None, *, trust_pickles: bool = False
) -> Any:
    """Download ``url`` into polyhub's verified cache and unpickle it (allow-listed)."""
    context = _context(offline=None, use_cache=True, trust_repo=None)
    try:
        return WeightLoader(context, trusted_pickles=trust_pickles).load(url)
    except (HashMismatchError, OfflineError):
        raise
    except DownloadError as exc:
        raise _weights_error(exc) from exc

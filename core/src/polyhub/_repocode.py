"""A card's code (:class:`~polyhub.CodeRef`) checked out, checked and imported: the one place.

Every runtime that needs model code (a ``hubconf.py`` entrypoint, a
``mindspore_hub_conf.py`` network factory) receives it from here, through
:meth:`polyhub.Context.import_code`, so the rules hold whatever the plugin does:

1. the repository is checked out through the core's git (mirrors, cache by
   commit, offline mode); a pinned commit is never resolved again; a local
   folder is used in place;
2. before any of it runs, the file is checked to exist (trying the
   reference's ``fallback_revisions`` when it does not) and its module-level
   ``dependencies = [...]`` list (the ``torch.hub``/``megengine.hub``
   convention) is read statically: every missing package is named at once;
3. trust: the repository (:meth:`~polyhub.Context.check_trust`) and, for a
   commit on no branch or tag of it, the commit itself;
4. only then the isolated import (:class:`~polyhub._isolation.RepoImporter`):
   the whole file first, and when it needs packages that are not installed,
   the entry alone from the module the file takes it from.

Checkouts and imports are kept for the process per (home, URL, commit): a
second load of the same code makes no git call and imports nothing again;
``force_reload`` does both afresh. A local folder may change between loads, so
its code is imported again each time.
"""

from __future__ import annotations

import ast
import importlib.util
import logging
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from ._errors import (
    MetadataError,
    MissingDependencyError,
    ModelNotFoundError,
    RevisionNotFoundError,
    UnsupportedError,
)
from ._values import CodeRef, ImportedCode

if TYPE_CHECKING:
    from ._config import Config
    from ._git import Checkout
    from ._isolation import RepoImporter

__all__ = ["declared_dependencies", "import_code", "locate", "missing_dependencies"]

log = logging.getLogger(__name__)


class Services(Protocol):
    """What the materialisation uses of a :class:`~polyhub.Context` (which calls it).

    Named here, not imported, so the context can offer ``import_code`` without
    an import circle.
    """

    config: Config

    @property
    def force_reload(self) -> bool: ...

    def checkout(self, url: str, revision: str | None = None) -> Checkout: ...

    def check_trust(
        self, repo_id: str, *, scheme: str | None = None, purpose: str = ""
    ) -> None: ...

    def is_trusted(self, repo_id: str, scheme: str | None = None) -> bool: ...


DEPENDENCIES = "dependencies"

_lock = threading.RLock()
# (home, url, revision asked) -> checkout: a branch is resolved once a process.
_checkouts: dict[tuple[str, str, str | None], Checkout] = {}


@dataclass
class _Imported:
    """What one commit's file gave: the module (or why not), entries imported alone."""

    importer: RepoImporter | None = None
    module: ModuleType | None = None
    failed: MissingDependencyError | None = None
    alone: RepoImporter | None = None
    alone_names: dict[str, Any] = field(default_factory=dict)
    # Whether the commit is on a branch or tag (None: no history here), once asked.
    published: bool | None = None
    published_known: bool = False


# (home, url, commit, file relative to the checkout) -> what its import gave.
_imports: dict[tuple[str, str, str, str], _Imported] = {}


def forget() -> None:
    """Drop every remembered checkout and import (tests; a long-lived process after cleaning)."""
    with _lock:
        _checkouts.clear()
        _imports.clear()


def import_code(
    context: Services, code: CodeRef, *, scheme: str, purpose: str = ""
) -> ImportedCode:
    """Check out ``code``, check it statically and for trust, then import it in isolation.

    :param scheme: the source whose trusted defaults apply (the card's source).
    :param purpose: what the code is run for, shown in a trust prompt or refusal.
    :returns: the imported file and the object named by ``code.function`` (else
        ``code.entry``), with ``ref.revision`` pinned to the commit used.
    :raises polyhub.MetadataError: the reference names no file, an unsafe folder,
        or a file that is at none of its revisions; a ``dependencies`` list that
        is no literal; the file, once run, binds nothing callable to ``function``.
    :raises polyhub.UnsupportedError: a package of ``dependencies`` is not installed
        (every one named), or the code ends the process when imported.
    :raises polyhub.UntrustedError: the repository, or its unpublished commit, is
        not trusted: nothing of it ran.
    :raises polyhub.MissingDependencyError: the import needs packages that are not
        installed (all named, with the files that import them).
    :raises polyhub.ModelNotFoundError: the file, once run, binds no callable ``entry``;
        or a local folder that does not exist.
    """
    relpath = _relpath(code)
    name = code.function or code.entry
    if name.startswith("__"):
        # Dunders are the module's machinery (__class__, __loader__), never a model;
        # refused before any git call.
        raise MetadataError(
            f"{name!r} is not a model entry: names starting with '__' are refused",
            file=code.url,
            field="code.function" if code.function else "code.entry",
        )
    checkout_root, commit, ref = _materialise(context, code, relpath)
    path = checkout_root.joinpath(*relpath.parts)
    # The importer's root is the code's folder: its top-level packages (src, official)
    # are the ones next to the file, as when upstream put that folder on sys.path.
    folder = checkout_root.joinpath(*relpath.parts[: len(relpath.parts) - _file_depth(code)])
    where = f"{code.url}@{commit[:12]}" if commit else code.url
    what = purpose or f"run {relpath.name} of {code.url}"
    # The importer's root is part of the key: pkg/b.py imported from the root and
    # b.py of subdir pkg resolve their own imports differently.
    top = folder.relative_to(checkout_root).as_posix()
    key = (str(context.config.home), code.url, commit, f"{top}:{relpath}") if commit else None
    entry: _Imported | None = None
    if key is not None and not context.force_reload:
        with _lock:
            entry = _imports.get(key)
    if entry is None:
        entry = _Imported()
        # Read without running anything: an install the user must make comes before trust.
        try:
            check_dependencies(path)
        except UnsupportedError as exc:
            repo_id = _trust_id(ref)
            if context.config.trust_repo is True or context.is_trusted(repo_id, scheme=scheme):
                raise
            # The names come from a repository nobody trusted: "pip install" them blindly
            # is how a dependency-confusion package gets in.
            raise UnsupportedError(
                f"{exc}. The repository {repo_id} is not trusted either: check it, and the "
                "packages it names, before installing anything it asks for"
            ) from None
    _check_trust(context, ref, commit, entry, scheme=scheme, purpose=what)
    module, function, activator = _import(entry, folder, path, name, where)
    if key is not None:
        with _lock:
            _imports[key] = entry
    if name and (function is None or not callable(function)):
        message = f"{where}: {relpath.name}, once run, binds no callable {name!r}"
        if code.function:
            # The card's kind of code promises this name (create_network): a broken repository.
            raise MetadataError(message, file=code.url, field="code.function")
        raise ModelNotFoundError(message)
    return ImportedCode(
        ref=ref, root=folder, commit=commit, module=module, function=function, activator=activator
    )


def locate(context: Services, code: CodeRef) -> tuple[Path, str | None, CodeRef]:
    """Where ``code``'s file is, without running or trusting anything: (checkout, commit, pinned ref).

    The revision that holds the file is the reference's own or, failing that, the
    first of its ``fallback_revisions`` that does; the returned reference is
    pinned to that commit (and has no fallbacks left when one was used), so a
    lock file or a registry copy records the code that will run.

    :raises polyhub.MetadataError: as :func:`import_code`.
    """
    return _materialise(context, code, _relpath(code))


def _file_depth(code: CodeRef) -> int:
    """How many path segments ``code.file`` has (``hubconf.py``: 1)."""
    return len([p for p in code.file.split("/") if p not in ("", ".")])


def _relpath(code: CodeRef) -> PurePosixPath:
    """``subdir/file``, refused when it names no file or leaves the checkout."""
    from ._paths import UnsafePathError, safe_relpath

    if not code.file:
        raise MetadataError(
            f"the code reference of {code.url} names no file to import",
            file=code.url,
            field="code.file",
        )
    try:
        file = safe_relpath(code.file)
        # "", "." and "/" name the repository's root; ".." must not be stripped to it.
        root_only = all(p in ("", ".") for p in code.subdir.split("/"))
        folder = PurePosixPath() if root_only else safe_relpath(code.subdir)
    except UnsafePathError as exc:
        raise MetadataError(
            f"{exc}: model code must stay inside its repository", file=code.url, field="code"
        ) from None
    if file.suffix != ".py":
        raise MetadataError(
            f"{code.file!r} is not a Python file (*.py): the core imports only those",
            file=code.url,
            field="code.file",
        )
    return folder / file


def _is_local(url: str) -> bool:
    """A plain folder (used in place, no git), as opposed to a git URL."""
    return os.path.isabs(url) and "://" not in url


def _checkout(context: Services, url: str, revision: str | None) -> Checkout:
    key = (str(context.config.home), url, revision)
    if not context.force_reload:
        with _lock:
            known = _checkouts.get(key)
        if known is not None and Path(known.path).is_dir():
            return known
    done = context.checkout(url, revision)
    with _lock:
        _checkouts[key] = done
    return done


def _materialise(
    context: Services, code: CodeRef, relpath: PurePosixPath
) -> tuple[Path, str | None, CodeRef]:
    """The folder the file is imported from, the commit (``None``: a local folder), the pinned ref."""
    if _is_local(code.url):
        root = Path(code.url)
        if not root.is_dir():
            raise ModelNotFoundError(f"the code folder {root} does not exist")
        _inside(root, relpath, code)
        if not root.joinpath(*relpath.parts).is_file():
            raise MetadataError(
                f"the code folder {root} has no {relpath}", file=code.url, field="code.file"
            )
        return root, None, code
    done = _checkout(context, code.url, code.revision)
    if _has(done.path, relpath, code):
        return Path(done.path), done.commit, replace(code, revision=done.commit)
    for revision in code.fallback_revisions:
        if revision == code.revision:
            continue
        try:
            other = _checkout(context, code.url, revision)
        except RevisionNotFoundError:
            continue
        if _has(other.path, relpath, code):
            log.warning(
                "%s: %s on %s has no %s (it moved since the card was written); using its "
                "revision %s (commit %s), which the card names as a fallback",
                code.url,
                code.subdir or "the root",
                code.revision or "the default branch",
                relpath.name,
                revision,
                other.commit[:12],
            )
            return (
                Path(other.path),
                other.commit,
                replace(code, revision=other.commit, fallback_revisions=()),
            )
    tried = ", ".join(code.fallback_revisions)
    raise MetadataError(
        f"{code.url}@{done.commit[:12]} has no {relpath.name} in {code.subdir or 'its root'}"
        + (f" (nor at {tried})" if tried else ""),
        file=code.url,
        field="code",
    )


def _inside(root: Path, relpath: PurePosixPath, code: CodeRef) -> Path:
    target = root.joinpath(*relpath.parts)
    if not target.resolve().is_relative_to(root.resolve()):
        # A link in the repository pointing out of it.
        raise MetadataError(
            f"{relpath} leaves the repository {code.url}", file=code.url, field="code"
        )
    return target


def _has(root: Path, relpath: PurePosixPath, code: CodeRef) -> bool:
    return _inside(Path(root), relpath, code).is_file()


# -- static checks --------------------------------------------------------------


def declared_dependencies(path: Path) -> tuple[str, ...]:
    """The module-level ``dependencies = [...]`` of ``path``, read without running it.

    :raises polyhub.MetadataError: the file does not parse, or ``dependencies`` is
        not a literal list of module names (names the line).
    """
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError) as exc:
        raise MetadataError(
            f"is not valid Python: {exc}", file=str(path), line=getattr(exc, "lineno", None)
        ) from None
    except (MemoryError, RecursionError):
        # Expressions nested thousands deep exhaust CPython's parser (x = ------...1):
        # a hostile file, read before any trust decision.
        raise MetadataError(
            "is nested too deep to be read statically", file=str(path), field=DEPENDENCIES
        ) from None
    found: ast.expr | None = None
    line: int | None = None
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == DEPENDENCIES for t in targets):
            found, line = getattr(node, "value", None), node.lineno
    if found is None:
        return ()
    try:
        value = ast.literal_eval(found)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise MetadataError(
            "must be a literal list of module names (read without running the file)",
            file=str(path),
            line=line,
            field=DEPENDENCIES,
        ) from None
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise MetadataError(
            "must be a list of module names", file=str(path), line=line, field=DEPENDENCIES
        )
    return tuple(value)


def missing_dependencies(names: tuple[str, ...]) -> list[str]:
    """The modules of ``names`` that cannot be found here (looked up, nothing imported)."""
    missing = []
    for name in names:
        top = name.strip().partition(".")[0]
        try:
            found = bool(top) and importlib.util.find_spec(top) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def check_dependencies(path: Path) -> None:
    """Raise :class:`~polyhub.UnsupportedError` naming every package of ``dependencies`` missing here."""
    missing = missing_dependencies(declared_dependencies(path))
    if missing:
        raise UnsupportedError(
            f"{path}: field '{DEPENDENCIES}' needs {len(missing)} package(s) not installed "
            f"here: {', '.join(missing)}; install them (e.g. pip install {' '.join(missing)}) "
            "and load again"
        )


# -- trust and import -------------------------------------------------------------


def _trust_id(ref: CodeRef) -> str:
    """The identity trust is checked against: a reference that names none is judged by its URL's."""
    from ._git import repo_id_from_url

    return ref.repo_id.strip() or repo_id_from_url(ref.url)


def _check_trust(
    context: Services,
    ref: CodeRef,
    commit: str | None,
    entry: _Imported,
    *,
    scheme: str,
    purpose: str,
) -> None:
    # Asked on every load (trust may have been withdrawn since); only whether the
    # commit is published, a git call, is remembered with the import.
    from ._git import is_published
    from ._trust import TrustStore

    repo_id = _trust_id(ref)
    context.check_trust(repo_id, scheme=scheme, purpose=purpose)
    if commit is None:
        return

    if not entry.published_known:
        entry.published = is_published(ref.url, commit, context.config)
        entry.published_known = True
    if entry.published is False:
        # The same rule as Context.check_commit_trust.
        TrustStore(context.config).check_commit(repo_id, commit, purpose=purpose)


def _import(
    entry: _Imported, folder: Path, path: Path, name: str, where: str
) -> tuple[ModuleType | None, Any, Callable[[], AbstractContextManager[None]]]:
    """The module (or ``None``), the object ``name`` and how to activate the repository."""
    from ._isolation import RepoImporter

    relpath = path.relative_to(folder).as_posix()
    cwd = os.getcwd()
    try:
        if entry.module is None and entry.failed is None:
            importer = RepoImporter(folder)
            try:
                entry.module, entry.importer = importer.load(relpath), importer
            except MissingDependencyError as exc:
                # Importing it again would only fail again, seconds later.
                entry.failed = exc
        if entry.module is not None and entry.importer is not None:
            function = getattr(entry.module, name, None) if name else None
            activator: Callable[[], AbstractContextManager[None]] = entry.importer.active
        else:
            assert entry.failed is not None
            if not name:
                raise _again(entry.failed)
            function = entry.alone_names.get(name)
            if function is None:
                function = _alone(entry, folder, relpath, name, entry.failed, where)
            assert entry.alone is not None
            activator = entry.alone.active
    finally:
        if os.getcwd() != cwd:
            # Repository code that chdir()s must not move the caller.
            os.chdir(cwd)
    return entry.module, function, activator


def _again(exc: MissingDependencyError) -> MissingDependencyError:
    return MissingDependencyError(str(exc), name=exc.name, path=exc.path, missing=exc.missing)


def _alone(
    entry: _Imported,
    folder: Path,
    relpath: str,
    name: str,
    whole: MissingDependencyError,
    where: str,
) -> Any:
    """``name`` from its own module, for a file that cannot be imported whole.

    The real MegEngine/Models ``hubconf.py`` imports every model family at module
    level, so a package one of them lacks (``youtokentome`` for DALL-E, which has
    no wheel) would make all 94 entrypoints unusable. When the file takes
    ``name`` by ``from MODULE import name``, importing ``MODULE`` alone gives
    the very same object.
    """
    from ._isolation import RepoImporter

    importer = entry.alone or RepoImporter(folder)
    try:
        function = importer.load_name(relpath, name)
    except LookupError:
        raise _again(whole) from None
    except MissingDependencyError as own:
        # What the entry's own module lacks: all the user must install for it.
        raise own from whole
    entry.alone = importer
    entry.alone_names[name] = function
    log.info("%s: %s cannot be imported whole (%s); %s imported alone", where, relpath, whole, name)
    return function

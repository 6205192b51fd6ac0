"""Import repository code (``hubconf.py``, ``mindspore_hub_conf.py``) in isolation.

Model repositories ship top-level packages with common names (``src``,
``official``, ``models``, ``utils``), often as namespace packages (folders with
no ``__init__.py``). Importing two of them into one process the naive way
(``sys.path.insert``) makes the second repository silently reuse the first
one's modules, and namespace packages keep a ``__path__`` that is recomputed
from whatever ``sys.path`` holds at the time.

A :class:`RepoImporter` resolves the repository's names with its own finder
(first on ``sys.meta_path`` while the repository's code runs), gives every
package a fixed ``__path__`` inside the repository, keeps the repository's
modules in its own table and swaps them into ``sys.modules`` only while that
repository's code runs. The checkout never goes on ``sys.path`` (folders of
it that its code appends are there only while its code runs); ``sys.modules``,
``sys.meta_path`` and ``sys.argv`` are restored after every block, also when
the repository's code fails.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import itertools
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

from ._errors import MissingDependencyError, UnsupportedError
from ._importscan import imported_from, missing_imports, module_files, pip_name

__all__ = ["RepoImporter"]

_counter = itertools.count()

# The swap of sys.modules/sys.argv is process-wide: two threads running two
# repositories' code at once would see each other's modules. Reentrant, so a
# repository function may load another repository.
_swap_lock = threading.RLock()

_LOADERS = (
    (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
    (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES),
    (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
)


class _RepoFinder(MetaPathFinder):
    """Finds the modules under the top-level names one repository claims, in that repository only."""

    def __init__(self, importer: RepoImporter) -> None:
        self.importer = importer

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] not in self.importer.claimed:
            return None
        folders = [str(self.importer.root)] if path is None else list(path)
        return self.importer.find(fullname, folders)

    def invalidate_caches(self) -> None:
        self.importer.invalidate_caches()


class RepoImporter:
    """Imports modules of one repository checkout without leaking them into the process.

    ``load("hubconf.py")`` imports a file; call the repository's functions
    inside ``with importer.active():`` so imports they make lazily resolve to
    this repository's modules too.

    A top-level name belongs to the repository when the repository root holds
    ``name.py`` or ``name/__init__.py`` (as with the repository first on
    ``sys.path``), or a folder ``name`` with no ``__init__.py`` that no
    installed package of that name outranks (namespace packages lose to
    regular ones, as in Python's own import system). Built-in modules and
    standard-library modules the process already imported are never replaced.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.modules: dict[str, ModuleType] = {}
        self._finders: dict[str, importlib.machinery.FileFinder] = {}
        self._claimed: frozenset[str] | None = None
        self._depth = 0
        self._argv0 = str(self.root / "hubconf.py")
        self._own_path: list[str] = []

    @property
    def claimed(self) -> frozenset[str]:
        """Top-level module names this repository provides (decided once, on first use)."""
        if self._claimed is None:
            self._claimed = frozenset(self._decide_claims())
        return self._claimed

    def _decide_claims(self) -> Iterator[str]:
        try:
            entries = list(self.root.iterdir())
        except OSError:
            return
        others = [p for p in sys.path if _resolved(p) != self.root]
        for entry in entries:
            name = entry.name.partition(".")[0] if entry.is_file() else entry.name
            if not name.isidentifier() or name in sys.builtin_module_names:
                continue
            if name in sys.stdlib_module_names and name in sys.modules:
                continue
            if entry.is_file():
                if entry.suffix == ".py" or entry.name.endswith(_extension_suffixes()):
                    yield name
            elif entry.is_dir():
                if (entry / "__init__.py").is_file():
                    yield name
                else:
                    # A namespace folder: upstream's sys.path import only uses it when
                    # no regular module or package of that name exists anywhere.
                    outside = importlib.machinery.PathFinder.find_spec(name, others)
                    if outside is None or outside.loader is None:
                        yield name

    def _finder(self, folder: str) -> importlib.machinery.FileFinder:
        finder = self._finders.get(folder)
        if finder is None:
            finder = self._finders[folder] = importlib.machinery.FileFinder(folder, *_LOADERS)
        return finder

    def invalidate_caches(self) -> None:
        """Forget cached folder listings (files of the checkout may have changed)."""
        for finder in self._finders.values():
            finder.invalidate_caches()

    def find(self, fullname: str, folders: Sequence[str]) -> ModuleSpec | None:
        """The spec of ``fullname`` from ``folders`` inside the repository, or ``None``.

        Namespace packages get a plain list as ``__path__`` (not a
        ``_NamespacePath`` that re-reads ``sys.path``), so they keep pointing at
        this repository whatever runs later.
        """
        portions: list[str] = []
        for folder in folders:
            if not _resolved(folder).is_relative_to(self.root):
                continue
            spec = self._finder(folder).find_spec(fullname)
            if spec is None:
                continue
            if spec.loader is not None:
                return spec
            portions.extend(spec.submodule_search_locations or [])
        if not portions:
            return None
        spec = ModuleSpec(fullname, None, is_package=True)
        spec.submodule_search_locations = portions
        return spec

    def _ours(self, name: str) -> bool:
        return name in self.modules or name.partition(".")[0] in self.claimed

    @contextmanager
    def active(self) -> Iterator[None]:
        """Make this repository's modules (and only them) importable for the block.

        ``sys.argv`` is the repository file last loaded (``[".../hubconf.py"]``)
        for the block, so the caller's command line never reaches the
        repository's argument parsers.
        """
        with _swap_lock:
            if self._depth:
                # Already active in this thread: the swap is in place.
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            claimed = self.claimed
            shadowed = {n: m for n, m in sys.modules.items() if self._ours(n)}
            for name in shadowed:
                del sys.modules[name]
            sys.modules.update(self.modules)
            present = set(sys.modules)
            path = list(sys.path)
            sys.path.extend(p for p in self._own_path if p not in path)
            finder = _RepoFinder(self)
            sys.meta_path.insert(0, finder)
            argv = sys.argv
            sys.argv = [self._argv0]
            self.invalidate_caches()
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
                sys.argv = argv
                sys.meta_path[:] = [f for f in sys.meta_path if f is not finder]
                # Folders of the repository its code put on sys.path (real model code
                # does sys.path.append(os.path.dirname(__file__))) are on it only while
                # its code runs; what libraries add elsewhere stays, as they expect.
                for entry in [p for p in sys.path if p not in path]:
                    if _resolved(entry).is_relative_to(self.root):
                        if entry not in self._own_path:
                            self._own_path.append(entry)
                        sys.path.remove(entry)
                # Everything under a claimed name was found by this repository's finder
                # (others' modules of those names were moved out above).
                for name in [
                    n for n in sys.modules if n in self.modules or n.partition(".")[0] in claimed
                ]:
                    self.modules[name] = sys.modules.pop(name)
                # Modules of the repository found under other names, through folders
                # its code put on sys.path: they are its own too.
                for name in set(sys.modules) - present:
                    if _inside(sys.modules[name], self.root):
                        self.modules[name] = sys.modules.pop(name)
                sys.modules.update(shadowed)

    def load(self, relpath: str) -> ModuleType:
        """Import the file ``relpath`` (e.g. ``hubconf.py``) of the repository.

        :raises FileNotFoundError: ``relpath`` is not a file inside the repository.
        :raises polyhub.MissingDependencyError: the file (or a module of the
            repository it imports) imports a package that is not installed; names
            every such package and the file that needs it. The repository's
            modules imported before the failure are dropped, so a retry starts afresh.
        :raises polyhub.UnsupportedError: the code ends the process (``SystemExit``,
            e.g. from an argument parser with required options) while imported.
        """
        path = (self.root / relpath).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise FileNotFoundError(f"{relpath} is not a file inside {self.root}")
        # A unique name, so two repositories' hubconf modules never meet in sys.modules.
        name = f"_polyhub_repo_{next(_counter)}_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}", path=str(path))
        module = importlib.util.module_from_spec(spec)
        kept, own_path = dict(self.modules), list(self._own_path)
        argv0, self._argv0 = self._argv0, str(path)
        # In the table, so the swap puts it in sys.modules while the repository's
        # code runs (dataclasses, pickle and inspect look it up there).
        self.modules[name] = module
        try:
            with self.active():
                spec.loader.exec_module(module)
        except BaseException as exc:
            self.modules, self._own_path = kept, own_path
            self._argv0 = argv0
            explained = self._explain(path, exc, [path])
            if explained is None:
                raise
            raise explained from exc
        return module

    def load_name(self, relpath: str, name: str) -> Any:
        """Import only what ``relpath`` takes ``name`` from, and return that object.

        For a file that binds ``name`` with a module-level ``from MODULE import
        original as name``, imports ``MODULE`` (and the packages above it)
        through the repository, not the rest of the file: a ``hubconf.py`` whose
        other entrypoints need packages that are not installed still yields
        this one. ``relpath`` itself does not run.

        :raises FileNotFoundError: ``relpath`` is not a file inside the repository.
        :raises LookupError: ``relpath`` does not bind ``name`` by such an import.
        :raises polyhub.MissingDependencyError: ``MODULE`` imports packages that
            are not installed (all named, with the files that need them).
        """
        path = (self.root / relpath).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise FileNotFoundError(f"{relpath} is not a file inside {self.root}")
        found = imported_from(path, name)
        if found is None:
            raise LookupError(f"{path} binds {name!r} by no module-level 'from ... import'")
        module_name, original = found
        if module_name.partition(".")[0] not in self.claimed:
            raise LookupError(f"{path} takes {name!r} from {module_name}, not from the repository")
        kept = dict(self.modules)
        argv0, self._argv0 = self._argv0, str(path)
        try:
            with self.active():
                module = importlib.import_module(module_name)
                if hasattr(module, original):
                    return getattr(module, original)
                # ``from package import submodule``
                return importlib.import_module(f"{module_name}.{original}")
        except BaseException as exc:
            self.modules = kept
            self._argv0 = argv0
            starts = list(module_files(module_name, original, self.root))
            explained = self._explain(path, exc, starts or [path])
            if explained is None:
                raise
            raise explained from exc

    def _explain(self, path: Path, exc: BaseException, starts: list[Path]) -> Exception | None:
        """The polyhub error for a failure of repository code, or ``None`` to let it through."""
        if isinstance(exc, ImportError) and not isinstance(exc, MissingDependencyError):
            return self._missing(path, exc, starts)
        if isinstance(exc, SystemExit):
            # argparse's error() at import: a library call must not end the caller's process.
            return UnsupportedError(
                f"{path} ends the process when imported (SystemExit {exc.code!r}; with "
                f"sys.argv = [{str(path)!r}], as polyhub runs it): it cannot be used as a library"
            )
        return None

    def _missing(self, path: Path, exc: ImportError, starts: list[Path]) -> MissingDependencyError:
        """Explain an ImportError of repository code: every package it lacks, and where."""
        missing = missing_imports(starts, self.root, self.claimed)
        failed = (exc.name or "").partition(".")[0]
        if not missing:
            if isinstance(exc, ModuleNotFoundError) and failed and failed not in self.claimed:
                where = exc.path or str(path)
                missing = {failed: [where]}
            elif failed in self.claimed:
                return MissingDependencyError(
                    f"{path} cannot be imported: {exc}, and that module would be the "
                    f"repository's own (its {failed!r} under {self.root}): the checkout lacks it",
                    name=exc.name,
                    path=str(path),
                )
            else:
                return MissingDependencyError(
                    f"{path} cannot be imported: {exc} (an installed package lacks it: "
                    "the code may need another version)",
                    name=exc.name,
                    path=str(path),
                )
        lines = []
        for top, needers in sorted(missing.items()):
            hint = pip_name(top)
            pip = f" (pip install {hint})" if hint else ""
            lines.append(
                f"  {top}{pip}: imported by {', '.join(needers[:3])}"
                + (f" and {len(needers) - 3} more" if len(needers) > 3 else "")
            )
        return MissingDependencyError(
            f"{path} needs packages that are not installed ({exc}):\n" + "\n".join(lines),
            name=failed or None,
            path=str(path),
            missing=sorted(missing),
        )


def _inside(module: ModuleType | None, root: Path) -> bool:
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and _resolved(file).is_relative_to(root)


def _resolved(folder: str) -> Path:
    try:
        return Path(folder or ".").resolve()
    except (OSError, RuntimeError):
        return Path(folder)


def _extension_suffixes() -> tuple[str, ...]:
    return tuple(importlib.machinery.EXTENSION_SUFFIXES)

"""Import repository code (``hubconf.py``, ``mindspore_hub_conf.py``) in isolation.

Model repositories ship top-level packages with common names (``src``,
``official``, ``models``, ``utils``). Importing two of them into one process
the naive way (``sys.path.insert``) makes the second repo silently reuse the
first repo's modules. A :class:`RepoImporter` keeps each repository's modules
in its own table and swaps them into ``sys.modules`` only while that
repository's code runs, so ``sys.path`` and ``sys.modules`` are left as they
were after every call.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

__all__ = ["RepoImporter"]

_counter = itertools.count()


class RepoImporter:
    """Imports modules of one repository checkout without leaking them into the process.

    ``load("hubconf.py")`` imports a file; call the repository's functions
    inside ``with importer.active():`` so imports they make lazily resolve to
    this repository's modules too.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.modules: dict[str, ModuleType] = {}
        # Names the repository provides at its top level: while its code runs,
        # a module of the same name loaded from elsewhere must not answer.
        self.top_names = {p.stem for p in self.root.glob("*.py")} | {
            d.name for d in self.root.iterdir() if d.is_dir() and not d.name.startswith(".")
        }

    def _owns(self, module: ModuleType) -> bool:
        file = getattr(module, "__file__", None)
        if not file:
            paths = list(getattr(module, "__path__", []) or [])
            file = paths[0] if paths else None
        if not file:
            return False
        try:
            return Path(file).resolve().is_relative_to(self.root)
        except (OSError, ValueError):
            return False

    @contextmanager
    def active(self) -> Iterator[None]:
        """Make this repository's modules (and only them) importable for the block."""
        shadowed = {
            n: m
            for n, m in sys.modules.items()
            if n in self.modules or n.partition(".")[0] in self.top_names
        }
        for name in shadowed:
            del sys.modules[name]
        before = set(sys.modules)
        sys.modules.update(self.modules)
        sys.path.insert(0, str(self.root))
        importlib.invalidate_caches()
        try:
            yield
        finally:
            with contextlib.suppress(ValueError):
                sys.path.remove(str(self.root))
            # Only names this repository had, or that appeared during the block, can be
            # its modules: no need to look at the thousands already loaded.
            for name in [*self.modules, *(set(sys.modules) - before)]:
                module = sys.modules.get(name)
                if module is not None and (name in self.modules or self._owns(module)):
                    self.modules[name] = module
                    del sys.modules[name]
            sys.modules.update(shadowed)

    def load(self, relpath: str) -> ModuleType:
        """Import the file ``relpath`` (e.g. ``hubconf.py``) of the repository."""
        path = (self.root / relpath).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise FileNotFoundError(f"{relpath} is not a file inside {self.root}")
        # A unique name, so two repositories' hubconf modules never meet in sys.modules.
        name = f"_polyhub_repo_{next(_counter)}_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        with self.active():
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)
                raise
        return module

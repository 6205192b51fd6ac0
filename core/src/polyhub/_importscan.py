"""Read a repository's import statements without running them: which packages it lacks.

When a ``hubconf.py`` fails with ``ModuleNotFoundError`` Python names only the
first missing package; a user who installs it meets the next one on the next
try. Reading the import statements with :mod:`ast` (following the repository's
own modules from the file that failed) names all of them at once.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Collection, Iterator
from pathlib import Path

__all__ = ["imported_from", "missing_imports", "module_files", "pip_name"]

# Import names whose pip distribution is known: where the two differ a user
# cannot guess it. For packages real hub repositories import (MegEngine/Models:
# ftfy, regex, imageio, youtokentome; MindSpore models: easydict, subword_nmt)
# the distribution on PyPI was checked to provide that import name.
_PIP_NAMES = {
    "PIL": "Pillow",
    "bs4": "beautifulsoup4",
    "cv2": "opencv-python",
    "dateutil": "python-dateutil",
    "easydict": "easydict",
    "ftfy": "ftfy",
    "imageio": "imageio",
    "pycocotools": "pycocotools",
    "regex": "regex",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "subword_nmt": "subword-nmt",
    "yaml": "PyYAML",
    "youtokentome": "youtokentome",
}

# Handlers that make an import optional: the code copes when it fails.
_GUARDS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def pip_name(top: str) -> str | None:
    """The pip distribution that provides the import name ``top``, where known."""
    return _PIP_NAMES.get(top)


def missing_imports(
    starts: list[Path], root: Path, provided: Collection[str]
) -> dict[str, list[str]]:
    """Top-level packages that the files ``starts`` need at import time and that are not installed.

    Follows imports of the repository's own modules (top-level names in
    ``provided``, relative imports) through the files under ``root``. Imports
    inside functions, and imports guarded by ``try: ... except ImportError``,
    do not count: they do not run (or may fail) at import time.

    :returns: ``{import name: ["relative/file.py:line", ...]}``, the files in
        the order they were read.
    """
    root = root.resolve()
    queue = [start.resolve() for start in starts]
    seen = set(queue)
    missing: dict[str, list[str]] = {}
    verdicts: dict[str, bool] = {}
    while queue:
        file = queue.pop(0)
        try:
            tree = ast.parse(file.read_bytes(), filename=str(file))
        except (OSError, SyntaxError, ValueError, MemoryError, RecursionError):
            continue
        label = file.relative_to(root).as_posix() if file.is_relative_to(root) else str(file)
        for node in _import_time_imports(tree.body):
            for module, names in _targets(node):
                top = module.partition(".")[0]
                if module.startswith(".") or top in provided:
                    for found in _repo_files(module.lstrip("."), names, _base(node, file, root)):
                        if found not in seen:
                            seen.add(found)
                            queue.append(found)
                    continue
                if top not in verdicts:
                    verdicts[top] = _installed(top)
                if not verdicts[top]:
                    missing.setdefault(top, []).append(f"{label}:{node.lineno}")
    return missing


def imported_from(path: Path, name: str) -> tuple[str, str] | None:
    """``(module, original name)`` of the module-level ``from module import original as name`` in ``path``."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    found = None
    for node in _import_time_imports(tree.body):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    found = (node.module, alias.name)  # the last binding wins, as when run
    return found


def module_files(module: str, name: str, root: Path) -> Iterator[Path]:
    """The repository files that ``from module import name`` runs (package ``__init__`` files too)."""
    return _repo_files(module, [name], root.resolve())


def _installed(top: str) -> bool:
    if not top or top == "__future__" or top in sys.modules or top in sys.stdlib_module_names:
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _import_time_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.Try):
            if not any(_guards(h) for h in node.handlers):
                yield from _import_time_imports(node.body)
            for handler in node.handlers:
                yield from _import_time_imports(handler.body)
            yield from _import_time_imports(node.orelse)
            yield from _import_time_imports(node.finalbody)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_imports(node.body)
            yield from _import_time_imports(node.orelse)
        elif isinstance(node, (ast.With, ast.ClassDef, ast.For, ast.While)):
            yield from _import_time_imports(node.body)


def _guards(handler: ast.ExceptHandler) -> bool:
    kind = handler.type
    kinds = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    return kind is None or any(
        isinstance(k, ast.Name) and k.id in _GUARDS for k in kinds if k is not None
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, list[str]]]:
    """(module, names imported from it) for one statement; relative modules keep their dots."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, []
    else:
        yield "." * node.level + (node.module or ""), [a.name for a in node.names]


def _base(node: ast.Import | ast.ImportFrom, file: Path, root: Path) -> Path:
    """The folder an import's module path starts from."""
    if isinstance(node, ast.ImportFrom) and node.level:
        base = file.parent
        for _ in range(node.level - 1):
            base = base.parent
        return base
    return root


def _repo_files(module: str, names: list[str], base: Path) -> Iterator[Path]:
    """Files of the repository that importing ``module`` (and ``names`` from it) runs."""
    folder = base
    parts = [p for p in module.split(".") if p]
    for i, part in enumerate(parts):
        init = folder / part / "__init__.py"
        if init.is_file():
            yield init.resolve()
        elif i == len(parts) - 1 and (folder / f"{part}.py").is_file():
            yield (folder / f"{part}.py").resolve()
            return
        folder = folder / part
    for name in names:
        for candidate in (folder / f"{name}.py", folder / name / "__init__.py"):
            if candidate.is_file():
                yield candidate.resolve()

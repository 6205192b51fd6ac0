"""Reading a ``hubconf.py`` repository statically: entrypoints, docstrings, dependencies.

``megengine.hub.list`` and ``help`` import ``hubconf.py``, which runs the
repository's code (and, for MegEngine/Models, needs eight third-party
packages). Here nothing is imported: the file and the modules it imports
from are parsed with :mod:`ast`, and every imported name is followed to its
definition (through ``__init__.py`` re-exports, ``import ... as`` aliases and
``from x import *``), so ``list`` gives the names upstream gives (every name
not starting with ``__`` that is callable: functions and classes) with their
docstrings, signatures and ``@hub.pretrained`` URLs.

Names that cannot be followed statically (assigned from a call, imported
from a compiled module) are listed with ``kind="unknown"``: upstream would
list them if they turn out callable, and leaving them out would hide entries.

The repository is untrusted input: a module that cannot be parsed (a syntax
error, a NUL byte, nesting too deep for the parser) or a literal that cannot
be evaluated is a :class:`~polyhub.MetadataError` naming the file, line and
field, and a fault met while following one entrypoint stays with that entry:
:meth:`Hubconf.entries` lists the others and keeps the error in
:attr:`Hubconf.broken`, and only asking for that entry raises it.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from polyhub import MetadataError, ModelNotFoundError

__all__ = ["Entry", "Hubconf", "missing_dependencies", "read_hubconf"]

HUBCONF = "hubconf.py"
_MAX_DEPTH = 64


@dataclass(frozen=True)
class Entry:
    """One entrypoint of a ``hubconf.py``, as read from the source.

    :ivar kind: ``function``, ``class`` or ``unknown`` (not statically resolvable).
    :ivar module: the dotted module that defines it (``hubconf`` for the file itself).
    :ivar file: where it is defined, relative to the repository root when inside it.
    :ivar doc: the raw docstring (what ``__doc__`` would be), or ``None``.
    :ivar signature: what callers pass: ``(pretrained=False, **kwargs)`` for a
        ``@pretrained`` function, else the function's (or ``__init__``'s) own.
    :ivar pretrained_url: the weights URL of ``@hub.pretrained(url)``, when a literal.
    :ivar pretrained_sha256: the ``sha256=`` of polyhub's ``@pretrained``, when given.
    :ivar decorator: ``megengine.hub.pretrained`` or ``polyhub_megengine.pretrained``.
    """

    name: str
    kind: str
    module: str
    file: str
    line: int
    doc: str | None = None
    signature: str = ""
    own_signature: str = ""
    pretrained_url: str | None = None
    pretrained_sha256: str | None = None
    decorator: str | None = None

    @property
    def summary(self) -> str:
        """The first line of the docstring."""
        doc = (self.doc or "").strip()
        return doc.splitlines()[0].strip() if doc else ""


@dataclass(frozen=True)
class _Origin:
    kind: str  # def | module | value | unknown
    node: ast.AST | None = None
    path: Path | None = None
    module: str = ""
    info: _Module | None = None


@dataclass
class _Module:
    path: Path
    name: str
    is_package: bool
    tree: ast.Module
    bindings: dict[str, ast.AST] = field(default_factory=dict)
    stars: list[ast.ImportFrom] = field(default_factory=list)


def _walk_top(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    # Module-level statements, including those under if/try/with (conditional
    # definitions are still definitions of the module).
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _walk_top(stmt.body)
            yield from _walk_top(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _walk_top(stmt.body)
            for handler in stmt.handlers:
                yield from _walk_top(handler.body)
            yield from _walk_top(stmt.orelse)
            yield from _walk_top(stmt.finalbody)
        elif isinstance(stmt, ast.With):
            yield from _walk_top(stmt.body)


_LITERAL_ERRORS = (ValueError, TypeError, SyntaxError, RecursionError, MemoryError)
"""What ``ast.literal_eval`` raises on hostile literals: ``{[]: 1}`` is a TypeError,
deep nesting a RecursionError."""


def _parse(path: Path, name: str, is_package: bool, where: str) -> _Module:
    try:
        source = path.read_bytes()
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise MetadataError(
            f"cannot parse: {exc.msg}", file=where, line=exc.lineno, field="syntax"
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        # Python 3.10: "source code string cannot contain null bytes" is a ValueError;
        # expressions nested thousands deep exhaust the parser's stack.
        raise MetadataError(
            f"cannot parse: {type(exc).__name__}: {str(exc)[:200]}", file=where, field="syntax"
        ) from None
    except OSError as exc:
        raise MetadataError(f"cannot read: {exc.strerror}", file=where) from None
    module = _Module(path=path, name=name, is_package=is_package, tree=tree)
    for stmt in _walk_top(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            module.bindings.setdefault(stmt.name, stmt)
        elif isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                if alias.name == "*":
                    module.stars.append(stmt)
                else:
                    module.bindings.setdefault(alias.asname or alias.name, stmt)
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                module.bindings.setdefault(alias.asname or alias.name.partition(".")[0], stmt)
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    module.bindings.setdefault(target.id, stmt)
        elif (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and stmt.value is not None
        ):
            module.bindings.setdefault(stmt.target.id, stmt)
    return module


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _args_text(args: ast.arguments, drop_self: bool = False) -> str:
    if drop_self and (args.posonlyargs or args.args):
        args = copy.copy(args)
        if args.posonlyargs:
            args.posonlyargs = args.posonlyargs[1:]
        else:
            args.args = args.args[1:]
        count = len(args.posonlyargs) + len(args.args)
        if len(args.defaults) > count:
            args.defaults = args.defaults[len(args.defaults) - count :]
    return f"({ast.unparse(args)})"


class _Resolver:
    """Follows names through the repository's modules (and installed pure-Python ones)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._modules: dict[str, _Module | None] = {}
        self._tops = _repo_tops(root)

    # -- finding modules -----------------------------------------------------

    def _find_in(self, bases: list[Path], parts: list[str]) -> tuple[Path, bool] | None:
        for base in bases:
            folder = base.joinpath(*parts[:-1]) if len(parts) > 1 else base
            leaf = parts[-1]
            pkg = folder / leaf
            if (pkg / "__init__.py").is_file():
                return pkg / "__init__.py", True
            if (folder / f"{leaf}.py").is_file():
                return folder / f"{leaf}.py", False
            if pkg.is_dir() and base == self.root:
                return pkg, True  # namespace package inside the repository
        return None

    def _external_bases(self, top: str) -> list[Path]:
        # find_spec on a top-level name consults the finders without importing.
        try:
            spec = importlib.util.find_spec(top) if top not in sys.builtin_module_names else None
        except (ImportError, ValueError):
            return []
        if spec is None:
            return []
        if spec.submodule_search_locations:
            return [Path(p).parent for p in spec.submodule_search_locations]
        if spec.origin and spec.origin.endswith(".py"):
            return [Path(spec.origin).parent]
        return []

    def module(self, name: str) -> _Module | None:
        """The parsed module ``name`` (repository first, as at run time), or ``None``."""
        if name in self._modules:
            return self._modules[name]
        parts = name.split(".")
        found = self._find_in([self.root], parts)
        if found is None and parts[0] not in self._tops:
            found = self._find_in(self._external_bases(parts[0]), parts)
        result: _Module | None = None
        if found is not None:
            path, is_package = found
            if path.is_dir():
                result = _Module(path=path, name=name, is_package=True, tree=ast.Module([], []))
            else:
                result = _parse(path, name, is_package, self._where(path))
        self._modules[name] = result
        return result

    def _where(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def is_module(self, name: str) -> bool:
        parts = name.split(".")
        return self._find_in([self.root], parts) is not None or (
            parts[0] not in self._tops
            and self._find_in(self._external_bases(parts[0]), parts) is not None
        )

    def public(self, info: _Module, depth: int = 0) -> set[str]:
        """What ``from module import *`` binds: ``__all__`` when a literal, else public names."""
        node = info.bindings.get("__all__")
        if isinstance(node, ast.Assign):
            try:
                return {str(n) for n in ast.literal_eval(node.value)}
            except _LITERAL_ERRORS:
                pass  # not a literal list of names: fall back to the public names
        names = {n for n in info.bindings if not n.startswith("_")}
        if depth < _MAX_DEPTH:
            for star in info.stars:
                target = self.module(self._absolute(info, star))
                if target is not None:
                    names |= self.public(target, depth + 1)
        return names

    # -- following names -----------------------------------------------------

    def _absolute(self, info: _Module, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        package = info.name.split(".") if info.is_package else info.name.split(".")[:-1]
        if node.level > 1:
            package = package[: len(package) - (node.level - 1)]
        base = ".".join(package)
        if node.module:
            return f"{base}.{node.module}" if base else node.module
        return base

    def resolve(self, info: _Module, name: str, depth: int = 0) -> _Origin:
        """Follow ``name`` as bound in module ``info`` to its definition."""
        if depth > _MAX_DEPTH:
            return _Origin("unknown")
        node = info.bindings.get(name)
        if node is None:
            for star in info.stars:
                target = self.module(self._absolute(info, star))
                if target is not None and name in self.public(target):
                    return self.resolve(target, name, depth + 1)
            if info.is_package and self.is_module(f"{info.name}.{name}"):
                return _Origin("module")
            return _Origin("unknown")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return _Origin("def", node, info.path, info.name, info)
        if isinstance(node, ast.Import):
            return _Origin("module")
        if isinstance(node, ast.ImportFrom):
            source = self._absolute(info, node)
            original = next(a.name for a in node.names if (a.asname or a.name) == name)
            target = self.module(source)
            if target is not None:
                return self.resolve(target, original, depth + 1)
            if self.is_module(f"{source}.{original}"):
                return _Origin("module")
            return _Origin("unknown")
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, ast.Name) and value.id != name:
            return self.resolve(info, value.id, depth + 1)
        literals = (
            ast.Constant,
            ast.List,
            ast.Tuple,
            ast.Dict,
            ast.Set,
            ast.JoinedStr,
            ast.BinOp,
            ast.ListComp,
            ast.DictComp,
        )
        if isinstance(value, literals):
            return _Origin("value")
        if isinstance(value, ast.Lambda):
            return _Origin("def", value, info.path, info.name, info)
        return _Origin("unknown")


def _repo_tops(root: Path) -> set[str]:
    return {p.stem for p in root.glob("*.py")} | {
        d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")
    }


def _pretrained_decorator(info: _Module, fn: ast.AST) -> tuple[str, str | None, str | None] | None:
    """``(decorator, url, sha256)`` when ``fn`` is decorated with a ``pretrained(url)``."""
    for deco in getattr(fn, "decorator_list", []):
        if not isinstance(deco, ast.Call):
            continue
        dotted = _dotted(deco.func)
        if dotted.rpartition(".")[2] != "pretrained":
            continue
        head = dotted.partition(".")[0]
        binding = info.bindings.get(head)
        origin = ""
        if isinstance(binding, ast.ImportFrom):
            origin = binding.module or ""
        elif isinstance(binding, ast.Import):
            origin = next(
                (a.name for a in binding.names if (a.asname or a.name).startswith(head)), ""
            )
        kind = (
            "polyhub_megengine.pretrained"
            if "polyhub_megengine" in origin or "polyhub_megengine" in dotted
            else "megengine.hub.pretrained"
        )
        url_node = deco.args[0] if deco.args else None
        sha_node = deco.args[1] if len(deco.args) > 1 else None
        for kw in deco.keywords:
            if kw.arg == "url":
                url_node = kw.value
            elif kw.arg == "sha256":
                sha_node = kw.value
        url = (
            url_node.value
            if isinstance(url_node, ast.Constant) and isinstance(url_node.value, str)
            else None
        )
        sha = (
            sha_node.value
            if isinstance(sha_node, ast.Constant) and isinstance(sha_node.value, str)
            else None
        )
        return kind, url, sha
    return None


class Hubconf:
    """A statically read ``hubconf.py`` and what it exposes.

    Entries are resolved lazily: :meth:`entry` follows one name, :meth:`entries`
    follows them all.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.file = self.root / HUBCONF
        if not self.file.is_file():
            raise ModelNotFoundError(
                f"{self.root} has no {HUBCONF}: it is not a hubconf repository"
            )
        self._resolver = _Resolver(self.root)
        self._module = _parse(self.file, "hubconf", False, HUBCONF)
        self._cache: dict[str, Entry | None] = {}
        self._names: set[str] | None = None
        self.broken: dict[str, MetadataError] = {}
        """Entrypoints :meth:`entries` left out, each with the error met following it."""

    # -- top-level values -----------------------------------------------------

    def _literal(self, name: str) -> tuple[object, int] | None:
        node = self._module.bindings.get(name)
        if node is None:
            return None
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
            raise MetadataError(
                f"must be assigned a literal, found a {type(node).__name__}",
                file=str(self.file),
                line=getattr(node, "lineno", None),
                field=name,
            )
        try:
            return ast.literal_eval(node.value), node.lineno
        except _LITERAL_ERRORS:
            raise MetadataError(
                "must be a literal (read without running the file)",
                file=str(self.file),
                line=node.lineno,
                field=name,
            ) from None

    @property
    def dependencies(self) -> tuple[str, ...]:
        """The ``dependencies`` list (module names), empty when absent."""
        found = self._literal("dependencies")
        if found is None:
            return ()
        value, line = found
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise MetadataError(
                "must be a list of module names",
                file=str(self.file),
                line=line,
                field="dependencies",
            )
        return tuple(value)

    @property
    def weights_sha256(self) -> Mapping[str, str]:
        """``weights_sha256 = {url or file name: hex}``: hashes pinned by the repository."""
        found = self._literal("weights_sha256")
        if found is None:
            return MappingProxyType({})
        value, line = found
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(v) == 64 for k, v in value.items()
        ):
            raise MetadataError(
                "must map URLs or file names to 64-hex sha256 strings",
                file=str(self.file),
                line=line,
                field="weights_sha256",
            )
        return MappingProxyType({k: v.lower() for k, v in value.items()})

    # -- entrypoints ------------------------------------------------------------

    def _candidates(self) -> list[str]:
        names = set(self._module.bindings)
        for star in self._module.stars:
            target = self._resolver.module(self._resolver._absolute(self._module, star))
            if target is not None:
                names |= self._resolver.public(target)
        # megengine.hub.list: dir() order, every name not starting with "__".
        return sorted(n for n in names if not n.startswith("__"))

    def entry(self, name: str) -> Entry | None:
        """The entrypoint ``name``, or ``None`` when hubconf exposes no such callable."""
        if name in self._cache:
            return self._cache[name]
        result: Entry | None = None
        if self._names is None:
            self._names = set(self._candidates())
        if name in self._names:
            try:
                origin = self._resolver.resolve(self._module, name)
            except MetadataError as exc:
                raise MetadataError(
                    f"following entrypoint {name!r}: {exc}",
                    file=exc.file,
                    line=exc.line,
                    entry=name,
                    field=exc.field,
                ) from None
            except RecursionError:
                raise MetadataError(
                    "its definition cannot be followed: imports nest too deeply",
                    file=str(self.file),
                    entry=name,
                ) from None
            result = self._make(name, origin)
        self._cache[name] = result
        return result

    def entries(self) -> dict[str, Entry]:
        """Every entrypoint, in ``megengine.hub.list`` order.

        An entrypoint whose definition cannot be read (a module on its import
        path does not parse) is left out and its error kept in :attr:`broken`.
        """
        found = {}
        for name in self._candidates():
            try:
                entry = self.entry(name)
            except MetadataError as exc:
                self.broken[name] = exc
                continue
            if entry is not None:
                found[name] = entry
        return found

    def names(self) -> list[str]:
        return list(self.entries())

    def require(self, name: str, where: str) -> Entry:
        """The entrypoint ``name``; :class:`~polyhub.ModelNotFoundError` listing them all otherwise."""
        entry = self.entry(name)
        if entry is None:
            names = self.names()
            raise ModelNotFoundError(
                f"{where}: hubconf.py has no entrypoint {name!r}; it has {len(names)}: "
                + ", ".join(names)
            )
        return entry

    def _make(self, name: str, origin: _Origin) -> Entry | None:
        if origin.kind in ("module", "value"):
            return None  # not callable: megengine.hub.list skips it
        if origin.kind == "unknown" or origin.node is None or origin.info is None:
            return Entry(name=name, kind="unknown", module="", file="", line=0)
        node = origin.node
        path = origin.path or self.file
        try:
            file = str(path.relative_to(self.root))
        except ValueError:
            file = str(path)
        if isinstance(node, ast.ClassDef):
            init = next(
                (s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"),
                None,
            )
            own = _args_text(init.args, drop_self=True) if init is not None else "()"
            return Entry(
                name=name,
                kind="class",
                module=origin.module,
                file=file,
                line=node.lineno,
                doc=ast.get_docstring(node, clean=False),
                signature=own,
                own_signature=own,
            )
        if isinstance(node, ast.Lambda):
            own = _args_text(node.args)
            return Entry(name, "function", origin.module, file, node.lineno, None, own, own)
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        own = _args_text(node.args)
        deco = _pretrained_decorator(origin.info, node)
        return Entry(
            name=name,
            kind="function",
            module=origin.module,
            file=file,
            line=node.lineno,
            doc=ast.get_docstring(node, clean=False),
            signature="(pretrained=False, **kwargs)" if deco else own,
            own_signature=own,
            pretrained_url=deco[1] if deco else None,
            pretrained_sha256=deco[2] if deco else None,
            decorator=deco[0] if deco else None,
        )


def read_hubconf(root: Path) -> Hubconf:
    """Read ``root/hubconf.py`` statically (no code runs)."""
    return Hubconf(root)


def missing_dependencies(conf: Hubconf) -> list[str]:
    """The modules of ``dependencies`` that cannot be found (nothing is imported).

    The load's own check is the core's (:mod:`polyhub._repocode`), made before the
    code runs; this is the same lookup, for reading a repository.
    """
    from polyhub import missing_dependencies as missing

    return missing(conf.dependencies)

"""The core depends on no plugin and not on the conformance kit: the arrows point up.

Plugins and the kit import ``polyhub``; ``polyhub`` reaches them only through entry
points (``polyhub`` for plugins, ``polyhub.commands`` for CLI commands). Every
module of the core is read as a syntax tree, so an import inside a function (the
kind that hid ``polyhub conformance``'s dependency on the kit) counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import polyhub

CORE = Path(polyhub.__file__).resolve().parent


def _outside_imports(path: Path, root: Path = CORE.parent) -> list[str]:
    """``file:line module`` of each import of a ``polyhub_*`` package in ``path``."""
    found: list[str] = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (  # importlib.import_module("polyhub_x") / __import__("polyhub_x")
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        for name in names:
            if name.split(".")[0].startswith("polyhub_"):
                found.append(f"{path.relative_to(root)}:{node.lineno} {name}")
    return found


def test_the_core_imports_no_plugin_and_not_the_kit() -> None:
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) > 20 and CORE / "_cli.py" in modules  # the real package was scanned
    found = [hit for path in modules for hit in _outside_imports(path)]
    assert found == [], "the core imports packages built on it:\n" + "\n".join(found)


def test_the_scan_sees_imports_inside_functions(tmp_path: Path) -> None:
    # What cli.py held before `polyhub conformance` became an entry point.
    sample = tmp_path / "cli.py"
    sample.write_text(
        "def run():\n"
        "    from polyhub_conformance.runner import main\n"
        "    import polyhub_onnx, polyhub._api\n"
        "    importlib.import_module('polyhub_oci.store')\n"
        "    from . import polyhub_like_name\n"
    )
    assert _outside_imports(sample, tmp_path) == [
        "cli.py:2 polyhub_conformance.runner",
        "cli.py:3 polyhub_onnx",
        "cli.py:4 polyhub_oci.store",
    ]


KIT = CORE.parent.parent.parent / "conformance" / "src" / "polyhub_conformance"
PUBLIC = {"polyhub", "polyhub.testing"}


def _private_uses(path: Path) -> list[str]:
    """``file:line name`` of each use of a core module other than ``polyhub`` and
    ``polyhub.testing``: an import, or an attribute chain like ``polyhub._api.x``."""
    submodules = {p.stem for p in CORE.glob("*.py")} | {
        p.name for p in CORE.iterdir() if p.is_dir()
    }
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "polyhub"
            and node.attr in submodules
        ):
            names = [f"polyhub.{node.attr}"]
        for name in names:
            if name.split(".")[0] == "polyhub" and name not in PUBLIC:
                found.append(f"{path.name}:{node.lineno} {name}")
    return found


def test_the_conformance_kit_uses_only_the_public_core() -> None:
    if not KIT.is_dir():
        import pytest

        pytest.skip(f"the kit's sources are not beside the core ({KIT})")
    found = [hit for path in sorted(KIT.rglob("*.py")) for hit in _private_uses(path)]
    assert found == [], "the kit reaches into the core:\n" + "\n".join(found)

"""Every plugin in this repository runs the conformance kit (style-anchors G15.4).

Fails when a folder under ``plugins/`` lacks ``tests/test_conformance.py``, or
when that file has no class that subclasses one of the kit's suites. Read
statically (ast), so the check costs no framework import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITES = {"SourceSuite", "FormatSuite", "RuntimeSuite", "HooksSuite"}
PLUGINS = sorted(
    p for p in (ROOT / "plugins").iterdir() if p.is_dir() and (p / "pyproject.toml").exists()
)


def suites_subclassed(path: Path) -> set[str]:
    """Suite names that classes in ``path`` inherit from, directly or via a local base."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bases: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            names = set()
            for base in node.bases:
                if isinstance(base, ast.Name):
                    names.add(base.id)
                elif isinstance(base, ast.Attribute):
                    names.add(base.attr)
            bases[node.name] = names
    found: set[str] = set()
    for cls in bases:
        seen, todo = set(), [cls]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in SUITES and cls != name:
                found.add(name)
            todo.extend(bases.get(name, ()))
    return found


def test_there_are_plugins() -> None:
    assert PLUGINS, "no plugin folders found under plugins/"


@pytest.mark.parametrize("plugin", PLUGINS, ids=[p.name for p in PLUGINS])
def test_plugin_runs_the_conformance_kit(plugin: Path) -> None:
    path = plugin / "tests" / "test_conformance.py"
    assert path.is_file(), f"{plugin.name}: missing {path.relative_to(ROOT)} (see docs/plugins.md)"
    found = suites_subclassed(path)
    assert found, f"{path.relative_to(ROOT)} subclasses none of {sorted(SUITES)}"


def test_the_check_sees_a_missing_subclass(tmp_path: Path) -> None:
    """The checker itself: a file that merely imports a suite does not count; a chain does."""
    bare = tmp_path / "bare.py"
    bare.write_text("from polyhub_conformance import SourceSuite\n\nclass TestX:\n    pass\n")
    assert suites_subclassed(bare) == set()
    chained = tmp_path / "chained.py"
    chained.write_text(
        "import polyhub_conformance as k\n\nclass Base(k.FormatSuite):\n    pass\n\nclass TestY(Base):\n    pass\n"
    )
    assert suites_subclassed(chained) == {"FormatSuite"}

"""The hook specs are the reference manual: each one says who calls it, what it returns and how.

Also checks that every spec is documented in docs/plugins.md under its exact name.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from polyhub import hookspecs

ROOT = Path(__file__).resolve().parents[1]
SPECS = {
    name: fn
    for name, fn in vars(hookspecs).items()
    if name.startswith("polyhub_") and inspect.isfunction(fn)
}


def test_there_are_source_format_runtime_specs():
    families = {name.split("_")[1] for name in SPECS}
    assert {"source", "format", "runtime", "register"} <= families


@pytest.mark.parametrize("name", sorted(SPECS))
def test_spec_is_documented(name):
    doc = inspect.getdoc(SPECS[name]) or ""
    assert re.search(r"\bCalled\b", doc), f"{name}: say who calls it and when"
    assert ":returns:" in doc, f"{name}: state the return rule"
    assert ".. versionadded::" in doc
    for param in inspect.signature(SPECS[name]).parameters:
        assert f":param {param}:" in doc or param in ("context",), f"{name}: document {param}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_firstresult_matches_the_docstring(name):
    opts = SPECS[name].polyhub_spec
    says_first = "Stops at the first non-``None`` result" in (SPECS[name].__doc__ or "")
    assert bool(opts.get("firstresult")) == says_first, name


@pytest.mark.parametrize("name", sorted(SPECS))
def test_spec_has_a_section_in_the_plugin_guide(name):
    guide = ROOT / "docs" / "plugins.md"
    assert guide.exists(), "docs/plugins.md (the plugin author's guide) is missing"
    headings = [line for line in guide.read_text().splitlines() if line.startswith("#")]
    assert any(name in h for h in headings), f"docs/plugins.md has no heading for {name}"

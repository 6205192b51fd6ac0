"""Builds the reference plugin's test project inside a pytester folder.

``ref_project(replace=..., append=...)`` copies ``reference_plugin.py`` (as
``refplugin.py``), ``reference_conftest.py`` and ``reference_suites.py`` into
the pytester folder, first applying the textual mutations that break the
plugin on purpose. Every mutation must match exactly once, so a refactor of
the reference plugin cannot silently turn a broken-plugin test into a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent


def mutate(text: str, replace: Mapping[str, str]) -> str:
    for old, new in replace.items():
        count = text.count(old)
        assert count == 1, f"mutation target found {count} times in the reference plugin: {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture
def ref_project(pytester: Any) -> Callable[..., Path]:
    def make(
        replace: Mapping[str, str] | None = None,
        append: str = "",
        extra_files: Mapping[str, str] | None = None,
        suites: str | None = None,
        conftest: str | None = None,
    ) -> Path:
        plugin = mutate((HERE / "reference_plugin.py").read_text(), replace or {}) + append
        files = {
            "refplugin.py": plugin,
            "conftest.py": conftest
            if conftest is not None
            else (HERE / "reference_conftest.py").read_text(),
            "test_ref.py": suites
            if suites is not None
            else (HERE / "reference_suites.py").read_text(),
            **(extra_files or {}),
        }
        for name, text in files.items():
            (pytester.path / name).write_text(text)
        return Path(pytester.path)

    return make


@pytest.fixture
def run_kit(pytester: Any) -> Callable[..., Any]:
    """Run pytest in a subprocess (the suites must be imported fresh to be rewritten)."""

    def run(*args: str) -> Any:
        return pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-W", "error", "-rfEs", *args
        )

    return run

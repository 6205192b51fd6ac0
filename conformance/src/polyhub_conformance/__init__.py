"""polyhub-conformance: the suites every polyhub plugin runs in its CI.

A plugin's test file subclasses the suites that apply and provides a few
fixtures::

    from polyhub_conformance import SourceCapabilities, SourceSuite

    class TestMySource(SourceSuite):
        @pytest.fixture
        def source_plugin(self): ...

See ``docs/plugins.md`` and ``docs/conformance.md`` (the numbered scenarios).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

# Before any suite is imported: without it a failing check in a third party's
# CI prints a bare AssertionError instead of the compared values (G12a).
pytest.register_assert_rewrite("polyhub_conformance.suites", "polyhub_conformance.assertions")

if TYPE_CHECKING:
    from .capabilities import (
        DEFAULT_FRAMEWORKS,
        FormatCapabilities,
        HooksCapabilities,
        RuntimeCapabilities,
        RuntimeSample,
        SourceCapabilities,
    )
    from .harness import CacheHome, StaticServer, expected_failure
    from .suites import FormatSuite, HooksSuite, RuntimeSuite, SourceSuite

__all__ = [
    "DEFAULT_FRAMEWORKS",
    "CacheHome",
    "FormatCapabilities",
    "FormatSuite",
    "HooksCapabilities",
    "HooksSuite",
    "RuntimeCapabilities",
    "RuntimeSample",
    "RuntimeSuite",
    "SourceCapabilities",
    "SourceSuite",
    "StaticServer",
    "expected_failure",
]

# Resolved on first access, so that loading the pytest11 entry point (in every
# pytest run of an environment that has the kit) imports neither the suites
# nor polyhub.
_LAZY = {
    "DEFAULT_FRAMEWORKS": "capabilities",
    "FormatCapabilities": "capabilities",
    "HooksCapabilities": "capabilities",
    "RuntimeCapabilities": "capabilities",
    "RuntimeSample": "capabilities",
    "SourceCapabilities": "capabilities",
    "CacheHome": "harness",
    "StaticServer": "harness",
    "expected_failure": "harness",
    "FormatSuite": "suites",
    "HooksSuite": "suites",
    "RuntimeSuite": "suites",
    "SourceSuite": "suites",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

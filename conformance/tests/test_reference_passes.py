"""G14 (1): the reference plugin passes every suite, and the kit is inert until used."""

from __future__ import annotations

import inspect
import re
from typing import Any

from polyhub_conformance import FormatSuite, HooksSuite, RuntimeSuite, SourceSuite

pytest_plugins = ["pytester"]

# Skips the reference plugin earns honestly: it is not installed through an
# entry point, and its hub has no revisions.
EXPECTED_SKIPS = {
    "TestRefHooks::test_entry_point_loads_this_plugin",
    "TestRefSource::test_unknown_revision_raises_revision_not_found",
}


def test_reference_plugin_passes_every_suite(ref_project: Any, pytester: Any, run_kit: Any) -> None:
    ref_project()
    result = run_kit("-v")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()[-4000:]
    assert outcomes.get("errors", 0) == 0, result.stdout.str()[-4000:]
    out = result.stdout.str()
    # Every test of every suite ran (parametrized ones at least once) ...
    for cls, mine in [
        (HooksSuite, "TestRefHooks"),
        (SourceSuite, "TestRefSource"),
        (FormatSuite, "TestRefFormat"),
        (RuntimeSuite, "TestRefRuntime"),
    ]:
        for name, _ in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("test_"):
                assert re.search(rf"{mine}::{name}(\[[^\]]*\])? (PASSED|SKIPPED)", out), (
                    f"{mine}::{name} did not run"
                )
    # ... and the only skips are the two that do not apply to it.
    skipped = set(re.findall(r"test_ref.py::(\w+::\w+)(?:\[[^\]]*\])? SKIPPED", out))
    assert skipped == EXPECTED_SKIPS


def test_configured_check_comes_first() -> None:
    """test_suite_is_configured is the first test of each suite, as the guide promises."""
    for cls in (HooksSuite, SourceSuite, FormatSuite, RuntimeSuite):
        tests = [n for n in vars(cls) if n.startswith("test_")]
        assert tests[0] == "test_suite_is_configured", cls.__name__


def test_kit_is_inert_for_other_projects(pytester: Any, run_kit: Any) -> None:
    """Installed, the kit adds no tests, imports no polyhub and changes no outcome."""
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_plain():
            assert "polyhub" not in sys.modules
            assert "polyhub_conformance.suites" not in sys.modules

        def test_fixture_placeholders_are_inert(request):
            # The placeholder only fires when a test asks for it.
            assert "sample_address" not in request.fixturenames
        """
    )
    result = run_kit()
    result.assert_outcomes(passed=2)


def test_unconfigured_suite_fails_once_naming_fixtures(pytester: Any, run_kit: Any) -> None:
    """S0: a bare subclass fails one test, naming the class and each missing fixture."""
    pytester.makepyfile(
        test_bare="""
        import pytest
        from polyhub_conformance import SourceSuite

        class TestBare(SourceSuite):
            @pytest.fixture
            def source_plugin(self):
                return object()
        """
    )
    result = run_kit()
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1, result.stdout.str()
    assert outcomes.get("errors", 0) == 0
    result.stdout.fnmatch_lines(
        [
            "*S0: TestBare is not configured: define the fixture(s) source_capabilities, "
            "sample_address, hub_env*",
            "*FAILED*TestBare::test_suite_is_configured*",
        ]
    )


def test_wrong_capabilities_type_is_named(ref_project: Any, pytester: Any, run_kit: Any) -> None:
    """S0: capabilities given as a dict (loose settings) are refused with the type expected."""
    conftest = pytester.path / "conftest.py"
    ref_project()
    text = conftest.read_text().replace(
        'return SourceCapabilities(scheme="refhub")', 'return {"scheme": "refhub"}'
    )
    conftest.write_text(text)
    result = run_kit("-k", "TestRefSource and test_suite_is_configured")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*S0: TestRefSource: the fixture 'source_capabilities' must return a SourceCapabilities, not dict*"
        ]
    )

"""``polyhub conformance [PLUGIN]`` (runner.main): exit codes and what it runs."""

from __future__ import annotations

import pytest
from polyhub_conformance.runner import find_conformance_tests, main


def test_unknown_plugin_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main("no-such-plugin", []) == 1
    assert "no installed plugin named 'no-such-plugin'" in capsys.readouterr().err


def test_finds_the_in_repo_conformance_tests_of_a_plugin() -> None:
    found = find_conformance_tests("polyhub_onnx.plugin")
    assert found is not None and found.parts[-3:] == ("onnx", "tests", "test_conformance.py")


def test_kit_module_itself_has_no_plugin_tests() -> None:
    # The kit's own source tree has tests/, but no test_conformance.py.
    assert find_conformance_tests("polyhub_conformance.runner") is None


@pytest.mark.slow
def test_installed_plugin_passes_generic_and_own_checks(capfd: pytest.CaptureFixture[str]) -> None:
    assert main("onnx", ["-q"]) == 0
    out = capfd.readouterr().out
    assert "== onnx (polyhub_onnx.plugin): generic checks" in out
    assert "polyhub conformance: all passed" in out

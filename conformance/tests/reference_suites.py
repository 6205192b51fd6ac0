"""The test file of the reference plugin's project: one line per suite (copied in by pytester)."""

from __future__ import annotations

from polyhub_conformance import FormatSuite, HooksSuite, RuntimeSuite, SourceSuite


class TestRefHooks(HooksSuite):
    pass


class TestRefSource(SourceSuite):
    pass


class TestRefFormat(FormatSuite):
    pass


class TestRefRuntime(RuntimeSuite):
    pass

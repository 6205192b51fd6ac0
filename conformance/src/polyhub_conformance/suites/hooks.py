"""``HooksSuite``: the plugin keeps the hook contract (scenarios S1-S4).

Configure it with one fixture, ``hooks_plugin`` (the plugin module), and
optionally ``hooks_capabilities``.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

import pytest

from ..assertions import assert_configured
from ..capabilities import HooksCapabilities
from ..harness import build_plugins, find_entry_point, probe_plugin, required_args

_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


class HooksSuite:
    """Hook names, signatures, registration, and what registering imports."""

    required_fixtures = ("hooks_plugin",)

    def test_suite_is_configured(self, request: pytest.FixtureRequest) -> None:
        """S0: the plugin is given and the capabilities have the right type."""
        assert_configured(request, self.required_fixtures, "hooks_capabilities", HooksCapabilities)

    def test_hookimpls_match_hookspecs(self, hooks_plugin: object) -> None:
        """S1: every ``polyhub_*`` attribute is a marked hookimpl of a known spec, with spec arguments."""
        from polyhub import hookspecs

        specs = {n: getattr(hookspecs, n) for n in dir(hookspecs) if n.startswith("polyhub_")}
        found = [n for n in dir(hooks_plugin) if n.startswith("polyhub_")]
        assert found, "S1: the plugin defines no polyhub_* hook implementation at all"
        for name in found:
            impl = getattr(hooks_plugin, name)
            assert name in specs, (
                f"S1: {name} is not a polyhub hook (misspelled?); known hooks: {sorted(specs)}"
            )
            assert getattr(impl, "polyhub_impl", None) is not None, (
                f"S1: {name} is not marked with @polyhub.hookimpl, so pluggy never calls it"
            )
            impl_args = set(required_args(impl))
            spec_args = set(required_args(specs[name]))
            extra = sorted(impl_args - spec_args)
            assert not extra, (
                f"S1: {name} takes {extra}, which the hookspec does not pass; "
                f"the spec's arguments are {sorted(spec_args)} (accept any subset of them)"
            )

    def test_registers_cleanly(self, hooks_plugin: object, conformance_home: Any) -> None:
        """S2: registration in a fresh plugin manager succeeds and declares something."""
        plugins = build_plugins(hooks_plugin)
        failures = [f"{r.name}: {r.error}" for r in plugins.failed]
        assert failures == [], f"S2: registering the plugin failed: {failures}"
        mine = [r for r in plugins.records if not r.name.startswith("polyhub.")]
        assert len(mine) == 1, f"S2: expected one record for the plugin, got {mine}"
        record = mine[0]
        assert record.hooks, f"S2: {record.name} registered but implements no hook"
        for scheme in record.sources:
            info = plugins.sources[scheme]
            bad = [o for o in info.options if not o.isidentifier() or keyword.iskeyword(o)]
            assert not bad, (
                f"S2: source {scheme!r} declares options {bad}; options are keyword "
                "arguments of polyhub.load, so they must be Python identifiers"
            )
            assert info.hub_env is None or _ENV_NAME.match(info.hub_env), (
                f"S2: source {scheme!r} names hub_env={info.hub_env!r}; expected an "
                "environment variable name such as POLYHUB_ONNX_HUB"
            )

    def test_registration_imports_no_framework(
        self, hooks_plugin: object, hooks_capabilities: HooksCapabilities
    ) -> None:
        """S3: importing and registering the plugin in a fresh interpreter imports no framework."""
        result = probe_plugin(hooks_plugin, frameworks=hooks_capabilities.frameworks)
        assert result.error is None, f"S3: the plugin could not be probed:\n{result.error}"
        assert result.failed == [], (
            f"S3: registration failed in a fresh interpreter: {result.failed}"
        )
        assert result.new_modules == [], (
            f"S3: registering the plugin imported {result.new_modules}; import frameworks "
            "inside the hook bodies that need them (polyhub_runtime_load, polyhub_runtime_devices)"
        )

    def test_entry_point_loads_this_plugin(
        self, hooks_plugin: object, hooks_capabilities: HooksCapabilities
    ) -> None:
        """S4: the installed ``polyhub`` entry point loads this very plugin."""
        from importlib import metadata

        if hooks_capabilities.entry_point is not None:
            named = [
                ep
                for ep in metadata.entry_points(group="polyhub")
                if ep.name == hooks_capabilities.entry_point
            ]
            assert named, (
                f"S4: no entry point {hooks_capabilities.entry_point!r} in the group 'polyhub'; "
                "is the distribution installed?"
            )
            ep = named[0]
        else:
            found = find_entry_point(hooks_plugin)
            if found is None:
                pytest.skip("S4: the plugin is not installed through a 'polyhub' entry point")
            ep = found
        assert ep.load() is hooks_plugin, (
            f"S4: the entry point {ep.name} = {ep.value!r} loads another object than the plugin"
        )

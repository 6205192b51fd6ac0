"""``RuntimeSuite``: a runtime loads its sample on CPU and computes the reference (S40-S48).

Required fixtures: ``runtime_plugin``, ``runtime_capabilities``
(:class:`~polyhub_conformance.RuntimeCapabilities`) and ``runtime_sample`` (a
:class:`~polyhub_conformance.RuntimeSample`). Optional: ``companion_plugins``
(e.g. the plugin that detects the sample's format, when it is another one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from ..assertions import (
    assert_calls_cleanly,
    assert_configured,
    assert_error_is,
    assert_outputs_close,
    assert_raises_polyhub,
)
from ..capabilities import RuntimeCapabilities, RuntimeSample
from ..harness import (
    CODE_FILE,
    CODE_FUNCTION,
    CacheHome,
    CardSource,
    SampleSource,
    ServerPool,
    SuiteEnv,
    file_sha256,
    load_request,
    untrusted_code_repository,
)

# Devices no test machine has: a declared kind at an absurd index, or a kind
# the runtime does not declare at all (S44).
ABSENT_DEVICE_KINDS = [pytest.param("gpu", id="gpu"), pytest.param("ascend", id="ascend")]

# Bytes that are no model of any format, written with the sample's suffix (S45).
NOT_A_MODEL = b"polyhub conformance: this file is not a model\n" * 8


class RuntimeSuite:
    """What every runtime plugin must do: load on CPU, reproduce, refuse cleanly."""

    required_fixtures = ("runtime_plugin", "runtime_capabilities", "runtime_sample")

    @pytest.fixture
    def runtime_env(
        self,
        runtime_plugin: object,
        runtime_sample: RuntimeSample,
        companion_plugins: Sequence[object],
        conformance_home: CacheHome,
        serve_directory: ServerPool,
        isolated_plugins: Callable[..., Any],
    ) -> SuiteEnv:
        """A manager with the runtime, its companions and the kit's one-model source."""
        source = SampleSource(runtime_sample).as_plugin()
        plugins = isolated_plugins(runtime_plugin, *companion_plugins, source)
        return SuiteEnv(home=conformance_home, plugins=plugins, servers=serve_directory)

    def test_suite_is_configured(self, request: pytest.FixtureRequest) -> None:
        """S0: the required fixtures exist and the capabilities are a RuntimeCapabilities."""
        assert_configured(
            request, self.required_fixtures, "runtime_capabilities", RuntimeCapabilities
        )
        sample = request.getfixturevalue("runtime_sample")
        assert isinstance(sample, RuntimeSample), (
            f"S0: the fixture 'runtime_sample' must return a RuntimeSample, not {type(sample).__name__}"
        )

    def test_registers_its_runtime(
        self,
        runtime_env: SuiteEnv,
        runtime_capabilities: RuntimeCapabilities,
        runtime_sample: RuntimeSample,
    ) -> None:
        """S40: the runtime is registered with the declared formats and devices, CPU among them."""
        failures = [f"{r.name}: {r.error}" for r in runtime_env.plugins.failed]
        assert failures == [], f"S40: plugins failed to register: {failures}"
        name = runtime_capabilities.runtime
        assert name in runtime_env.plugins.runtimes, (
            f"S40: runtime {name!r} is not registered; registered: {list(runtime_env.plugins.runtimes)}"
        )
        info = runtime_env.plugins.runtimes[name]
        assert set(info.formats) == set(runtime_capabilities.formats)
        assert set(info.devices) == set(runtime_capabilities.devices)
        assert "cpu" in info.devices, f"S40: runtime {name!r} cannot target the CPU: {info.devices}"
        assert runtime_sample.format in info.formats, (
            f"S40: the sample's format {runtime_sample.format!r} is not one the runtime loads"
        )

    def test_devices_lists_cpu(
        self, runtime_env: SuiteEnv, runtime_capabilities: RuntimeCapabilities
    ) -> None:
        """S41: the runtime sees the CPU and devices of declared kinds only."""
        import polyhub

        devices = assert_calls_cleanly(
            "S41", runtime_env.plugins.runtime_devices, runtime_capabilities.runtime
        )
        assert isinstance(devices, list), f"S41: polyhub_runtime_devices returned {devices!r}"
        assert all(isinstance(d, polyhub.Device) for d in devices), f"S41: not Devices: {devices}"
        kinds = [d.kind for d in devices]
        assert "cpu" in kinds, f"S41: the runtime does not list the CPU: {devices}"
        undeclared = sorted(set(kinds) - set(runtime_capabilities.devices))
        assert not undeclared, f"S41: devices of undeclared kinds {undeclared}"

    def test_loads_sample_on_cpu(
        self,
        runtime_env: SuiteEnv,
        runtime_capabilities: RuntimeCapabilities,
        runtime_sample: RuntimeSample,
    ) -> None:
        """S42: the runtime loads the sample on CPU and the model reproduces the reference output."""
        request = load_request(
            runtime_env.plugins, runtime_sample, runtime=runtime_capabilities.runtime
        )
        model = assert_calls_cleanly(
            "S42", runtime_env.plugins.runtime_load, request, runtime_env.context()
        )
        outputs = runtime_sample.run(model, runtime_sample.inputs)
        assert_outputs_close(
            outputs, runtime_sample.expected, rtol=runtime_sample.rtol, atol=runtime_sample.atol
        )

    @pytest.mark.parametrize("device", ["cpu", "auto"])
    def test_loads_through_the_public_api(
        self,
        runtime_env: SuiteEnv,
        runtime_capabilities: RuntimeCapabilities,
        runtime_sample: RuntimeSample,
        device: str,
    ) -> None:
        """S43: ``polyhub.load`` fetches, verifies, detects and loads the sample, then reproduces."""
        import polyhub

        if Path(runtime_sample.path).is_dir():
            pytest.skip("S43: the sample is a folder; the kit's source serves files only")
        address = f"{SampleSource.scheme}:model"
        # runtime= named explicitly: a runtime registered with default=False is
        # only ever used when asked for by name.
        model = assert_calls_cleanly(
            "S43",
            polyhub.load,
            address,
            device=device,
            runtime=runtime_capabilities.runtime,
            **dict(runtime_sample.options),
        )
        outputs = runtime_sample.run(model, runtime_sample.inputs)
        assert_outputs_close(
            outputs, runtime_sample.expected, rtol=runtime_sample.rtol, atol=runtime_sample.atol
        )

    @pytest.mark.parametrize("kind", ABSENT_DEVICE_KINDS)
    def test_unsupported_device_raises_unsupported(
        self,
        runtime_env: SuiteEnv,
        runtime_capabilities: RuntimeCapabilities,
        runtime_sample: RuntimeSample,
        kind: str,
    ) -> None:
        """S44: a device that is not there raises UnsupportedError that names the devices that are."""
        import polyhub

        device = f"{kind}:63" if kind in runtime_capabilities.devices else f"{kind}:0"
        request = load_request(
            runtime_env.plugins, runtime_sample, runtime=runtime_capabilities.runtime, device=device
        )
        exc = assert_raises_polyhub(
            polyhub.UnsupportedError,
            "S44",
            runtime_env.plugins.runtime_load,
            request,
            runtime_env.context(),
        )
        assert "cpu" in str(exc).lower(), (
            f"S44: the UnsupportedError for {device} does not name the devices that exist: {exc}"
        )
        if Path(runtime_sample.path).is_file():
            address = f"{SampleSource.scheme}:model"
            assert_raises_polyhub(
                polyhub.UnsupportedError,
                "S44",
                polyhub.load,
                address,
                device=device,
                runtime=runtime_capabilities.runtime,
            )

    def test_corrupt_file_raises_polyhub_error(
        self,
        runtime_env: SuiteEnv,
        runtime_capabilities: RuntimeCapabilities,
        runtime_sample: RuntimeSample,
        tmp_path: Path,
    ) -> None:
        """S45: loading bytes that are not a model raises a PolyhubError, not the framework's error."""
        import polyhub

        if not runtime_capabilities.wraps_load_errors:
            pytest.skip("S45: the runtime lets framework errors through (wraps_load_errors=False)")
        source = Path(runtime_sample.path)
        if source.is_dir():
            pytest.skip("S45: the sample is a folder")
        bad = tmp_path / f"corrupt{source.suffix}"
        bad.write_bytes(NOT_A_MODEL)
        request = load_request(
            runtime_env.plugins, runtime_sample, runtime=runtime_capabilities.runtime, path=bad
        )
        call = f"polyhub_runtime_load(path={bad.name!r})"
        try:
            model = runtime_env.plugins.runtime_load(request, runtime_env.context())
        except Exception as exc:
            assert_error_is(polyhub.PolyhubError, "S45", call, exc)
        else:
            pytest.fail(
                f"S45: {call} loaded garbage bytes and returned {model!r:.200}", pytrace=False
            )

    def test_explain_says_why_a_device_is_missing(
        self, runtime_env: SuiteEnv, runtime_capabilities: RuntimeCapabilities
    ) -> None:
        """S47: polyhub_runtime_explain gives a sentence (or None) for an absent device."""
        from polyhub import Device

        absent = Device("gpu", 63)
        own = assert_calls_cleanly(
            "S47", runtime_env.plugins.runtime_explain, runtime_capabilities.runtime, absent
        )
        assert own is None or (isinstance(own, str) and own.strip()), (
            f"S47: polyhub_runtime_explain for {absent} returned {own!r:.200}, not a sentence or None"
        )

    def test_untrusted_code_never_reaches_the_runtime(
        self,
        runtime_env: SuiteEnv,
        runtime_plugin: object,
        runtime_capabilities: RuntimeCapabilities,
        runtime_sample: RuntimeSample,
        companion_plugins: Sequence[object],
        isolated_plugins: Callable[..., Any],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        """S48: a card whose code is untrusted fails with UntrustedError before the runtime is called.

        Whatever the plugin does: the core checks the code's trust before it
        imports the code and before it calls ``polyhub_runtime_load``.
        """
        import shutil

        import polyhub
        from polyhub import Asset, CodeRef, ModelCard, parse_address, repo_id_from_url

        info = runtime_env.plugins.runtimes[runtime_capabilities.runtime]
        if not info.code_formats:
            pytest.skip(f"S48: runtime {info.name!r} needs no model code (code_formats is empty)")
        if shutil.which("git") is None:
            pytest.skip("S48: git is not installed")
        marker = tmp_path / "code-ran"
        url = untrusted_code_repository(tmp_path / "code-repo", marker)
        sample = Path(runtime_sample.path)
        with_asset = runtime_sample.format in info.code_formats and sample.is_file()
        fmt = runtime_sample.format if with_asset else info.code_formats[0]
        code = CodeRef(
            url=url,
            entry="model",
            kind=fmt,
            repo_id=repo_id_from_url(url),
            file=CODE_FILE,
            function=CODE_FUNCTION,
        )
        assets = (
            (
                Asset(
                    url=sample.resolve().as_uri(),
                    sha256=file_sha256(sample),
                    size=sample.stat().st_size,
                    format=fmt,
                    name=sample.name,
                ),
            )
            if with_asset
            else ()
        )
        card = ModelCard(
            address=parse_address("conformance-code:model"),
            name="model",
            source="conformance-code",
            assets=assets,
            code=code,
        )
        plugins = isolated_plugins(runtime_plugin, *companion_plugins, CardSource(card).as_plugin())
        handed: list[Any] = []
        real_load = plugins.runtime_load

        def spy(request: Any, context: Any) -> Any:
            handed.append(request)
            return real_load(request, context)

        monkeypatch.setattr(plugins, "runtime_load", spy)
        assert_raises_polyhub(
            polyhub.UntrustedError,
            "S48",
            polyhub.load,
            "conformance-code:model",
            device="cpu",
            runtime=runtime_capabilities.runtime,
            trust_repo=False,
            **dict(runtime_sample.options),
        )
        assert not handed, (
            f"S48: polyhub_runtime_load was called for a card whose code is untrusted: {handed[0]!r:.300}"
        )
        assert not marker.exists(), (
            f"S48: code of an untrusted repository ran ({marker.read_text()!r})"
        )

"""``FormatSuite``: detection by content accepts its samples, rejects the rest (S30-S35).

Required fixtures: ``format_plugin``, ``format_capabilities``
(:class:`~polyhub_conformance.FormatCapabilities`) and ``format_samples``
(format name -> sample file). Optional: ``foreign_samples`` (label -> files of
other formats, added to the kit's own table) and ``companion_plugins``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ..assertions import assert_calls_cleanly, assert_configured
from ..capabilities import FormatCapabilities
from ..harness import CacheHome, ServerPool, SuiteEnv, probe_plugin
from ..samples import FOREIGN_BUILDERS, build_foreign

# The kit's foreign samples, by id (see samples.py); FormatCapabilities.also_accepts
# names those a format is legitimately built on.
FOREIGN_KINDS = [pytest.param(kind, id=kind) for kind in FOREIGN_BUILDERS]

# How much of a sample survives in S34: nothing, one byte, a header, half.
TRUNCATIONS = [pytest.param(n, id=f"keep-{n}") for n in (0, 1, 16, 4096)] + [
    pytest.param(-2, id="keep-half")
]


class FormatSuite:
    """What every format plugin must do: name its files by content, and only its files."""

    required_fixtures = ("format_plugin", "format_capabilities", "format_samples")

    @pytest.fixture
    def format_env(
        self,
        format_plugin: object,
        companion_plugins: Sequence[object],
        conformance_home: CacheHome,
        serve_directory: ServerPool,
        isolated_plugins: Callable[..., Any],
    ) -> SuiteEnv:
        plugins = isolated_plugins(format_plugin, *companion_plugins)
        return SuiteEnv(home=conformance_home, plugins=plugins, servers=serve_directory)

    def test_suite_is_configured(self, request: pytest.FixtureRequest) -> None:
        """S0: the required fixtures exist and the capabilities are a FormatCapabilities."""
        assert_configured(
            request, self.required_fixtures, "format_capabilities", FormatCapabilities
        )

    def test_registers_its_formats(
        self, format_env: SuiteEnv, format_capabilities: FormatCapabilities
    ) -> None:
        """S30: every format in the capabilities is registered, by this plugin."""
        failures = [f"{r.name}: {r.error}" for r in format_env.plugins.failed]
        assert failures == [], f"S30: plugins failed to register: {failures}"
        registered = set(format_env.plugins.formats)
        missing = sorted(set(format_capabilities.formats) - registered)
        assert not missing, (
            f"S30: formats {missing} are not registered; registered: {sorted(registered)}"
        )

    def test_detects_its_samples(
        self,
        format_env: SuiteEnv,
        format_capabilities: FormatCapabilities,
        format_samples: Mapping[str, Path],
    ) -> None:
        """S31: each sample is detected as its format, by the API and by the hook with its head."""
        assert format_samples, "S31: format_samples is empty; give one file per format"
        unknown = sorted(set(format_samples) - set(format_capabilities.formats))
        assert not unknown, f"S31: samples for formats {unknown} not in the capabilities"
        for name, path in format_samples.items():
            detected = assert_calls_cleanly("S31", format_env.detect_format, Path(path))
            assert detected == name, f"S31: {path} detected as {detected!r}, expected {name!r}"

    def test_detects_by_content_not_suffix(
        self,
        format_env: SuiteEnv,
        format_capabilities: FormatCapabilities,
        format_samples: Mapping[str, Path],
        tmp_path: Path,
    ) -> None:
        """S32: a sample stored without its suffix (as in the cache's blobs) is still detected."""
        if not format_capabilities.by_content:
            pytest.skip("S32: the formats have no signature (by_content=False)")
        for name, path in format_samples.items():
            path = Path(path)
            blob = tmp_path / "blobs" / name / "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
            blob.parent.mkdir(parents=True)
            if path.is_dir():
                shutil.copytree(path, blob)
            else:
                shutil.copyfile(path, blob)
            detected = assert_calls_cleanly("S32", format_env.detect_format, blob)
            assert detected == name, (
                f"S32: {path.name} copied to a name without suffix is detected as {detected!r}, "
                f"expected {name!r}: the cache stores files by sha256, so detection must read content"
            )

    @pytest.mark.parametrize("kind", FOREIGN_KINDS)
    def test_rejects_kit_foreign_sample(
        self,
        format_env: SuiteEnv,
        format_capabilities: FormatCapabilities,
        kind: str,
        tmp_path: Path,
    ) -> None:
        """S33: the kit's samples of other formats (and garbage) are not detected as this plugin's."""
        if kind in format_capabilities.formats or kind in format_capabilities.also_accepts:
            pytest.skip(f"S33: the plugin's formats are built on {kind!r} (also_accepts)")
        path = build_foreign(kind, tmp_path)
        detected = assert_calls_cleanly("S33", format_env.detect_format, path)
        assert detected is None, (
            f"S33: the kit's {kind!r} sample {path.name} was detected as {detected!r}"
        )

    def test_rejects_given_foreign_samples(
        self, format_env: SuiteEnv, foreign_samples: Mapping[str, Path]
    ) -> None:
        """S33: the plugin's own foreign samples (other plugins' files) are rejected."""
        if not foreign_samples:
            pytest.skip("S33: no foreign_samples given (the kit's own table still runs)")
        for label, path in foreign_samples.items():
            detected = assert_calls_cleanly("S33", format_env.detect_format, Path(path))
            assert detected is None, (
                f"S33: foreign sample {label!r} ({path}) detected as {detected!r}"
            )

    @pytest.mark.parametrize("keep", TRUNCATIONS)
    def test_survives_truncated_samples(
        self,
        format_env: SuiteEnv,
        format_samples: Mapping[str, Path],
        keep: int,
        tmp_path: Path,
    ) -> None:
        """S34: a truncated sample gives None or one of the registered formats, never an exception."""
        registered = set(format_env.plugins.formats)
        for name, path in format_samples.items():
            path = Path(path)
            if path.is_dir():
                continue
            data = path.read_bytes()
            cut = tmp_path / f"{name}-truncated{path.suffix}"
            cut.write_bytes(data[: len(data) // 2 if keep < 0 else keep])
            detected = assert_calls_cleanly("S34", format_env.detect_format, cut)
            assert detected is None or detected in registered, (
                f"S34: a truncated {name} sample was detected as unregistered {detected!r}"
            )

    def test_detection_imports_no_framework(
        self,
        format_plugin: object,
        format_capabilities: FormatCapabilities,
        format_samples: Mapping[str, Path],
    ) -> None:
        """S35: detecting the samples in a fresh interpreter imports no framework."""
        result = probe_plugin(
            format_plugin, frameworks=format_capabilities.frameworks, samples=format_samples
        )
        assert result.error is None, f"S35: the plugin could not be probed:\n{result.error}"
        assert result.new_modules == [], (
            f"S35: format detection imported {result.new_modules}; read the bytes instead "
            "(magic numbers, protobuf field shapes)"
        )
        assert result.detected == {name: name for name in format_samples}, (
            f"S35: in a fresh interpreter the samples were detected as {result.detected}"
        )

"""The ``pytest11`` entry point: harness fixtures and the suites' placeholder fixtures.

Installed but inert (style-anchors G13): nothing here is autouse, no hook
changes collection or reporting, and polyhub itself is imported only when a
fixture runs. A project sees a difference only when a test class subclasses a
suite or asks for one of these fixtures.

Placeholders for the fixtures a plugin must provide live here, at the lowest
priority pytest has, so that a plugin may define its own either as methods of
its test class or in a ``conftest.py``: both override a plugin-level fixture,
whereas a fixture defined on the suite class would shadow a ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .harness import (
    CacheHome,
    NetworkGuard,
    NotConfigured,
    ServerPool,
    Tamperer,
    build_plugins,
)

if TYPE_CHECKING:
    from polyhub.testing import Plugins

    from .capabilities import HooksCapabilities


# ---------------------------------------------------------------------------
# Harness fixtures: usable by any test, suites or not
# ---------------------------------------------------------------------------


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty ``POLYHUB_HOME`` (``tmp_path / "polyhub-home"``) for this test.

    :func:`polyhub.testing.isolated_home`: every other ``POLYHUB_*`` variable is
    cleared, progress bars are off, 127.0.0.1 bypasses proxies, and the plugin
    manager and ``polyhub.set_dir`` are reset; all of it is restored afterwards.
    """
    from polyhub.testing import isolated_home as isolate

    # Through monkeypatch: undone with the test's own changes, in the right order.
    with isolate(tmp_path / "polyhub-home", patch=monkeypatch) as home:
        yield home


@pytest.fixture
def conformance_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CacheHome]:
    """:func:`isolated_home` as the suites run it: a plugin that wrongly reaches the
    network fails fast (``POLYHUB_RETRIES=1``, ``POLYHUB_TIMEOUT=10``) instead of
    retrying for a minute. A :class:`CacheHome` to look inside."""
    from polyhub.testing import isolated_home as isolate

    env = {"POLYHUB_RETRIES": "1", "POLYHUB_TIMEOUT": "10"}
    with isolate(tmp_path / "polyhub-home", env=env, patch=monkeypatch) as home:
        yield CacheHome(home)


@pytest.fixture
def serve_directory() -> Iterator[ServerPool]:
    """``serve_directory(path=None) -> LoopbackHub``: a folder (and/or bytes put on it)
    served on 127.0.0.1, a free port.

    A :class:`polyhub.testing.LoopbackHub`: ``server.url`` has no trailing slash,
    ``server.put(path, data)`` serves bytes, ``server.count(path)`` and
    ``server.requests`` say what was asked. Every server started in the test is
    stopped at its end.
    """
    pool = ServerPool()
    yield pool
    pool.close()


@pytest.fixture
def isolated_plugins(conformance_home: CacheHome) -> Iterator[Callable[..., Plugins]]:
    """``isolated_plugins(plugin, *companions) -> Plugins``: a fresh manager the API uses.

    Only the core's builtins and the given plugins are registered (no entry
    points), and the public API (``polyhub.load``...) uses it until the test ends
    (:func:`polyhub.testing.use_plugins`).
    """
    from contextlib import ExitStack

    from polyhub.testing import use_plugins

    with ExitStack() as stack:

        def make(plugin: object, *companions: object) -> Plugins:
            return stack.enter_context(use_plugins(build_plugins(plugin, companions)))

        yield make


@pytest.fixture
def no_network() -> Iterator[NetworkGuard]:
    """Every IP socket ``connect`` fails for the rest of the test; ``.attempts`` lists them."""
    with NetworkGuard() as guard:
        yield guard


# ---------------------------------------------------------------------------
# Placeholders: what each suite needs from the plugin
# ---------------------------------------------------------------------------


def _missing(request: pytest.FixtureRequest, name: str) -> Any:
    suite = request.cls.__name__ if request.cls is not None else request.node.name
    raise NotConfigured(name, suite)


@pytest.fixture
def polyhub_plugin(request: pytest.FixtureRequest) -> object:
    """Every suite: the plugin under test, when one module provides all of it.

    ``hooks_plugin``, ``source_plugin``, ``format_plugin`` and ``runtime_plugin``
    default to it, so a plugin in one module defines this fixture once.
    """
    return _missing(request, "polyhub_plugin")


def _plugin_for(request: pytest.FixtureRequest, name: str) -> object:
    try:
        return request.getfixturevalue("polyhub_plugin")
    except NotConfigured:
        return _missing(request, name)


@pytest.fixture
def hooks_plugin(request: pytest.FixtureRequest) -> object:
    """HooksSuite: the plugin (usually the module of the entry point)."""
    return _plugin_for(request, "hooks_plugin")


@pytest.fixture
def hooks_capabilities() -> HooksCapabilities:
    """HooksSuite: optional; the defaults check the well-known frameworks."""
    from .capabilities import HooksCapabilities

    return HooksCapabilities()


@pytest.fixture
def source_plugin(request: pytest.FixtureRequest) -> object:
    """SourceSuite: the plugin that serves the scheme."""
    return _plugin_for(request, "source_plugin")


@pytest.fixture
def source_capabilities(request: pytest.FixtureRequest) -> object:
    """SourceSuite: a ``SourceCapabilities``."""
    return _missing(request, "source_capabilities")


@pytest.fixture
def sample_address(request: pytest.FixtureRequest) -> str:
    """SourceSuite: an address of a model with at least one downloadable asset."""
    return _missing(request, "sample_address")  # type: ignore[no-any-return]


@pytest.fixture
def hub_env(request: pytest.FixtureRequest) -> Mapping[str, str]:
    """SourceSuite: environment variables that point the source at a test hub.

    Required even when empty (``return {}``), so that a forgotten hub never
    sends the kit to the real internet.
    """
    return _missing(request, "hub_env")  # type: ignore[no-any-return]


@pytest.fixture
def unknown_address(sample_address: str) -> str:
    """SourceSuite: an address the source serves no model at.

    Default: the sample's address with its last path segment replaced.
    Override it when that is not a valid path of your scheme.
    """
    from polyhub import Address, parse_address

    addr = parse_address(sample_address)
    head, _, _last = addr.path.rpartition("/")
    path = (
        f"{head}/polyhub_conformance_no_such_model" if head else "polyhub_conformance_no_such_model"
    )
    return str(Address(addr.scheme, path, addr.revision, addr.options))


@pytest.fixture
def tamper(serve_directory: ServerPool) -> Iterator[Callable[[Any], None]]:
    """SourceSuite: ``tamper(asset)`` corrupts the bytes a source will download for ``asset``.

    The default handles hubs served with ``serve_directory`` (mirrors applied)
    and ``file://`` or local paths, and restores the bytes after the test.
    """
    tamperer = Tamperer(serve_directory)
    yield tamperer
    tamperer.close()


@pytest.fixture
def companion_plugins() -> Sequence[object]:
    """Any suite: other plugins the plugin under test needs (e.g. a separate format)."""
    return ()


@pytest.fixture
def format_plugin(request: pytest.FixtureRequest) -> object:
    """FormatSuite: the plugin that detects the formats."""
    return _plugin_for(request, "format_plugin")


@pytest.fixture
def format_capabilities(request: pytest.FixtureRequest) -> object:
    """FormatSuite: a ``FormatCapabilities``."""
    return _missing(request, "format_capabilities")


@pytest.fixture
def format_samples(request: pytest.FixtureRequest) -> Mapping[str, Path]:
    """FormatSuite: format name -> a sample file of that format."""
    return _missing(request, "format_samples")  # type: ignore[no-any-return]


@pytest.fixture
def foreign_samples() -> Mapping[str, Path]:
    """FormatSuite: optional; label -> files of other formats that must be rejected."""
    return {}


@pytest.fixture
def runtime_plugin(request: pytest.FixtureRequest) -> object:
    """RuntimeSuite: the plugin that provides the runtime."""
    return _plugin_for(request, "runtime_plugin")


@pytest.fixture
def runtime_capabilities(request: pytest.FixtureRequest) -> object:
    """RuntimeSuite: a ``RuntimeCapabilities``."""
    return _missing(request, "runtime_capabilities")


@pytest.fixture
def runtime_sample(request: pytest.FixtureRequest) -> object:
    """RuntimeSuite: a ``RuntimeSample`` (file, format, inputs, expected outputs)."""
    return _missing(request, "runtime_sample")

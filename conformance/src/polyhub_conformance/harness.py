"""The kit's machinery: isolated homes, loopback servers, plugin managers, probes.

Everything here is usable outside the suites too (a plugin's own tests can
serve its test hub with :class:`StaticServer`). Nothing here imports a
framework, and nothing touches the process until a fixture asks for it.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlparse

import pytest
from _pytest.outcomes import Skipped  # pytest.skip.Exception, importable with its type

if TYPE_CHECKING:
    from polyhub import Asset, Context, ModelCard
    from polyhub.testing import LoopbackHub as StaticServer
    from polyhub.testing import Plugins

    from .capabilities import RuntimeSample

__all__ = [
    "CacheHome",
    "CardSource",
    "NetworkGuard",
    "NotConfigured",
    "SampleSource",
    "ServeDirectory",
    "StaticServer",
    "SuiteEnv",
    "build_plugins",
    "detect_format",
    "file_sha256",
    "find_entry_point",
    "make_context",
    "plugin_name",
    "plugin_spec",
    "probe_plugin",
    "tamper_bytes",
    "untrusted_code_repository",
]


def file_sha256(path: Path) -> str:
    """:func:`polyhub.file_sha256`. Imported on first use, as everywhere in this module:
    pytest loads the kit as a plugin in every session, which should not import polyhub."""
    from polyhub import file_sha256 as core_file_sha256

    return core_file_sha256(path)


# ---------------------------------------------------------------------------
# The cache home
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheHome:
    """An isolated ``POLYHUB_HOME`` and ways to look inside it."""

    root: Path

    def __fspath__(self) -> str:
        return str(self.root)

    def files(self) -> dict[str, int]:
        """Every regular file under the home (links not followed): relative path to size."""
        found: dict[str, int] = {}
        if not self.root.exists():
            return found
        for dirpath, _dirs, names in os.walk(self.root):
            for name in names:
                path = Path(dirpath) / name
                if path.is_symlink() or not path.is_file():
                    continue
                found[path.relative_to(self.root).as_posix()] = path.stat().st_size
        return found

    def blobs(self) -> list[str]:
        """Relative paths of the files under ``<home>/blobs/``: verified model bytes."""
        return sorted(p for p in self.files() if p.startswith("blobs/"))

    def files_with_sha256(self, digests: set[str]) -> list[str]:
        """Files under the home whose content hashes to one of ``digests``."""
        if not digests:
            return []
        return sorted(p for p in self.files() if file_sha256(self.root / p) in digests)


# ---------------------------------------------------------------------------
# A loopback static HTTP server: polyhub.testing's
# ---------------------------------------------------------------------------


def __getattr__(name: str) -> Any:
    # ``StaticServer``: the kit's name for polyhub.testing.LoopbackHub, which
    # ``serve_directory`` returns. Looked up on use: the kit imports no polyhub
    # until a fixture runs.
    if name == "StaticServer":
        from polyhub.testing import LoopbackHub

        return LoopbackHub
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ServeDirectory(Protocol):
    """The ``serve_directory`` fixture: ``serve_directory(path) -> StaticServer``."""

    servers: list[StaticServer]

    def __call__(self, directory: Path | None = None) -> StaticServer: ...


class ServerPool:
    """Starts servers on demand and stops them all at teardown."""

    def __init__(self) -> None:
        self.servers: list[StaticServer] = []

    def __call__(self, directory: Path | None = None) -> StaticServer:
        from polyhub.testing import LoopbackHub

        server = LoopbackHub(directory)
        self.servers.append(server)
        return server

    def requests(self) -> list[str]:
        return [f"{s.url}{r.path}" for s in self.servers for r in s.requests]

    def close(self) -> None:
        for server in self.servers:
            server.stop()


# ---------------------------------------------------------------------------
# No network
# ---------------------------------------------------------------------------


class NetworkGuard:
    """Makes every IP socket connection fail, and remembers who tried.

    Failing alone is not enough: a plugin that catches ``OSError`` and falls
    back would hide the attempt, so the suites assert ``attempts == []``.
    """

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> NetworkGuard:
        guard = self

        def refuse(sock: socket.socket, address: Any, *rest: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                guard.attempts.append(repr(address))
                raise OSError(
                    errno.ENETUNREACH, f"polyhub conformance: no network allowed ({address!r})"
                )
            return guard._saved["connect"](sock, address)

        self._saved = {"connect": socket.socket.connect, "connect_ex": socket.socket.connect_ex}
        socket.socket.connect = refuse  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = refuse  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        socket.socket.connect = self._saved["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = self._saved["connect_ex"]  # type: ignore[method-assign]


# ---------------------------------------------------------------------------
# Tampering
# ---------------------------------------------------------------------------


def tamper_bytes(path: Path) -> bytes:
    """Corrupt ``path`` in place, keeping its size, and return the original bytes.

    The size stays the same so that only the hash can catch it: a shorter file
    would be caught by the size check and prove nothing about hashing.
    """
    original = path.read_bytes()
    data = bytearray(original or b"\0")
    for i in (0, len(data) // 2, len(data) - 1):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    return original


class Tamperer:
    """The default ``tamper`` fixture: corrupts the file behind an asset's URL.

    Knows files served by ``serve_directory`` (after ``POLYHUB_MIRRORS``
    rewriting) and ``file://``/plain local paths; restores them at teardown, so
    a session-scoped hub survives the test.
    """

    def __init__(self, pool: ServerPool) -> None:
        self.pool = pool
        self.restore: list[tuple[Path, bytes]] = []

    def locate(self, url: str) -> Path | None:
        url = make_context().rewrite_url(url)
        for server in self.pool.servers:
            found = server.path_for(url)
            if found is not None:
                return found
        parsed = urlparse(url)
        if parsed.scheme == "file":
            return Path(unquote(parsed.path))
        if parsed.scheme == "" and Path(url).exists():
            return Path(url)
        return None

    def __call__(self, asset: Asset) -> None:
        path = self.locate(asset.url)
        if path is None or not path.is_file():
            raise LookupError(
                f"the default tamper fixture cannot find the file behind {asset.url!r}: serve the "
                "hub with the serve_directory fixture or override the 'tamper' fixture"
            )
        self.restore.append((path, tamper_bytes(path)))

    def close(self) -> None:
        for path, data in reversed(self.restore):
            path.write_bytes(data)


# ---------------------------------------------------------------------------
# Plugin managers
# ---------------------------------------------------------------------------


def find_entry_point(plugin: object) -> metadata.EntryPoint | None:
    """The installed ``polyhub`` entry point that loads ``plugin``, if any."""
    module = plugin.__name__ if isinstance(plugin, ModuleType) else None
    for ep in metadata.entry_points(group="polyhub"):
        if module is not None and ep.value == module:
            return ep
    return None


def plugin_name(plugin: object) -> str:
    """The name ``plugin`` is registered under: its entry-point name, else its module."""
    ep = find_entry_point(plugin)
    if ep is not None:
        return ep.name
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    return type(plugin).__qualname__


def build_plugins(plugin: object, companions: Sequence[object] = ()) -> Plugins:
    """A fresh plugin manager with the builtins, ``plugin`` and ``companions`` only.

    Entry points are not loaded: the verdict must not depend on what else
    happens to be installed.
    """
    pairs: list[tuple[str, object]] = [(plugin_name(plugin), plugin)]
    for extra in companions:
        name = plugin_name(extra)
        if name not in {n for n, _ in pairs}:
            pairs.append((name, extra))
    from polyhub.testing import plugin_manager

    return plugin_manager(*pairs)


def make_context(plugins: Plugins | None = None) -> Context:
    """A :class:`~polyhub.Context` for calling hooks directly, as the API would.

    ``plugins``: the manager whose sources and formats it knows; the process-wide
    one (what :func:`polyhub.testing.use_plugins` installed) when omitted.
    """
    import polyhub

    return polyhub.make_context(plugins=plugins)


def detect_format(path: Path, plugins: Plugins) -> str | None:
    """The format of ``path`` as the format hooks of ``plugins`` name it, as the core asks."""
    return make_context(plugins).detect_format(path)


# ---------------------------------------------------------------------------
# The kit's own source: serves a runtime sample so polyhub.load can reach it
# ---------------------------------------------------------------------------


class SampleSource:
    """A one-model source (scheme ``conformance-sample``) over a local sample file.

    Lets the runtime suite load its sample through the public
    :func:`polyhub.load`, through the real fetch, cache and format check,
    without needing any hub.
    """

    scheme = "conformance-sample"

    def __init__(self, sample: RuntimeSample) -> None:
        self.sample = sample

    def card(self) -> ModelCard:
        from polyhub import Asset, ModelCard, parse_address

        path = Path(self.sample.path)
        return ModelCard(
            address=parse_address(f"{self.scheme}:model"),
            name="model",
            source=self.scheme,
            assets=(
                Asset(
                    url=path.resolve().as_uri(),
                    sha256=file_sha256(path) if path.is_file() else None,
                    size=path.stat().st_size if path.is_file() else None,
                    format=self.sample.format,
                    name=path.name,
                ),
            ),
            code=self.sample.code,
        )

    def _hooks(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        from polyhub import SourceInfo, hookimpl, repo_id_from_url

        source = self

        # The sample's code is the test author's own: trusted as a source trusts its
        # organisation, so the suite needs no trust set-up (S48 checks refusal).
        code = self.sample.code
        trusted = (code.repo_id or repo_id_from_url(code.url),) if code is not None else ()

        @hookimpl
        def polyhub_register_sources(registry: Any) -> None:
            registry.add(
                SourceInfo(
                    scheme=source.scheme, summary="the conformance kit's sample", trusted=trusted
                )
            )

        @hookimpl
        def polyhub_source_resolve(address: Any, context: Any) -> Any:
            if address.scheme != source.scheme:
                return None
            return source.card()

        return polyhub_register_sources, polyhub_source_resolve

    def as_plugin(self) -> object:
        register, resolve = self._hooks()
        return type(
            "ConformanceSampleSource",
            (),
            {
                "polyhub_register_sources": staticmethod(register),
                "polyhub_source_resolve": staticmethod(resolve),
            },
        )()


class CardSource:
    """A one-card source: serves ``card`` (whatever address is asked) under ``card.source``.

    Its :class:`~polyhub.SourceInfo` trusts no repository, so code the card
    points at is untrusted unless the test trusts it.
    """

    def __init__(self, card: ModelCard) -> None:
        self.card = card

    def as_plugin(self) -> object:
        from polyhub import SourceInfo, hookimpl

        card = self.card

        @hookimpl
        def polyhub_register_sources(registry: Any) -> None:
            registry.add(SourceInfo(scheme=card.source, summary="the conformance kit's card"))

        @hookimpl
        def polyhub_source_resolve(address: Any, context: Any) -> Any:
            return card

        return type(
            "ConformanceCardSource",
            (),
            {
                "polyhub_register_sources": staticmethod(polyhub_register_sources),
                "polyhub_source_resolve": staticmethod(polyhub_source_resolve),
            },
        )()


#: The file of the kit's code repository, and the function it defines.
CODE_FILE = "polyhub_conformance_code.py"
CODE_FUNCTION = "build"


def untrusted_code_repository(folder: Path, marker: Path) -> str:
    """A git repository in ``folder`` whose code file writes ``marker`` when imported or run.

    :returns: its ``file://`` URL. The file is :data:`CODE_FILE`, its function
        :data:`CODE_FUNCTION`; nothing of it may run unless its repository is trusted.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CODE_FILE).write_text(
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('imported')\n\n\n"
        f"def {CODE_FUNCTION}(*args, **kwargs):\n"
        f"    pathlib.Path({str(marker)!r}).write_text('called')\n"
        "    raise RuntimeError('untrusted code of the conformance kit ran')\n"
    )
    identity = ["-c", "user.name=polyhub-conformance", "-c", "user.email=kit@localhost"]
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "code"]):
        subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)
    return folder.resolve().as_uri()


# ---------------------------------------------------------------------------
# Probing a plugin in a fresh interpreter
# ---------------------------------------------------------------------------


def plugin_spec(plugin: object) -> str:
    """``module`` or ``module:attribute``: how a fresh interpreter can import ``plugin``."""
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    module = type(plugin).__module__
    owner = sys.modules.get(module)
    for attr, value in vars(owner).items() if owner is not None else ():
        if value is plugin:
            return f"{module}:{attr}"
    # Not a module-level object: rebuild it from its class (no arguments).
    return f"{module}:{type(plugin).__qualname__}()"


@dataclass
class ProbeResult:
    """What :func:`probe_plugin` saw in the fresh interpreter."""

    new_modules: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    detected: dict[str, str | None] = field(default_factory=dict)
    error: str | None = None


def probe_plugin(
    plugin: object, *, frameworks: Sequence[str], samples: Mapping[str, Path] | None = None
) -> ProbeResult:
    """Import and register ``plugin`` in a subprocess; report framework modules it imported.

    With ``samples``, also runs format detection on each file there. A
    subprocess because the test process has usually imported the framework
    already, which would hide the import.
    """
    request = {
        "plugin": plugin_spec(plugin),
        "frameworks": list(frameworks),
        "samples": {k: str(v) for k, v in (samples or {}).items()},
    }
    env = dict(os.environ)
    # The plugin may live next to the tests (not installed): give the child our path.
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.run(
        [sys.executable, "-m", "polyhub_conformance._probe", json.dumps(request)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return ProbeResult(error=f"probe exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    data = json.loads(lines[-1])
    return ProbeResult(
        new_modules=data.get("new_modules", []),
        failed=data.get("failed", []),
        detected=data.get("detected", {}),
        error=data.get("error"),
    )


# ---------------------------------------------------------------------------
# Configuration of the suites
# ---------------------------------------------------------------------------


class NotConfigured(Skipped):
    """Raised by the kit's placeholder for a required fixture the plugin did not define.

    A skip, not an error: only ``test_suite_is_configured`` turns it into a
    failure, so a missing fixture is reported once, not once per test.
    """

    def __init__(self, fixture: str, suite: str) -> None:
        self.fixture = fixture
        self.suite = suite
        super().__init__(
            f"{suite} is not configured: fixture {fixture!r} is missing "
            "(test_suite_is_configured says what to define)",
            pytrace=False,
        )


@dataclass(frozen=True)
class SuiteEnv:
    """What a suite's tests share: the isolated home, the plugin manager, the servers."""

    home: CacheHome
    plugins: Plugins
    servers: ServerPool

    def context(self) -> Context:
        return make_context(self.plugins)

    def detect_format(self, path: Path) -> str | None:
        """The format of ``path`` as this manager's format hooks name it, as the core asks."""
        return detect_format(path, self.plugins)

    def asset_requests(self, assets: Sequence[Asset]) -> list[str]:
        """Requests so far, to the kit's servers, for the files behind ``assets``."""
        context = self.context()
        wanted: set[tuple[str, str]] = set()
        for asset in assets:
            url = context.rewrite_url(asset.url)
            for server in self.servers.servers:
                if server.path_for(url) is not None:
                    wanted.add((server.url, unquote(urlparse(url).path)))
        return [
            f"{server.url}{path}"
            for server in self.servers.servers
            for path in server.paths()
            if (server.url, path) in wanted
        ]


def required_args(fn: Callable[..., Any]) -> list[str]:
    """The arguments pluggy passes to ``fn``: those without a default (``self`` excluded)."""
    import inspect

    params = inspect.signature(fn).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in params if p.kind in kinds and p.default is inspect.Parameter.empty]


def load_request(
    plugins: Plugins,
    sample: RuntimeSample,
    *,
    runtime: str,
    device: str = "cpu",
    path: Path | None = None,
) -> Any:
    """The ``LoadRequest`` the core would build for ``sample`` (a one-asset card).

    For a format of the runtime's ``code_formats``, the sample's code is imported
    by the core (checkout, trust, isolated import), as a load would do it.
    """
    from polyhub import LoadRequest, parse_device

    card = SampleSource(sample).card()
    code = None
    if (
        card.code is not None
        and runtime in plugins.runtimes
        and sample.format in plugins.runtimes[runtime].code_formats
    ):
        code = make_context(plugins).import_code(
            card.code, scheme=SampleSource.scheme, purpose="run the conformance sample's code"
        )
    return LoadRequest(
        code=code,
        path=Path(path if path is not None else sample.path),
        format=sample.format,
        runtime=runtime,
        device=parse_device(device),
        card=card,
        asset=card.assets[0],
        options=dict(sample.options),
    )


def expected_failure(test: Callable[..., Any], reason: str) -> Callable[..., Any]:
    """A copy of a suite's test marked ``xfail(strict=True)``, for one subclass only.

    ``TestMine.test_x = expected_failure(Suite.test_x, "why")``: marking the
    suite's own function would mark it for every plugin (s3fs's pattern leaks
    that way); strict, so the mark must go once the plugin is fixed.
    """
    import functools

    @functools.wraps(test)
    def copy(*args: Any, **kwargs: Any) -> Any:
        return test(*args, **kwargs)

    marked: Callable[..., Any] = pytest.mark.xfail(strict=True, reason=reason)(copy)
    return marked

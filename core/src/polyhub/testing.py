"""Helpers for tests of polyhub and of its plugins: an isolated home, plugin swapping, a loopback hub.

Plain functions and context managers, no pytest: the fixtures built on them ship in the
conformance kit's pytest plugin (``polyhub-conformance``: ``isolated_home``,
``serve_directory``, ``loopback``, ``isolated_plugins``), where pytest finds them
through its ``pytest11`` entry point, as pytest plugins ship fixtures.

    >>> from polyhub.testing import LoopbackHub, isolated_home, use_plugins
    >>> with isolated_home(tmp / "home"), LoopbackHub(hub_dir) as hub, use_plugins(my_plugin):
    ...     polyhub.load("mine:model", hub=hub.url)
    ...     assert hub.count("/model.onnx") == 1

Nothing here touches the process until called: importing this module starts no
server and changes no setting. Only loopback addresses (127.0.0.1) are served.
"""

from __future__ import annotations

import email.utils
import hashlib
import mimetypes
import os
import posixpath
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    import ssl

    from ._plugins import Plugins

__all__ = [
    "LoopbackHub",
    "Patcher",
    "Plugins",
    "Request",
    "git",
    "isolated_home",
    "plugin_manager",
    "use_plugins",
]


def __getattr__(name: str) -> Any:
    # ``Plugins``, the type plugin_manager() returns, for annotations in tests; looked
    # up on use, since it loads pluggy and the registries.
    if name == "Plugins":
        from ._plugins import Plugins

        return Plugins
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------
# An isolated polyhub home
# ---------------------------------------------------------------------------


class Patcher(Protocol):
    """What :func:`isolated_home` changes the process with: pytest's ``monkeypatch`` fits."""

    def setenv(self, name: str, value: str) -> None: ...

    def delenv(self, name: str, raising: bool = ...) -> None: ...

    def setattr(self, target: Any, name: str, value: Any) -> None: ...


class _Undo:
    """A :class:`Patcher` that puts back the whole environment and each attribute it set."""

    def __init__(self) -> None:
        self._environ = dict(os.environ)  # also what the block changed by hand
        self._attrs: list[tuple[Any, str, Any]] = []

    def setenv(self, name: str, value: str) -> None:
        os.environ[name] = value

    def delenv(self, name: str, raising: bool = False) -> None:
        os.environ.pop(name, None)

    def setattr(self, target: Any, name: str, value: Any) -> None:
        self._attrs.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def undo(self) -> None:
        # Only what differs: rewriting every variable would call putenv for each.
        for name in [n for n in os.environ if n not in self._environ]:
            del os.environ[name]
        for name, value in self._environ.items():
            if os.environ.get(name) != value:
                os.environ[name] = value
        for target, name, value in reversed(self._attrs):
            setattr(target, name, value)


@contextmanager
def isolated_home(
    root: str | os.PathLike[str],
    *,
    env: Mapping[str, str | None] | None = None,
    patch: Patcher | None = None,
) -> Iterator[Path]:
    """Point polyhub at an empty home ``root`` for the block; yields ``root`` as a Path.

    Inside the block: every ``POLYHUB_*`` variable of the caller's environment is
    unset (a developer's offline flag, mirrors or trust list cannot change a
    result), ``POLYHUB_HOME=root`` (the cache, the trust list, the git checkouts),
    ``POLYHUB_DISABLE_PROGRESS_BARS=1``, 127.0.0.1 bypasses any proxy, a
    :func:`polyhub.set_dir` made earlier is set aside, and the process-wide
    plugin manager is rebuilt on first use (a plugin reads its settings when it
    registers). ``env`` then sets (a string) or unsets (``None``) more variables.

    On exit all of it is put back as it was; ``root`` is left on disk for the
    caller to inspect, and need not exist before (polyhub creates what it writes).

    :param patch: make the changes through this (pytest's ``monkeypatch``), which
        then also undoes them, together with the test's own changes and in the
        right order; the block's exit then undoes nothing itself.
    """
    from . import _config as config
    from . import _plugins as plugins

    home = Path(root)
    undo = _Undo() if patch is None else None
    how: Patcher = undo if undo is not None else patch  # type: ignore[assignment]
    try:
        for name in [n for n in os.environ if n.startswith("POLYHUB_")]:
            how.delenv(name, raising=False)
        how.setenv("POLYHUB_HOME", str(home))
        how.setenv("POLYHUB_DISABLE_PROGRESS_BARS", "1")
        for name in ("NO_PROXY", "no_proxy"):
            kept = [h for h in os.environ.get(name, "").split(",") if h.strip()]
            how.setenv(name, ",".join([*kept, "127.0.0.1", "localhost"]))
        for name, value in (env or {}).items():
            if value is None:
                how.delenv(name, raising=False)
            else:
                how.setenv(name, value)
        how.setattr(config, "_home_override", None)
        how.setattr(plugins, "_default", None)
        yield home
    finally:
        if undo is not None:
            undo.undo()


# ---------------------------------------------------------------------------
# Plugin swapping
# ---------------------------------------------------------------------------


def _named(plugin: object) -> tuple[str, object]:
    if isinstance(plugin, tuple) and len(plugin) == 2 and isinstance(plugin[0], str):
        return plugin[0], plugin[1]
    from types import ModuleType

    name = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__qualname__
    return name, plugin


def plugin_manager(*plugins: object, entry_points: bool = False) -> Plugins:
    """A fresh plugin manager: the core's builtins, then ``plugins`` in order.

    Each plugin is a module or object of hook implementations, registered under
    its module name (an object: its class name), or a ``(name, plugin)`` pair.
    The installed ``polyhub`` entry points are loaded too only with
    ``entry_points=True``: a test's verdict should not depend on what else is
    installed. A plugin whose hooks break the contract is recorded in
    ``.failed`` (as ``polyhub plugins`` shows it), not raised.
    """
    from ._plugins import get_plugin_manager

    return get_plugin_manager(load_entry_points=entry_points, plugins=[_named(p) for p in plugins])


@contextmanager
def use_plugins(*plugins: object, entry_points: bool = False) -> Iterator[Plugins]:
    """Make a manager of ``plugins`` the one the public API uses for the block.

    ``plugins`` is as for :func:`plugin_manager`, or one ready manager (a
    :class:`~polyhub._plugins.Plugins` built by it). ``polyhub.load``,
    ``polyhub.list_models``... and the CLI's functions see only these plugins until
    the block ends; then the manager used before (or none yet built) comes back.
    Yields the manager.
    """
    from . import _plugins as module

    if len(plugins) == 1 and isinstance(plugins[0], module.Plugins):
        manager = plugins[0]
    else:
        manager = plugin_manager(*plugins, entry_points=entry_points)
    saved = module._default
    module._default = manager
    try:
        yield manager
    finally:
        module._default = saved


# ---------------------------------------------------------------------------
# A loopback hub
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request a :class:`LoopbackHub` received.

    :ivar method: ``GET`` or ``HEAD``.
    :ivar path: the URL path, percent-decoded, without the query (``/a/b.onnx``).
    :ivar target: the request target as sent (path and query, still encoded).
    :ivar headers: the request headers.
    """

    method: str
    path: str
    target: str
    headers: Mapping[str, str] = field(default_factory=dict)


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:16] + '"'


class LoopbackHub:
    """A threaded HTTP/1.1 server on ``127.0.0.1`` (a free port) serving a folder and bytes.

    A file put with :meth:`put` is served at its path; any other path is looked up
    under ``root`` (when given): ``/a/b`` serves ``root/a/b``, a folder its
    ``index.html``, anything outside ``root`` 404. Responses carry ``ETag``
    (bytes: a hash; files: size and modification time), ``Last-Modified`` for
    files, and honour ``Range: bytes=N-`` / ``bytes=N-M`` (``If-Range``),
    ``If-None-Match`` and ``If-Modified-Since``, as a hub's CDN does. Set
    ``etags = False`` to serve without ETags.

    Every request is recorded (:attr:`requests`, :meth:`count`, :meth:`gets`), so a
    test can count what a client fetched. :meth:`script` makes the next responses
    of one path misbehave (errors, cut bodies, stalls) to test retries.

    Starts on construction; stop it with :meth:`stop` or use it as a context
    manager. ``url`` (``http://127.0.0.1:PORT``, no trailing slash) is what a
    hub setting or ``POLYHUB_MIRRORS`` points at.

    :param root: a folder to serve, or ``None`` for in-memory files only.
    :param files: URL path -> bytes, served as with :meth:`put`.
    :param ssl_context: serve HTTPS with this server-side context.
    :param on_request: called with each :class:`Request` as it arrives (from the
        server's thread), e.g. to keep a live log of one's own.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        files: Mapping[str, bytes] | None = None,
        etags: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        on_request: Callable[[Request], None] | None = None,
    ) -> None:
        self.root: Path | None = Path(root).resolve() if root is not None else None
        self.files: dict[str, bytes] = {}
        self.actions: dict[str, list[tuple[Any, ...]]] = {}
        self.etags = etags
        self._requests: list[Request] = []
        self._on_request = on_request
        self._lock = threading.Lock()
        for path, data in (files or {}).items():
            self.files["/" + path.lstrip("/")] = data
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        scheme = "http"
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        # A short poll keeps stop() (at every test's teardown) from waiting 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._stopped = False

    # -- content ------------------------------------------------------------

    def put(self, path: str, data: bytes) -> str:
        """Serve ``data`` at the URL path ``path`` (from memory); returns its URL."""
        self.files["/" + path.lstrip("/")] = data
        return self.url_for(path)

    def url_for(self, path: str) -> str:
        """The URL of ``path`` on this server."""
        return f"{self.url}/{path.lstrip('/')}"

    def path_for(self, url: str) -> Path | None:
        """The file under ``root`` behind ``url``; ``None`` when this server does not serve it."""
        if self.root is None or not url.startswith(self.url + "/"):
            return None
        return self.root / unquote(urlsplit(url).path).lstrip("/")

    def script(self, path: str, *actions: tuple[Any, ...]) -> None:
        """Queue how the next GETs of ``path`` misbehave, one action per request.

        ``("status", code[, headers])``: answer ``code`` with a short body;
        ``("cut", n)``: send the headers and ``n`` bytes, then drop the connection;
        ``("stall", n, seconds)``: send ``n`` bytes, then wait before closing;
        ``("drip", n, seconds)``: the whole body ``n`` bytes at a time, pausing after each;
        ``("ignore_range",)``: answer a ranged request with the whole file (200);
        ``("wrong_range",)``: answer a ranged request with the whole file as a 206;
        ``("endless",)``: an endless 200 body without a length.
        Once the queue is used up, the path is served normally.
        """
        with self._lock:
            self.actions.setdefault("/" + path.lstrip("/"), []).extend(actions)

    # -- what was asked -----------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        """Every request so far, in order (a copy)."""
        with self._lock:
            return list(self._requests)

    def paths(self) -> list[str]:
        """The path of every request so far, in order."""
        return [r.path for r in self.requests]

    def gets(self, path: str) -> list[dict[str, str]]:
        """The headers of each GET of ``path`` so far, in order."""
        wanted = "/" + path.lstrip("/")
        return [dict(r.headers) for r in self.requests if r.method == "GET" and r.path == wanted]

    def count(self, path: str) -> int:
        """How many times ``path`` was asked for (GET or HEAD)."""
        wanted = "/" + path.lstrip("/")
        return sum(1 for r in self.requests if r.path == wanted)

    def counts(self) -> dict[str, int]:
        """Requests per path so far."""
        found: dict[str, int] = {}
        for r in self.requests:
            found[r.path] = found.get(r.path, 0) + 1
        return found

    def _record(self, request: Request) -> tuple[Any, ...]:
        with self._lock:
            self._requests.append(request)
            if self._on_request is not None:
                self._on_request(request)
            queue = self.actions.get(request.path) if request.method == "GET" else None
            return queue.pop(0) if queue else ("normal",)

    # -- life ---------------------------------------------------------------

    def stop(self) -> None:
        """Stop serving and close the port (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackHub:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LoopbackHub({self.url}, root={self.root})"

    # -- serving ------------------------------------------------------------

    def _lookup(self, path: str) -> tuple[bytes | None, Path | None]:
        data = self.files.get(path)
        if data is not None or self.root is None:
            return data, None
        parts = [p for p in posixpath.normpath(path).split("/") if p and p != "."]
        if ".." in parts or any("\0" in p or os.sep in p for p in parts):
            return None, None
        file = self.root.joinpath(*parts)
        if file.is_dir():
            file = file / "index.html"
        return None, file if file.is_file() else None


def _handler_for(hub: LoopbackHub) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        owner = hub

    return Handler


class _Handler(BaseHTTPRequestHandler):
    owner: LoopbackHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are recorded instead

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _empty(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve(self, *, body: bool) -> None:
        hub = self.owner
        path = unquote(urlsplit(self.path).path)
        action = hub._record(Request(self.command, path, self.path, dict(self.headers)))
        if action[0] == "status":
            payload = b"scripted"
            self.send_response(action[1])
            for key, value in (action[2] if len(action) > 2 else {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if body:
                self.wfile.write(payload)
            return
        data, file = hub._lookup(path)
        headers: dict[str, str] = {}
        if data is not None:
            etag = _etag(data)
            content_type = "application/octet-stream"
        elif file is not None:
            stat = file.stat()
            etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
            headers["Last-Modified"] = email.utils.formatdate(stat.st_mtime, usegmt=True)
            content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        else:
            self._empty(404)
            return
        if hub.etags:
            headers["ETag"] = etag
        if hub.etags and self.headers.get("If-None-Match") == etag:
            self._empty(304, headers)
            return
        since = self.headers.get("If-Modified-Since")
        if file is not None and since and "If-None-Match" not in self.headers:
            try:
                unchanged = email.utils.parsedate_to_datetime(since).timestamp() >= int(
                    file.stat().st_mtime
                )
            except (TypeError, ValueError, IndexError, OverflowError):
                unchanged = False
            if unchanged:
                self._empty(304, headers)
                return
        if data is None:
            assert file is not None
            try:
                data = file.read_bytes()
            except OSError:
                self._empty(404)
                return
        if action[0] == "endless":
            self._endless()
            return
        status, start, end = 200, 0, len(data)
        ranged = self.headers.get("Range")
        if ranged and action[0] != "ignore_range":
            valid = self.headers.get("If-Range")
            if not valid or valid in (headers.get("ETag"), headers.get("Last-Modified")):
                parsed = _parse_range(ranged, len(data))
                if parsed is None:
                    self._empty(416, {"Content-Range": f"bytes */{len(data)}"})
                    return
                if parsed != (0, len(data)):
                    status, (start, end) = 206, parsed
        if action[0] == "wrong_range" and ranged:
            status, start, end = 206, 0, len(data)  # says 206 but sends it all from 0
        self.send_response(status)
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
        payload = data[start:end]
        headers["Content-Length"] = str(len(payload))
        headers["Content-Type"] = content_type
        headers["Accept-Ranges"] = "bytes"
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self._send_body(payload, action)

    def _send_body(self, payload: bytes, action: tuple[Any, ...]) -> None:
        try:
            if action[0] == "cut":
                self.wfile.write(payload[: action[1]])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
            elif action[0] == "stall":
                self.wfile.write(payload[: action[1]])
                self.wfile.flush()
                time.sleep(action[2])
                self.close_connection = True
            elif action[0] == "drip":
                for i in range(0, len(payload), action[1]):
                    self.wfile.write(payload[i : i + action[1]])
                    self.wfile.flush()
                    time.sleep(action[2])
            else:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (killed, or gave up)

    def _endless(self) -> None:
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for _ in range(10_000):
                self.wfile.write(b"x" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=N-``, ``bytes=N-M`` or ``bytes=-N`` as ``(start, end)`` (end exclusive);
    ``None`` when unsatisfiable. Several ranges are not served: the whole file is."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return (0, size)
    first, _, last = spec.strip().partition("-")
    try:
        if not first:
            n = int(last)
            return (max(size - n, 0), size) if n > 0 else None
        start = int(first)
        end = min(int(last) + 1, size) if last else size
    except ValueError:
        return (0, size)
    if start >= size or end <= start:
        return None
    return (start, end)


# The identity and settings of every repository a test makes: the developer's own
# git configuration (hooks, signing, templates) must not change what a test sees.
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "polyhub-test",
    "GIT_AUTHOR_EMAIL": "test@localhost",
    "GIT_COMMITTER_NAME": "polyhub-test",
    "GIT_COMMITTER_EMAIL": "test@localhost",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: str | os.PathLike[str], *args: str) -> str:
    """Run ``git ARGS`` in ``cwd`` for a test's own repository and return its output, stripped.

    A fixed author and committer, no global or system configuration, and
    ``file://`` submodules allowed (git refuses them by default since 2.38.1), so
    a repository made in a test is the same on every machine.

    :raises subprocess.CalledProcessError: git failed (its stderr is on the exception).
    """
    import subprocess

    done = subprocess.run(
        ["git", "-c", "protocol.file.allow=always", *args],
        cwd=cwd,
        env={**os.environ, **_GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()

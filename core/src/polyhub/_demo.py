"""``polyhub demo``: serve each plugin's tiny demo hub on 127.0.0.1 and load from it."""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._errors import PolyhubWarning
from ._logs import framework_output
from ._values import DemoCase

__all__ = ["run_demo", "serve_directory"]


@contextmanager
def serve_directory(directory: Path, *, requests: list[str] | None = None) -> Iterator[str]:
    """Serve ``directory`` over HTTP on 127.0.0.1 (a free port) for the block; yields the base URL.

    A :class:`polyhub.testing.LoopbackHub`.

    :param requests: when given, the path of every request is appended to it, so a
        caller can count what a client fetched.
    """
    from .testing import LoopbackHub

    log = None if requests is None else (lambda r: requests.append(r.path))
    with LoopbackHub(directory, on_request=log) as hub:
        yield hub.url


@contextmanager
def _env(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_demo(*, out: Callable[[str], None] = print, home: Path | None = None) -> int:
    """Build every plugin's demo hub, serve it on 127.0.0.1 and load from it. Returns the exit code."""
    from . import _api as api
    from . import _config as config
    from ._plugins import default_plugins

    plugins = default_plugins()
    impls = plugins.hook.polyhub_demo_build.get_hookimpls()
    if not impls:
        out(
            "no installed plugin provides a demo (install polyhub-onnx, polyhub-mindspore or polyhub-megengine)"
        )
        return 1
    failures = 0
    with tempfile.TemporaryDirectory(prefix="polyhub-demo-") as tmp, warnings.catch_warnings():
        # Frameworks warn about their own internals on import (deprecated APIs,
        # float limits); the demo shows polyhub's warnings only.
        warnings.simplefilter("ignore")
        warnings.simplefilter("default", PolyhubWarning)
        root = Path(tmp)
        # A fresh home, so the demo shows a cold download and leaves the user's cache alone.
        saved_home = config._home_override
        config.set_dir(home or root / "home")
        try:
            (root / "hubs").mkdir()
            with serve_directory(root / "hubs") as base:
                out(f"polyhub demo: hubs served at {base}, cache at {config.get_dir()}")
                for impl in sorted(impls, key=lambda i: i.plugin_name):
                    directory = root / "hubs" / impl.plugin_name
                    directory.mkdir(parents=True)
                    try:
                        # Building a demo imports its framework, whose start-up chatter
                        # is not the demo's output (shown with -v).
                        with framework_output(f"polyhub._demo.{impl.plugin_name}"):
                            case = impl.function(directory=directory)
                        if case is None:
                            continue
                        failures += _run_case(
                            case, directory, f"{base}/{impl.plugin_name}", out, api
                        )
                    except Exception as exc:  # one broken demo must not hide the others
                        failures += 1
                        out(
                            f"  FAILED to build the {impl.plugin_name} demo: {type(exc).__name__}: {exc}"
                        )
        finally:
            config._home_override = saved_home
    out(
        "demo finished: all loads succeeded"
        if not failures
        else f"demo finished: {failures} failed"
    )
    return 0 if not failures else 1


def _run_case(
    case: DemoCase, directory: Path, base_url: str, out: Callable[[str], None], api: Any
) -> int:
    env = {k: v.format(base_url=base_url, directory=directory) for k, v in case.env.items()}
    out("")
    out(f"== {case.title or case.address}")
    with _env(env):
        try:
            start = time.perf_counter()
            done = api.load_detailed(case.address, **case.options)
            took = time.perf_counter() - start
            card, chosen, model = done.card, done.plan, done.model
            out(f"  address : {card.address}")
            if done.path is not None and chosen.asset is not None:
                out(f"  cached  : {done.path}")
                out(f"  sha256  : {chosen.asset.sha256 or '(first-seen hash recorded)'} (verified)")
            if card.code is not None:
                out(f"  code    : {card.code.url} ({card.code.entry})")
            out(f"  runtime : {chosen.runtime} on {chosen.device} ({chosen.format})")
            out(f"  loaded  : {type(model).__module__}.{type(model).__qualname__} in {took:.2f}s")
            out(f"  output  : {case.run(model)}")
            return 0
        except Exception as exc:
            out(f"  FAILED: {type(exc).__name__}: {exc}")
            return 1

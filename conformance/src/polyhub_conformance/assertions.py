"""``assert_*`` helpers that fail with a message a plugin author can act on.

Registered for assertion rewriting (see the package ``__init__``), like the
suites, so plain ``assert`` statements here print their values too. Each
message names the scenario of ``docs/conformance.md`` it enforces.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import pytest

__all__ = [
    "assert_calls_cleanly",
    "assert_configured",
    "assert_error_is",
    "assert_no_new_files",
    "assert_outputs_close",
    "assert_raises_polyhub",
]

E = TypeVar("E", bound=BaseException)

# Names under the home that may appear even when a fetch fails: lock files
# only prevent double downloads and the cache-directory tag marks the home for
# backup tools (DESIGN §4); neither holds model bytes.
_HARMLESS_SUFFIXES = (".lock", "CACHEDIR.TAG")


def _describe(exc: BaseException) -> str:
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    tail = "".join(frames[-6:]).rstrip()
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}\n{tail}"


def assert_calls_cleanly(scenario: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; any exception fails the test, naming the scenario and the call."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        pytest.fail(
            f"{scenario}: {_name(fn)}{_args(args, kwargs)} raised {_describe(exc)}",
            pytrace=False,
        )


def assert_error_is(expected: type[E], scenario: str, call: str, exc: BaseException) -> E:
    """Judge an exception already caught: it must be an ``expected`` (a PolyhubError subclass).

    Distinguishes the two ways to get it wrong, because each has a different
    fix: a foreign exception (not a ``PolyhubError`` at all, scenario S50) or
    the wrong ``PolyhubError``.
    """
    from polyhub import PolyhubError

    if isinstance(exc, expected):
        return exc
    if isinstance(exc, PolyhubError):
        pytest.fail(
            f"{scenario}: {call} raised {type(exc).__name__}, expected {expected.__name__}:\n"
            f"{_describe(exc)}",
            pytrace=False,
        )
    pytest.fail(
        f"{scenario}: {call} raised {type(exc).__name__}, which is not a polyhub.PolyhubError "
        f"(S50: every error polyhub raises derives from PolyhubError; expected "
        f"{expected.__name__}):\n{_describe(exc)}",
        pytrace=False,
    )


def assert_raises_polyhub(
    expected: type[E], scenario: str, fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> E:
    """Call ``fn`` and require it to raise ``expected`` (see :func:`assert_error_is`)."""
    call = f"{_name(fn)}{_args(args, kwargs)}"
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:
        return assert_error_is(expected, scenario, call, exc)
    pytest.fail(
        f"{scenario}: {call} raised nothing (returned {result!r:.200}), expected {expected.__name__}",
        pytrace=False,
    )


def assert_no_new_files(
    scenario: str, before: Mapping[str, int], after: Mapping[str, int], *, what: str
) -> None:
    """Fail when ``after`` holds files (non-empty, not locks) that ``before`` did not."""
    new = sorted(p for p in after if p not in before and not p.endswith(_HARMLESS_SUFFIXES))
    assert not new, f"{scenario}: {what} left files in the cache: {new}"


def assert_outputs_close(actual: Any, expected: Any, *, rtol: float, atol: float) -> None:
    """Compare a model's output with the reference: numerically when numpy is there."""
    try:
        import numpy as np
    except ImportError:  # the kit does not require numpy
        np = None  # type: ignore[assignment]
    if np is not None and _array_like(expected):
        got = [np.asarray(a) for a in _as_list(actual)]
        want = [np.asarray(e) for e in _as_list(expected)]
        assert len(got) == len(want), (
            f"S42: the model returned {len(got)} outputs, the reference has {len(want)}"
        )
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert g.shape == w.shape, f"S42: output {i} has shape {g.shape}, reference {w.shape}"
            close = np.allclose(g, w, rtol=rtol, atol=atol)
            assert close, (
                f"S42: output {i} differs from the reference beyond rtol={rtol}, atol={atol}: "
                f"max abs diff {float(np.max(np.abs(g.astype(float) - w.astype(float)))):.3g}\n"
                f"got {g.ravel()[:8]}\nwant {w.ravel()[:8]}"
            )
        return
    assert actual == expected, "S42: the model's output differs from the reference"


def _array_like(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_array_like(v) or isinstance(v, (int, float)) for v in value)
    return hasattr(value, "__array__") or isinstance(value, (int, float))


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)) and value and hasattr(value[0], "__array__"):
        return list(value)
    if isinstance(value, Mapping):
        return [value[k] for k in sorted(value)]
    return [value]


def _args(args: Iterable[Any], kwargs: Mapping[str, Any]) -> str:
    parts = [_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()]
    return f"({', '.join(parts)})"


def _short(value: Any) -> str:
    """A repr that fits a failure line: a LoadRequest or Context shows only what matters."""
    kind = type(value).__name__
    if kind == "LoadRequest":
        name = value.path.name if value.path is not None else None
        return f"LoadRequest(path={name!r}, runtime={value.runtime!r}, device={value.device})"
    if kind == "Context":
        return "context"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _name(fn: Any) -> str:
    # A pluggy HookCaller has .name; functions have __name__.
    return str(getattr(fn, "name", None) or getattr(fn, "__name__", fn))


def assert_configured(
    request: pytest.FixtureRequest,
    required: Iterable[str],
    capabilities_fixture: str,
    capabilities_type: type,
) -> None:
    """S0: every required fixture is defined and the capabilities have the right type.

    Asks for each fixture by name: the kit's placeholders raise ``NotConfigured``,
    which names the missing one; a fixture that depends on a missing one names
    the missing one too, so the list is what the author has to write.
    """
    from .harness import NotConfigured

    suite = request.cls.__name__ if request.cls is not None else request.node.name
    missing: list[str] = []
    for name in required:
        try:
            request.getfixturevalue(name)
        except NotConfigured as exc:
            if exc.fixture not in missing:
                missing.append(exc.fixture)
    if missing:
        pytest.fail(
            f"S0: {suite} is not configured: define the fixture(s) {', '.join(missing)} "
            "(as methods of the class or in a conftest.py; one polyhub_plugin fixture stands "
            "for every *_plugin one); docs/conformance.md lists what each suite needs",
            pytrace=False,
        )
    caps = request.getfixturevalue(capabilities_fixture)
    assert isinstance(caps, capabilities_type), (
        f"S0: {suite}: the fixture {capabilities_fixture!r} must return a "
        f"{capabilities_type.__name__}, not {type(caps).__name__}"
    )

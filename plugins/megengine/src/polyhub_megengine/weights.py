"""Pretrained weights: verified downloads through the core cache, allow-listed unpickling.

Two decorators mark an entrypoint's weights: MegEngine's own
``megengine.hub.pretrained(url)`` and polyhub's :class:`pretrained`
(``url, sha256=None``). Upstream's wrapper looks up
``megengine.hub.hub.load_serialized_obj_from_url`` when it is *called*, so
while polyhub runs repository code it puts :func:`_intercepted` in that slot
(and in ``megengine.hub``'s) and puts the original back afterwards. The
active :class:`WeightLoader` travels in a context variable, so a thread that
is not inside a polyhub load still reaches upstream's function.

Integrity: a sha256 given as ``#sha256=<hex>`` on the URL, by polyhub's
decorator, or in the repository's ``weights_sha256 = {url or file name: hex}``
is enforced by the core; otherwise the core records the first-seen hash of
that URL and refuses changed bytes later (``POLYHUB_REQUIRE_HASHES=1`` refuses
unhashed weights before any request).
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from polyhub import MetadataError

if TYPE_CHECKING:
    from polyhub import Context

__all__ = ["WeightLoader", "intercept", "load_weights", "pretrained", "split_sha256"]

_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_F = TypeVar("_F", bound=Callable[..., Any])

_active: ContextVar[WeightLoader | None] = ContextVar("polyhub_megengine_weights", default=None)
_patch_lock = threading.RLock()
_patch_depth = 0
_originals: dict[str, Any] = {}


def split_sha256(url: str) -> tuple[str, str | None]:
    """``(url without fragment, sha256 or None)`` for ``url#sha256=<hex>``.

    :raises MetadataError: the fragment names a sha256 that is not 64 hex digits.
    """
    parts = urlsplit(url)
    if not parts.fragment:
        return url, None
    key, sep, value = parts.fragment.partition("=")
    clean = urlunsplit(parts._replace(fragment=""))
    if key.lower() != "sha256" or not sep:
        return clean, None
    if not _HEX.match(value):
        raise MetadataError(
            f"#sha256= must be 64 hex digits, got {value!r}", file=url, field="sha256"
        )
    return clean, value.lower()


def _view_name(url: str) -> str:
    # Upstream's cache naming (sha256(url)[:6]_basename), made safe: the name comes
    # from metadata and must never pick a directory.
    base = unquote(Path(urlsplit(url).path).name)
    base = re.sub(r"[^A-Za-z0-9._+-]", "_", base).lstrip(".") or "weights"
    return f"{hashlib.sha256(url.encode()).hexdigest()[:6]}_{base}"


@dataclass(frozen=True)
class WeightLoader:
    """Downloads and unpickles weights for one load.

    :ivar repo_sha256: the repository's ``weights_sha256`` mapping.
    :ivar trusted_pickles: unpickle without the allow-list.
    :ivar map_location: the MegEngine device tensors are mapped to (``cpu0``, ``gpu1``).
    """

    context: Context
    repo_sha256: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    trusted_pickles: bool = False
    map_location: str | None = None
    where: str = ""

    def expected_sha256(self, url: str, given: str | None = None) -> tuple[str, str | None]:
        clean, fragment = split_sha256(url)
        name = Path(urlsplit(clean).path).name
        found = given or fragment or self.repo_sha256.get(clean) or self.repo_sha256.get(name)
        return clean, found.lower() if found else None

    def fetch(self, url: str, sha256: str | None = None) -> Path:
        """The verified cached file for ``url``."""
        clean, expected = self.expected_sha256(url, sha256)
        return self.context.fetch_url(
            clean, sha256=expected, view=f"megengine/weights/{_view_name(clean)}"
        )

    def load(self, url: str, sha256: str | None = None) -> Any:
        """Fetch ``url`` and unpickle it (allow-listed unless ``trusted_pickles``)."""
        from .unpickle import load_weights_file

        path = self.fetch(url, sha256)
        where = f"weights {split_sha256(url)[0]}" + (f" for {self.where}" if self.where else "")
        return load_weights_file(
            path, trusted=self.trusted_pickles, map_location=self.map_location, where=where
        )


def _default_loader() -> WeightLoader:
    # Repository code called outside polyhub.load (e.g. after compat import_module)
    # still downloads through the verified cache, with the environment's settings.
    from polyhub import make_context

    return WeightLoader(make_context())


def current_loader() -> WeightLoader:
    return _active.get() or _default_loader()


def load_weights(url: str, sha256: str | None = None) -> Any:
    """Download (verified, cached) and unpickle the weights at ``url``."""
    return current_loader().load(url, sha256)


def _intercepted(url: str, model_dir: Any = None) -> Any:
    loader = _active.get()
    if loader is None:
        return _originals["hub"](url, model_dir)
    return loader.load(url)


def _upstream_modules() -> tuple[ModuleType, ModuleType | None]:
    """Upstream's ``megengine.hub.hub`` and its ``megengine.hub`` package.

    The package is ``None`` when something else stands at ``megengine.hub``: the
    compat shim used as a drop-in (``sys.modules["megengine.hub"] = shim``). The
    names are then looked up in ``sys.modules``, not through attributes, which
    would reach the shim (it has no ``hub`` submodule), and the shim is left alone.
    """
    import importlib
    import sys

    # Importing megengine loads megengine.hub.hub, whatever stands at megengine.hub later.
    import megengine  # type: ignore[import-untyped]  # noqa: F401

    impl = sys.modules.get("megengine.hub.hub") or importlib.import_module("megengine.hub.hub")
    package = sys.modules.get("megengine.hub")
    if package is None or getattr(package, "hub", None) is not impl:
        package = None
    return impl, package


@contextmanager
def intercept(loader: WeightLoader) -> Iterator[None]:
    """Route ``megengine.hub``'s weight downloads through ``loader`` for the block."""
    global _patch_depth
    hub_impl, package = _upstream_modules()

    token = _active.set(loader)
    with _patch_lock:
        if _patch_depth == 0:
            _originals["hub"] = hub_impl.load_serialized_obj_from_url
            hub_impl.load_serialized_obj_from_url = _intercepted
            if package is not None:
                _originals["package"] = (package, package.load_serialized_obj_from_url)
                package.load_serialized_obj_from_url = _intercepted
        _patch_depth += 1
    try:
        yield
    finally:
        with _patch_lock:
            _patch_depth -= 1
            if _patch_depth == 0:
                hub_impl.load_serialized_obj_from_url = _originals.pop("hub")
                if "package" in _originals:
                    patched, original = _originals.pop("package")
                    patched.load_serialized_obj_from_url = original
        _active.reset(token)


class pretrained:
    """Mark an entrypoint's weights, like ``megengine.hub.pretrained``, with a hash.

    The wrapped function takes ``(pretrained=False, **kwargs)``; with
    ``pretrained=True`` the weights are downloaded through polyhub's verified
    cache (``sha256`` enforced when given, or as ``#sha256=`` on the URL),
    unpickled with the allow-list and loaded with ``model.load_state_dict``.
    """

    def __init__(self, url: str, sha256: str | None = None) -> None:
        # A hash that is given but unusable (an int, 0, a short string) must never
        # mean "no check": it is refused, as a MindSpore card's or a manifest's is.
        if sha256 is not None and (not isinstance(sha256, str) or not _HEX.match(sha256)):
            raise MetadataError(
                f"sha256 must be the text of 64 hex digits, got {repr(sha256)[:80]}",
                file=url,
                field="sha256",
            )
        self.url = url
        self.sha256 = sha256.lower() if sha256 else None

    def __call__(self, func: _F) -> _F:
        url, sha256 = self.url, self.sha256

        @functools.wraps(func)
        def pretrained_model_func(pretrained: bool = False, **kwargs: Any) -> Any:
            model = func(**kwargs)
            if pretrained:
                model.load_state_dict(load_weights(url, sha256))
            return model

        pretrained_model_func.polyhub_weights = (url, sha256)  # type: ignore[attr-defined]
        return pretrained_model_func  # type: ignore[return-value]

"""A drop-in for ``mindspore_hub``, backed by polyhub.

    import polyhub_mindspore.compat.hub as mshub
    net = mshub.load("mindspore/1.6/lenet_mnist", num_classes=10)

Follows the API of **mindspore_hub 2.0.0** (mindspore-ai/hub master, commit
``29e408b``): ``load(name, *args, source='gitee', pretrained=True,
force_reload=False, **kwargs)``, ``load_weights(name, source, force_reload)``
returning a parameter dict, ``hub_list(version=None, force_reload=False)``,
``set_hub_dir``/``get_hub_dir``; plus the **1.x** calls (mindspore_hub 1.6,
branch r1.6) that code still makes: 4-part uids such as
``mindspore/ascend/0.7/lenet_v1_mnist`` (found on the hub's r1.x branches),
the web-site URL form, and ``load_weights(network, handle=...)`` loading in
place.

Arguments are checked as upstream checks them, with upstream's exception types
(``TypeError``/``ValueError``, raised as polyhub errors that are also those
built-ins) before any I/O. Where polyhub is deliberately stricter (hash checks
on every use, trust before running repository code, ...) the differences are
listed in one table in ``docs/mindspore.md``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polyhub

__all__ = [
    "HubTypeError",
    "HubValueError",
    "__version__",
    "get_hub_dir",
    "hub_list",
    "load",
    "load_weights",
    "set_hub_dir",
]

__version__ = "2.0.0"

# Upstream accepts these two only (its 'github' branch is unreachable).
_SOURCES = ("local", "gitee")
# The branches upstream's hub_list knows; the first eight hold the legacy layout.
_LIST_VERSIONS = (
    "master",
    "r1.0",
    "r1.0.1",
    "r1.1",
    "r1.2",
    "r1.3",
    "r1.4",
    "r1.5",
    "r1.6",
    "r1.8",
    "r1.9",
    "r1.10",
)
_LEGACY_LAYOUT = _LIST_VERSIONS[1:9]
_UPSTREAM_CACHE = "~/.mscache"
_URL = re.compile(r"^https?:/{2}\w.+$")

_hub_dir: str | None = None


class HubTypeError(polyhub.PolyhubError, TypeError):
    """An argument of the wrong type, where mindspore_hub raises ``TypeError``."""


class HubValueError(polyhub.PolyhubError, ValueError):
    """A bad argument value, where mindspore_hub raises ``ValueError``."""


def _check_bool(value: Any, name: str) -> None:
    if not isinstance(value, bool):
        raise HubTypeError(f"`{name}` must be a bool, not {type(value).__name__} {value!r}")


def _address(name: Any, source: str) -> str:
    """The polyhub address of a mindspore_hub name, checked as upstream checks it."""
    if not isinstance(name, str):
        raise HubTypeError(
            f"the network name must be a str (a uid or a URL), not {type(name).__name__}"
        )
    if source not in _SOURCES:
        raise HubValueError(f"`source` must be 'local' or 'gitee', not {source!r}")
    if source == "local":
        path = Path(name).expanduser().absolute()
        if not path.is_file():
            raise HubValueError(f"{name} is not a local markdown file")
        return f"mindspore:file://{path}"
    if _URL.match(name):
        if len(name.split("/")) < 7:
            # Upstream's rule: a card URL has at least 7 '/'-separated parts.
            raise HubValueError(f"{name!r} is not the URL of a MindSpore Hub card")
    elif len(name.split("/")) not in (3, 4):
        # Upstream's rule, before any I/O: a uid is publisher/version/name or
        # publisher/backend/version/name (a ValueError, not a failed download).
        raise HubValueError(
            f"{name!r} is not a MindSpore Hub uid: expected 'publisher/version/name' "
            "or 'publisher/backend/version/name'"
        )
    return f"mindspore:{name}"


def _home_is_set() -> bool:
    return _hub_dir is not None or bool(os.environ.get("POLYHUB_HOME"))


@contextmanager
def _home() -> Iterator[None]:
    """Run with upstream's cache folder as polyhub's home when nothing else names one."""
    if _home_is_set():
        yield
        return
    if polyhub.dir_was_set():  # polyhub.set_dir() was called: that folder wins
        yield
        return
    polyhub.set_dir(_UPSTREAM_CACHE)
    try:
        yield
    finally:
        polyhub.set_dir(None)


def load(
    name: str,
    *args: Any,
    source: str = "gitee",
    pretrained: bool = True,
    force_reload: bool = False,
    **kwargs: Any,
) -> Any:
    """Build the network of the card ``name`` and load its checkpoint when ``pretrained``.

    :param name: a uid (``mindspore/1.6/lenet_mnist``, ``mindspore/ascend/0.7/lenet_v1_mnist``),
        a card URL (gitee blob/raw, mindspore.cn page), or with ``source='local'`` a local card.
    :returns: the ``mindspore.nn.Cell`` of the card's ``create_network(name, *args, **kwargs)``.
    :raises HubTypeError: ``name`` not a str, ``pretrained``/``force_reload`` not bools.
    :raises HubValueError: a bad ``source`` or URL; ``pretrained=True`` for a card with no
        weights (``polyhub_mindspore.runtime.NoWeightsError``, also a ``ValueError``).
    """
    if not isinstance(name, str):
        raise HubTypeError(
            f"the network name must be a str (a uid or a URL), not {type(name).__name__}"
        )
    _check_bool(force_reload, "force_reload")
    _check_bool(pretrained, "pretrained")
    address = _address(name, source)
    from .. import runtime

    options: dict[str, Any] = dict(kwargs)
    if args:
        options[runtime.ARGS_OPTION] = args
    # Upstream loads CKPT into the code's network; the same asset is chosen here
    # whenever the card has one, so the result is a trainable Cell as before.
    with _home():
        return polyhub.load(
            address,
            pretrained=pretrained,
            force_reload=force_reload,
            runtime="mindspore",
            **options,
        )


def _ckpt_path(name: str, source: str, force_reload: bool) -> Path:
    address = _address(name, source)
    card = polyhub.info(address)
    ckpts = [a for a in card.assets if a.format == "ckpt"]
    if not ckpts:
        raise polyhub.UnsupportedError(f"{card.address} has no ckpt asset to load weights from")
    # The last ckpt, as upstream's asset-id picks it.
    return polyhub.fetch(card, ckpts[-1], force_reload=force_reload)


def load_weights(name_or_network: Any, *args: Any, **kwargs: Any) -> Any:
    """Both generations of ``load_weights``, told apart by the first argument.

    * 2.0.0: ``load_weights(name, source='gitee', force_reload=False)`` returns the
      card's checkpoint as a parameter dict.
    * 1.x: ``load_weights(network, handle=None, force_reload=False)`` loads the
      checkpoint of the card ``handle`` into ``network`` in place and returns ``None``
      (``source=`` is accepted as a keyword).

    Positional arguments bind as each generation binds them, so
    ``load_weights(uid, 'gitee', True)`` and ``load_weights(net, uid, True)`` keep
    working. As upstream, any ``source`` but ``'local'`` reads the default hub
    (upstream's ``'github'`` is the GitHub mirror of the same hub).

    :raises HubTypeError: ``force_reload`` not a bool; a network that is no ``nn.Cell``.
    """
    if isinstance(name_or_network, str):
        return _current_weights(name_or_network, *args, **kwargs)
    return _legacy_weights(name_or_network, *args, **kwargs)


def _weights_source(source: Any) -> str:
    return "local" if source == "local" else "gitee"


def _current_weights(name: str, source: str = "gitee", force_reload: bool = False) -> Any:
    _check_bool(force_reload, "force_reload")
    import mindspore  # type: ignore[import-untyped]

    with _home():
        path = _ckpt_path(name, _weights_source(source), force_reload)
        return mindspore.load_checkpoint(str(path))


def _legacy_weights(
    network: Any, handle: Any = None, force_reload: bool = False, *, source: str = "gitee"
) -> None:
    _check_bool(force_reload, "force_reload")
    import mindspore

    if not isinstance(network, mindspore.nn.Cell):
        raise HubTypeError(
            f"load_weights(network, handle): the network must be a mindspore.nn.Cell, "
            f"not {type(network).__name__}"
        )
    if handle is None:
        raise HubTypeError("load_weights(network, handle): the card handle is missing")
    with _home():
        path = _ckpt_path(handle, _weights_source(source), force_reload)
        params = mindspore.load_checkpoint(str(path))
        mindspore.load_param_into_net(network, params)


def hub_list(version: str | None = None, force_reload: bool = False) -> list[str]:
    """Sorted unique names of the ``mindspore`` publisher's cards on the hub branch ``version``.

    As upstream: ``assets/mindspore/<version>/*.md`` on master and r1.8+, and
    ``assets/mindspore/<backend>/<version>/*.md`` on r1.0-r1.6; other publishers
    (``noah-cvlab``) are not listed. ``None`` is master.

    :raises HubTypeError: ``version`` not a str or ``None``, ``force_reload`` not a bool.
    :raises HubValueError: ``version`` is not one of upstream's branches.
    """
    if version is None:
        version = "master"
    if not isinstance(version, str):
        raise HubTypeError(f"`version` must be a str or None, not {type(version).__name__}")
    _check_bool(force_reload, "force_reload")
    if version not in _LIST_VERSIONS:
        raise HubValueError(
            f"`version` must be one of {', '.join(_LIST_VERSIONS)}, not {version!r}"
        )
    from ..hub import open_hub, parse_hub

    depth = 3 if version in _LEGACY_LAYOUT else 2
    with _home():
        context = polyhub.make_context(force_reload=force_reload)
        hub = open_hub(parse_hub(None, version), context)
        names = set()
        for relpath, _ in hub.card_paths():
            parts = relpath.split("/")
            if parts[0] == "mindspore" and len(parts) == depth + 1:
                names.add(parts[-1][: -len(".md")])
    return sorted(names)


def set_hub_dir(dir_path: str = _UPSTREAM_CACHE) -> None:
    """Set where models are cached (polyhub's home for this process)."""
    global _hub_dir
    _hub_dir = dir_path
    polyhub.set_dir(os.path.expanduser(dir_path))


def get_hub_dir() -> str:
    """The cache folder: ``set_hub_dir``'s, else ``POLYHUB_HOME``, else upstream's ``~/.mscache``."""
    if _hub_dir is not None:
        return os.path.abspath(os.path.expanduser(_hub_dir))
    if _home_is_set():
        return str(polyhub.get_dir())
    if polyhub.dir_was_set():
        return str(polyhub.get_dir())
    return os.path.abspath(os.path.expanduser(_UPSTREAM_CACHE))

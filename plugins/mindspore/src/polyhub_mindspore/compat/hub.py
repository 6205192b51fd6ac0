"""A drop-in for ``mindspore_hub``, backed by polyhub.

    import polyhub_mindspore.compat.hub as mshub
    net = mshub.load("mindspore/1.6/lenet_mnist", num_classes=10)

Both API generations are served: the current one (``load(name, *args,
source=, pretrained=, force_reload=, **kwargs)``, ``hub_list``,
``load_weights(name, ...)``, ``set_hub_dir``/``get_hub_dir``) and the legacy
one (4-part uids, ``load_weights(network, handle)``). Unlike upstream: the
weights are verified against their sha256 every time they come out of the
cache, ``.mindir`` assets work, repository code runs only when trusted and in
isolation, and nothing sleeps at import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import polyhub

__all__ = ["__version__", "get_hub_dir", "hub_list", "load", "load_weights", "set_hub_dir"]

__version__ = "2.0.0"

_SOURCES = ("gitee", "local", "github")


def _address(name: str, source: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    if source not in _SOURCES:
        raise ValueError(f"source must be one of {', '.join(_SOURCES)}, not {source!r}")
    if source == "local":
        path = Path(name).expanduser().absolute()
        if not path.is_file():
            raise ValueError(f"{name} is not a local markdown file")
        return f"mindspore:file://{path}"
    return f"mindspore:{name}"


def load(
    name: str,
    *args: Any,
    source: str = "gitee",
    pretrained: bool = True,
    force_reload: bool = False,
    **kwargs: Any,
) -> Any:
    """Build the network of the card ``name`` (a uid, a card URL, or with ``source='local'`` a
    local markdown file) and load its checkpoint when ``pretrained``; returns an ``nn.Cell``."""
    from .. import runtime

    options: dict[str, Any] = dict(kwargs)
    if args:
        options[runtime.ARGS_OPTION] = args
    # Upstream loads CKPT into the code's network; the same asset is chosen here
    # whenever the card has one, so the result is a trainable Cell as before.
    return polyhub.load(
        _address(name, source),
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
    from polyhub import Context

    context = Context.from_environment(force_reload=force_reload)
    # The last ckpt, as upstream's asset-id picks it.
    path = context.plugins.hook.polyhub_source_fetch(card=card, asset=ckpts[-1], context=context)
    return Path(path)


def load_weights(
    name_or_network: Any, handle: Any = None, source: str = "gitee", force_reload: bool = False
) -> Any:
    """Current API: ``load_weights(name) -> param_dict``. Legacy API:
    ``load_weights(network, handle)`` loads the checkpoint of the card ``handle`` into
    ``network`` in place and returns ``None``."""
    import mindspore  # type: ignore[import-untyped]

    from ..runtime import suffixed

    if isinstance(name_or_network, str):
        path = _ckpt_path(name_or_network, source, force_reload)
        return mindspore.load_checkpoint(str(suffixed(path, ".ckpt", polyhub.get_dir())))
    if handle is None:
        raise TypeError("load_weights(network, handle): the card handle is missing")
    path = _ckpt_path(handle, source, force_reload)
    params = mindspore.load_checkpoint(str(suffixed(path, ".ckpt", polyhub.get_dir())))
    mindspore.load_param_into_net(name_or_network, params)
    return None


def hub_list(version: str | None = None, force_reload: bool = False) -> list[str]:
    """Sorted unique card names of the hub branch ``version`` (default: master), as upstream.

    Cards with a backend level (the r1.0-r1.6 branches) are listed by name too.
    """
    del force_reload  # the index is rebuilt whenever the branch moves
    cards = polyhub.list_models("mindspore", revision=version)
    return sorted({c.name for c in cards})


def set_hub_dir(dir_path: str = "~/.mscache") -> None:
    """Set where models are cached: polyhub's home for this process."""
    polyhub.set_dir(os.path.expanduser(dir_path))


def get_hub_dir() -> str:
    return str(polyhub.get_dir())

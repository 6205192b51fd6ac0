"""``polyhub demo``: serve each plugin's tiny demo hub on 127.0.0.1 and load from it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DemoCase"]


@dataclass(frozen=True)
class DemoCase:
    """What a plugin's demo loads (returned by ``polyhub_demo_build``).

    :ivar address: the address to load, e.g. ``onnx:tiny-mlp``.
    :ivar env: environment variables to set while loading; ``{base_url}`` in a value
        is replaced by the loopback URL that serves the plugin's demo directory (no
        trailing slash), ``{directory}`` by that directory's path.
    :ivar options: keyword arguments for :func:`polyhub.load`.
    :ivar run: runs one inference on the loaded model and returns a line describing
        the output.
    """

    address: str
    run: Callable[[Any], str]
    env: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""

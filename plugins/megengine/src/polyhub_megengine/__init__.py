"""polyhub-megengine: MegEngine hubconf.py repositories and the MegEngine runtime for polyhub.

``polyhub.load("megengine:megengine/models/resnet18", pretrained=True)`` checks
out the repository (pinned to a commit, cached), reads ``hubconf.py``
statically, checks trust, imports it in isolation and calls the entrypoint,
with ``@pretrained`` weights downloaded through polyhub's verified cache and
unpickled with an allow-list. :mod:`polyhub_megengine.compat.hub` is a drop-in
for ``megengine.hub``.

Importing this package never imports MegEngine.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: the plugin's import is on `polyhub plugins`' path

if TYPE_CHECKING:
    from typing import Any

    from .weights import load_weights, pretrained

__all__ = ["load_weights", "pretrained"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The entry point imports this package to find the hooks; the weights module
    # (threads, contextvars, hashing) is needed only by a hubconf that uses it.
    if name in __all__:
        from . import weights

        return getattr(weights, name)
    raise AttributeError(f"module 'polyhub_megengine' has no attribute {name!r}")

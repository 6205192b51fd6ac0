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

from .weights import load_weights, pretrained

__all__ = ["load_weights", "pretrained"]
__version__ = "0.1.0"

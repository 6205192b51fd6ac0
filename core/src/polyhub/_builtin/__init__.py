"""The core's default hook implementations, registered like any plugin.

They are ``trylast``, so an installed plugin overrides them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..hookspecs import hookimpl

if TYPE_CHECKING:
    from .._context import Context
    from .._values import Asset, ModelCard


@hookimpl(trylast=True)
def polyhub_source_fetch(card: ModelCard, asset: Asset, context: Context) -> Path | None:
    """Download through the verified, content-addressed cache."""
    return context.fetch(asset, card=card)

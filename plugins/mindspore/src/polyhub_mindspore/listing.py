"""Listing a hub's models, help text, and the hash prefixes some cards publish.

``list_models("mindspore", ...)`` reads the hub's index (built once per hub
revision, see :mod:`.index`) and never runs repository code or downloads a
weight. Help is the card's own prose (its Usage section), read statically.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from polyhub import Asset, Context, ModelCard

from .hub import open_hub, parse_hub
from .index import cards_of, filter_indices, load_index

__all__ = ["declared_prefix", "help_text", "list_cards"]

log = logging.getLogger("polyhub.mindspore")


def list_cards(filters: Mapping[str, Any], context: Context) -> list[ModelCard]:
    """The cards of the hub named by ``filters['hub']`` (default hub otherwise) that match.

    :raises TypeError: an unknown filter.
    """
    hub_value = filters.get("hub")
    revision = filters.get("revision")
    spec = parse_hub(hub_value, revision)
    hub = open_hub(spec, context)
    entries_doc = load_index(hub, context)
    matched = filter_indices(entries_doc, filters)
    if entries_doc["errors"]:
        log.info(
            "%d card(s) of %s skipped as broken, e.g. %s",
            len(entries_doc["errors"]),
            spec,
            entries_doc["errors"][0]["message"],
        )
    options = {"hub": hub_value} if hub_value is not None else {}
    cards = cards_of(entries_doc, options, revision)
    return [cards[i] for i in matched]


def help_text(card: ModelCard, context: Context) -> str:
    """The card's markdown body: introduction and usage. No repository code is read or run."""
    file = card.file or ""
    text = ""
    try:
        if file.startswith(("http://", "https://")):
            text = context.fetch_index(file).decode("utf-8", errors="replace")
        elif file:
            with open(file, encoding="utf-8", errors="replace") as f:
                text = f.read()
    except OSError as exc:
        log.debug("cannot read %s for help: %s", file, exc)
    from .card import split_body  # the card parser (and YAML): not needed to list

    body = split_body(text) if text else ""
    head = f"{card.metadata.get('model-name') or card.name}: {card.summary}".strip()
    return f"{head}\n\n{body}".strip() if body else head


_HEX = re.compile(r"^[0-9a-fA-F]{8,63}$")


def declared_prefix(card: ModelCard, asset: Asset) -> str | None:
    """The short sha256 a card gives for ``asset`` (mindcv cards publish 8 digits), if any."""
    if asset.sha256 is not None:
        return None
    from .card import unbracket

    entries = card.metadata.get("asset")
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        if unbracket(str(entry.get("asset-link") or "")) != asset.url:
            continue
        value = str(entry.get("asset-sha256") or entry.get("asset_sha256") or "").strip()
        if _HEX.match(value):
            return value
    return None

"""Listing a hub's models, and their help text.

``list_models("mindspore", ...)`` reads the hub's index (built once per hub
revision, see :mod:`.index`) and never runs repository code or downloads a
weight. Help is the card's own prose (its Usage section), read statically.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from polyhub import Context, ModelCard

from .hub import open_hub, parse_hub
from .index import cards_of, filter_indices, load_index

__all__ = ["help_text", "list_cards"]

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

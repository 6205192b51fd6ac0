"""From a ``mindspore:`` address to a :class:`polyhub.ModelCard`, downloading no weights.

The path of the address is a uid (``mindspore/1.6/lenet_mnist``,
``ascend/1.0/alexnet_v1_cifar10``...) read from a hub, or the URL of one card
(``https://gitee.com/mindspore/hub/blob/master/mshub_res/assets/...md``; a
``blob`` page URL is turned into its raw-file URL) or a local card file.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from polyhub import Address, Context, DownloadError, ModelCard, ModelNotFoundError, parse_bool

from .card import build_card, read_card
from .hub import Hub
from .legacy import read_with_legacy_fallback, uid_of_site_url
from .names import SOURCE_OPTIONS
from .uid import Uid, parse_uid, uid_from_relpath

__all__ = ["SOURCE_OPTIONS", "card_address", "is_card_url", "load_card", "resolve"]

# Options the source consumes; the rest go to create_network.

_GITEE_BLOB = re.compile(r"^https?://gitee\.com/([^/]+)/([^/]+)/blob/(.+)$")
_GITHUB_BLOB = re.compile(r"^https?://github\.com/([^/]+)/([^/]+)/blob/(.+)$")
# The hub branch a raw card URL reads from (``.../raw/r1.6/mshub_res/...`` on gitee,
# ``raw.githubusercontent.com/OWNER/NAME/r1.6/mshub_res/...`` on GitHub).
_RAW_BRANCH = (
    re.compile(r"^https?://gitee\.com/[^/]+/[^/]+/raw/(.+?)/mshub_res/"),
    re.compile(r"^https?://raw\.githubusercontent\.com/[^/]+/[^/]+/(.+?)/mshub_res/"),
)


def is_card_url(path: str) -> bool:
    if uid_of_site_url(path) is not None:
        return False  # a web-site page names a uid of the default hub, not a card file
    return path.startswith(("http://", "https://", "file://")) or (
        path.endswith(".md") and Path(path).is_absolute()
    )


def raw_url(url: str) -> str:
    """The raw-file URL of a card page URL on gitee or GitHub; other URLs unchanged."""
    m = _GITEE_BLOB.match(url)
    if m:
        return f"https://gitee.com/{m.group(1)}/{m.group(2)}/raw/{m.group(3)}"
    m = _GITHUB_BLOB.match(url)
    if m:
        return f"https://raw.githubusercontent.com/{m.group(1)}/{m.group(2)}/{m.group(3)}"
    return url


def _branch_of_url(url: str) -> str | None:
    """The hub branch a raw card URL names, or ``None`` (other URLs, local files)."""
    for pattern in _RAW_BRANCH:
        m = pattern.match(url)
        if m:
            return m.group(1)
    return None


def _uid_of_url(url: str) -> Uid:
    path = unquote(urlsplit(url).path) if "://" in url else url
    parts = path.split("/")
    if "assets" in parts:
        rel = "/".join(parts[len(parts) - parts[::-1].index("assets") :])
        uid = uid_from_relpath(rel)
        if uid is not None:
            return uid
    # Upstream takes the last three parts of a URL as the uid.
    uid = uid_from_relpath("/".join(parts[-3:]))
    if uid is None:
        raise ModelNotFoundError(
            f"{url!r} is not the URL of a MindSpore Hub card (…/assets/<uid>.md)"
        )
    return uid


def card_address(uid: Uid, address: Address) -> Address:
    """The canonical address of a card: its full uid, the revision, and the hub if one was named."""
    options = {k: v for k, v in address.options.items() if k == "hub"}
    return Address("mindspore", str(uid), address.revision, options)


def load_card(text: str, file: str, uid: Uid, address: Address, read_twin: Any = None) -> ModelCard:
    """Build the card of ``uid`` from ``text``; a ``_cn`` card is read through its English twin."""
    if uid.is_cn and read_twin is not None:
        twin = read_twin(uid.twin())
        if twin is not None:
            twin_text, twin_file = twin
            raw = read_card(twin_text, twin_file)
            return build_card(raw, uid, address, twin_of=file)
    return build_card(read_card(text, file), uid, address)


def _read_url(url: str, context: Context) -> str:
    if url.startswith("file://") or not url.startswith(("http://", "https://")):
        path = Path(unquote(urlsplit(url).path) if url.startswith("file://") else url)
        if not path.is_file():
            raise ModelNotFoundError(f"no card file {path}")
        return path.read_text(encoding="utf-8", errors="replace")
    try:
        return context.fetch_index(url).decode("utf-8", errors="replace")
    except DownloadError as exc:
        if exc.status in (403, 404, 410):
            raise ModelNotFoundError(f"no card at {url} ({exc})") from None
        raise


def resolve(address: Address, context: Context) -> ModelCard:
    """Resolve ``address`` (a uid or a card URL) to its card.

    :raises ModelNotFoundError: no such card (or an unsafe uid).
    :raises polyhub.MetadataError: the card is broken (file, line and field named).
    """
    path = address.path
    if is_card_url(path):
        url = raw_url(path)
        uid = _uid_of_url(url)
        text = _read_url(url, context)

        def twin_by_url(twin: Uid) -> tuple[str, str] | None:
            twin_url = url[: -len(f"{uid.name}.md")] + f"{twin.name}.md"
            try:
                return _read_url(twin_url, context), twin_url
            except ModelNotFoundError:
                return None

        card = load_card(text, url, uid, Address("mindspore", path, address.revision), twin_by_url)
        branch = _branch_of_url(url)
        if branch is not None:
            # As for a uid found on a hub branch: a legacy card read from r1.6 by its URL
            # links the models repo's master, whose folder may be gone; code.py then
            # uses the models branch named like this one.
            card = _from_branch(card, branch)
    else:
        site_uid = uid_of_site_url(path)
        uid = site_uid if site_uid is not None else parse_uid(path)
        hub, text, file, revision = read_with_legacy_fallback(uid, address, context)
        address = replace(address, revision=revision)
        card = load_card(text, file, uid, card_address(uid, address), _twin_reader(hub))
        # Which hub branch the card came from (an http hub such as .../raw/r1.6 names it
        # in its URL): the code may need the matching branch.
        branch = revision if revision is not None else _branch_of_url(file)
        if branch is not None:
            card = _from_branch(card, branch)
    wanted = not _is_false(address.option("pretrained", True))
    # The runtime needs to know: a card without weights is an error when weights are wanted.
    card = card.replace(metadata={**card.metadata, "pretrained": wanted})
    if not wanted:
        # No weights wanted: the card keeps its files for info, but none is loadable,
        # so the network is built from the code alone and nothing is downloaded.
        card = card.replace(assets=tuple(replace(a, role="weights") for a in card.assets))
    return card


def _twin_reader(hub: Hub) -> Any:
    def read(twin: Uid) -> tuple[str, str] | None:
        try:
            return hub.read(twin)
        except ModelNotFoundError:
            return None

    return read


def _is_false(value: Any) -> bool:
    # Anything that is not a clear "no" keeps the weights (the default).
    return not parse_bool(value, default=True)


def _from_branch(card: ModelCard, branch: str) -> ModelCard:
    """``card`` read from the hub branch ``branch`` (``r1.6``): noted, and its code's era.

    Legacy cards link the models repository's master, where many models have moved
    since (AlexNet: official/cv/alexnet -> research/cv/Alexnet). The models branch
    named like the hub branch holds the code of the card's era: the core uses it
    when the linked folder has no mindspore_hub_conf.py, and says so.
    """
    code = card.code
    if code is not None and branch != code.revision:
        code = replace(code, fallback_revisions=(branch,))
    return card.replace(metadata={**card.metadata, "hub-revision": branch}, code=code)

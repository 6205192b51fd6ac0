"""Legacy cards (``mindspore/<backend>/<version>/<name>``) and the hub web site's page URLs.

**Where legacy cards live.** The hub's master dropped the backend level on
2022-05-27 (commit ``6eed36eb`` removed ``mshub_res/assets/mindspore/{ascend,cpu,gpu}``);
those cards survive only on the release branches ``r1.0`` ... ``r1.6``.
``mindspore_hub`` 1.0-1.5 read cards from ``raw/master`` (which then still had
them) and 1.6 pinned its reads to ``raw/r1.6``: so a 1.x user never had to
name a branch, and neither does a polyhub user. A uid with a backend level
that the hub's default branch lacks is looked up on the legacy branches,
**newest first**: ``r1.6`` is where the last client that knew these uids
read them (it holds 359 legacy cards, among them the README's
``ascend/1.0/alexnet_v1_cifar10``); the older branches come after it, newest
first, for the 103 cards retired before r1.6 (most ``*/0.7/*`` cards). A
card's ``mindspore-version`` is no guide to its branch: ``r1.0`` holds 6 cards,
not the ``ascend/1.0`` AlexNet. Measured on the real hub (all branches).

The branch found becomes the card address's revision
(``mindspore:mindspore/ascend/1.0/alexnet_v1_cifar10@r1.6``), so the canonical
address resolves to the same card without searching, and each branch's
resolution is cached by the core like any other (no network on a repeated
load).

**Web-site URLs.** Pages of https://www.mindspore.cn/resources/hub name a card
by uid, in the forms found in real READMEs: ``.../resources/hub/details?MindSpore/1.8/yolov4_coco2017``,
``.../resources/hub/details/en?MindSpore/ascend/1.2/mobilenetv2_v1.2_imagenet2012``,
``.../details?MindSpore/ascend/v1.2/vgg16_v1.2_imagenet2012`` (a ``v`` before
the version), and the older ``.../resources/hub/mindspore/ascend/0.7/lenet_v1_mnist``
(upstream's own tests). The site capitalises the publisher (``MindSpore``)
where the hub's folders are lower case. Such a URL is an alias of its uid
in the default (or ``hub=``) hub.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from polyhub import Address, Context, ModelNotFoundError, RevisionNotFoundError

from .hub import Hub, open_hub, parse_hub
from .uid import Uid, parse_uid

__all__ = ["LEGACY_BRANCHES", "read_with_legacy_fallback", "uid_of_site_url"]

# Newest first; see the module docstring for why.
LEGACY_BRANCHES = ("r1.6", "r1.5", "r1.4", "r1.3", "r1.2", "r1.1", "r1.0.1", "r1.0")

_SITE_HOSTS = ("www.mindspore.cn", "mindspore.cn")
_SITE_PREFIX = "/resources/hub/"
_VERSION_V = re.compile(r"^[vV](?=\d)")


def uid_of_site_url(path: str) -> Uid | None:
    """The uid a mindspore.cn hub page names; ``None`` when ``path`` is no such page.

    :raises ModelNotFoundError: a hub page URL that names no uid.
    """
    if not path.startswith(("http://", "https://")):
        return None
    parts = urlsplit(path)
    if (parts.hostname or "").lower() not in _SITE_HOSTS or not parts.path.startswith(_SITE_PREFIX):
        return None
    rest = parts.path[len(_SITE_PREFIX) :].strip("/")
    if rest in ("details", "details/en", "details/zh", "details/zh-CN") or rest.startswith(
        "details/"
    ):
        text = unquote(parts.query)
    elif rest in ("", "en", "zh", "zh-CN"):
        text = ""
    else:
        text = unquote(rest)
    segments = [s for s in text.split("/") if s]
    if len(segments) < 3:
        raise ModelNotFoundError(
            f"{path!r} is a MindSpore Hub web page that names no model: expected "
            "https://www.mindspore.cn/resources/hub/details?<publisher>/[<backend>/]<version>/<name>"
        )
    segments[0] = segments[0].lower()  # the site shows 'MindSpore'; the folder is 'mindspore'
    segments[-2] = _VERSION_V.sub("", segments[-2])
    return parse_uid("/".join(segments))


def read_with_legacy_fallback(
    uid: Uid, address: Address, context: Context
) -> tuple[Hub, str, str, str | None]:
    """Read the card of ``uid``: (hub, text, file, the revision it came from).

    With no revision asked for, a uid with a backend level that the hub's
    default branch lacks is looked up on :data:`LEGACY_BRANCHES` in order
    (git hubs, and local hubs that are git clones).

    :raises ModelNotFoundError: on none of them; the message lists where it looked.
    """
    hub_value = address.option("hub")
    hub = open_hub(parse_hub(hub_value, address.revision), context)
    try:
        text, file = hub.read(uid)
        return hub, text, file, address.revision
    except ModelNotFoundError as missing:
        if address.revision is not None or uid.backend is None:
            raise
        first_error = missing
    kind, _, where_read = hub.key.partition(":")
    looked = [
        f"the default branch ({where_read.rsplit('@', 1)[-1][:12]})"
        if kind == "git"
        else f"the work tree {where_read}"
    ]
    for branch in LEGACY_BRANCHES:
        spec = parse_hub(hub_value, branch)
        if spec.kind != "git":
            raise first_error  # an http or plain-folder hub has no branches to look on
        try:
            legacy = open_hub(spec, context)
        except RevisionNotFoundError:
            looked.append(f"{branch} (no such branch)")
            continue
        try:
            text, file = legacy.read(uid)
        except ModelNotFoundError:
            looked.append(branch)
            continue
        return legacy, text, file, branch
    where = parse_hub(hub_value).location
    raise ModelNotFoundError(
        f"no card {uid.relpath} in the MindSpore hub {where}: a uid with a backend level is "
        f"looked for on the default branch, then on the legacy branches; looked on "
        f"{', '.join(looked)}"
    )

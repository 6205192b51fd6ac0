"""Model code: the network a card's ``mindspore_hub_conf.py`` builds.

Upstream clones the repository with bash scripts, puts it on ``sys.path`` for
good and imports ``mindspore_hub_conf.py``, so two models whose repositories
both ship a ``src`` package collide (its README FAQ). Here the core does all of
that before the runtime is called (:meth:`polyhub.Context.import_code`): it
checks the card's ``repo-link`` out (pinned to a commit, falling back to the
branch named like the hub branch the card came from when the linked folder
moved), checks trust *before* any of the code is imported, and imports it
in isolation. The runtime receives ``create_network`` and only calls it.
"""

from __future__ import annotations

from typing import Any

from polyhub import Context, ImportedCode, LoadRequest, UnsupportedError

from .names import CONF_FILE

__all__ = ["CONF_FILE", "create_network", "imported"]


def imported(request: LoadRequest, context: Context) -> ImportedCode | None:
    """The card's code for a code-only load, from the core (``None`` when the card has none).

    The code-only kind is not among the runtime's ``code_formats``, so that a load
    refused for missing weights fetches no code at all; the runtime asks here,
    after that check. Checkout, trust and import are the core's, as for a CKPT.
    """
    if request.code is not None or request.card.code is None:
        return request.code
    return context.import_code(
        request.card.code,
        scheme=request.card.source,
        purpose=f"build {request.card.address} with its code",
    )


def create_network(request: LoadRequest, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Build the card's network with the ``create_network`` the core imported.

    :raises UnsupportedError: the card has no code, or ``create_network`` did not
        return an ``nn.Cell``.
    """
    card, code = request.card, request.code
    if code is None:
        raise UnsupportedError(
            f"{card.address}: the card has no repo-link, and its network must be built by "
            f"{CONF_FILE} (load a MINDIR asset instead, which needs no code)"
        )
    name = code.ref.entry
    with code.activate():
        net = code.function(name, *args, **kwargs)
    from mindspore import nn  # type: ignore[import-untyped]

    if not isinstance(net, nn.Cell):
        raise UnsupportedError(
            f"create_network({name!r}) of {code.ref.url} returned {type(net).__name__}, "
            "not a mindspore.nn.Cell"
        )
    return net

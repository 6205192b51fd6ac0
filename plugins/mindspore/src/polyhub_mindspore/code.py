"""Model code: a card's ``repo-link`` checked out and its ``mindspore_hub_conf.py`` run.

Upstream clones the repository with bash scripts, puts it on ``sys.path`` for
good and imports ``mindspore_hub_conf.py``, so two models whose repositories
both ship a ``src`` package collide (its README FAQ). Here the repository is
checked out by the core (pinned to a commit, cached by commit, mirror
rewritten), trust is checked *before* any of its code is imported, and the
import goes through :class:`polyhub.isolation.RepoImporter`, which keeps each
repository's modules to itself and leaves ``sys.path``/``sys.modules`` as
they were.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import Any

from polyhub import Context, MetadataError, ModelCard, RevisionNotFoundError, UnsupportedError
from polyhub.isolation import RepoImporter

from .uid import UnsafeUidError, check_segment

__all__ = ["CONF_FILE", "code_root", "create_network"]

CONF_FILE = "mindspore_hub_conf.py"
log = logging.getLogger("polyhub")

# A process checks a model repository's branch once: re-fetching it (a git
# subprocess, a network round trip) on every load of the same model would cost
# more than loading its weights. force_reload asks again.
_CHECKOUTS: dict[tuple[str, str | None, str], Any] = {}

# One importer per (commit, folder): a second load of the same model reuses the
# modules already imported instead of executing the repository again.
_IMPORTERS: dict[tuple[str, str], tuple[RepoImporter, ModuleType]] = {}


def code_root(card: ModelCard, context: Context) -> tuple[Path, str]:
    """Check out the card's code and return (folder holding mindspore_hub_conf.py, commit).

    Runs nothing from the repository.
    """
    code = card.code
    if code is None:
        raise UnsupportedError(
            f"{card.address}: the card has no repo-link, and its network must be built by "
            f"{CONF_FILE} (load a MINDIR asset instead, which needs no code)"
        )
    try:
        for part in code.subdir.split("/") if code.subdir else []:
            check_segment(part, "repo-link folder")
    except UnsafeUidError as exc:
        raise MetadataError(str(exc), file=card.file, field="repo-link") from None
    checkout = _checkout(code.url, code.revision, context)
    folder = _conf_folder(checkout.path, code.subdir, code.url, card)
    if folder is None:
        # Legacy cards link the models repo's master, where many models have moved since
        # (AlexNet: official/cv/alexnet -> research/cv/Alexnet). The branch named like the
        # hub branch the card came from (r1.6) holds the code of the card's era.
        hub_revision = card.metadata.get("hub-revision")
        if hub_revision and hub_revision != code.revision:
            try:
                era = _checkout(code.url, str(hub_revision), context)
            except RevisionNotFoundError:
                era = None
            era_folder = (
                None if era is None else _conf_folder(era.path, code.subdir, code.url, card)
            )
            if era is not None and era_folder is not None:
                log.warning(
                    f"{card.address}: the card links {code.subdir or 'the root'} of {code.url} "
                    f"on {code.revision or 'the default branch'}, which has no {CONF_FILE} "
                    f"there; using that repository's branch {hub_revision} (commit "
                    f"{era.commit[:12]}), named like the hub branch the card came from"
                )
                return era_folder, era.commit
        raise MetadataError(
            f"{code.url}@{checkout.commit[:12]} has no {CONF_FILE} in "
            f"{code.subdir or 'its root'}; a MindSpore Hub repository must provide "
            "create_network(name, *args, **kwargs) there",
            file=card.file,
            field="repo-link",
        )
    return folder, checkout.commit


def _checkout(url: str, revision: str | None, context: Context) -> Any:
    key = (url, revision, str(context.config.home))
    checkout = _CHECKOUTS.get(key)
    if checkout is None or context.force_reload or not checkout.path.is_dir():
        checkout = _CHECKOUTS[key] = context.checkout(url, revision)
    return checkout


def _conf_folder(root: Path, subdir: str, url: str, card: ModelCard) -> Path | None:
    """The folder of ``subdir`` in a checkout when it holds the conf file; ``None`` when not."""
    folder = root.joinpath(*subdir.split("/")) if subdir else root
    if not folder.resolve().is_relative_to(root.resolve()):
        raise MetadataError(
            f"the repo-link folder {subdir!r} leaves the checkout of {url}",
            file=card.file,
            field="repo-link",
        )
    return folder if (folder / CONF_FILE).is_file() else None


def _conf_module(folder: Path, commit: str) -> tuple[RepoImporter, ModuleType]:
    key = (commit, str(folder))
    if key not in _IMPORTERS:
        importer = RepoImporter(folder)
        _IMPORTERS[key] = (importer, importer.load(CONF_FILE))
    return _IMPORTERS[key]


def create_network(
    card: ModelCard, context: Context, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Build the card's network with its repository's ``create_network`` (trusted repos only).

    :raises polyhub.UntrustedError: the repository is not trusted (nothing of it ran).
    :raises UnsupportedError: no code, or ``create_network`` did not return an ``nn.Cell``.
    """
    code = card.code
    if code is None:
        code_root(card, context)  # raises the explanation
        raise AssertionError("unreachable")
    context.check_trust(
        code.repo_id,
        scheme="mindspore",
        purpose=f"build {card.address} by running {CONF_FILE} of {code.url}",
    )
    folder, commit = code_root(card, context)
    context.check_commit_trust(
        code.repo_id, code.url, commit, purpose=f"run {CONF_FILE} of {code.url}"
    )
    importer, module = _conf_module(folder, commit)
    factory = getattr(module, "create_network", None)
    if not callable(factory):
        raise MetadataError(
            f"{CONF_FILE} of {code.url} defines no create_network(name, *args, **kwargs)",
            file=card.file,
            field="repo-link",
        )
    with importer.active():
        net = factory(code.entry, *args, **kwargs)
    from mindspore import nn  # type: ignore[import-untyped]

    if not isinstance(net, nn.Cell):
        raise UnsupportedError(
            f"create_network({code.entry!r}) of {code.url} returned {type(net).__name__}, "
            "not a mindspore.nn.Cell"
        )
    return net

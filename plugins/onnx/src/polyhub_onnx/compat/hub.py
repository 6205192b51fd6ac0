"""A drop-in for ``onnx.hub``, which onnx removed in 1.21, backed by polyhub.

Replace ``from onnx import hub`` with ``from polyhub_onnx.compat import hub``:
the names, arguments, defaults and return types follow ``onnx.hub`` of
onnx v1.20.1, the last release that has it:
``load``, ``list_models``, ``get_model_info``, ``download_model_with_test_data``,
``load_composite_model``, ``set_dir``, ``get_dir``, ``ModelInfo``. Every
difference is in the table in ``docs/onnx.md``. What changes:

* the manifest is cached (ETag revalidation), so listing and loading work
  offline (``POLYHUB_OFFLINE=1``); files are verified before they reach the
  cache and written atomically, so an interrupted download never leaves a
  corrupt model behind; downloads retry and resume;
* there is never an interactive prompt. ONNX models are data, checked against
  the manifest's sha256 and loaded without running code, so no repository
  needs trusting; ``silent=`` is accepted for compatibility and changes nothing
  (upstream's ``silent=True`` switched its repository check off, CVE-2026-28500);
* test-data tarballs are extracted by polyhub's safe extractor (no links, no
  escaping members), and external-data locations are checked before loading;
* where upstream raised ``AssertionError`` (unknown model, bad opset, missing
  manifest, hash mismatch), the errors here are both the polyhub error and an
  ``AssertionError``, so ``except AssertionError`` keeps working;
* messages upstream printed ("Downloading ...") go to the ``polyhub`` logger.

The default repository ``onnx/models:main`` reads its manifest from GitHub's
raw host and its files from the zoo's Hugging Face mirror (GitHub serves only
Git LFS pointers for them since 2025-07-01; ``POLYHUB_ONNX_FILES`` picks another
host); ``POLYHUB_MIRRORS`` can redirect each.
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polyhub
from polyhub import Address
from polyhub import download as _download

from ..hubs import MEDIA_HOST, RAW_HOST, parse_hub

if TYPE_CHECKING:
    from onnx import ModelProto

__all__ = [
    "BadManifest",
    "HashMismatch",
    "ModelInfo",
    "ModelNotFound",
    "RevisionNotFound",
    "download_model_with_test_data",
    "get_dir",
    "get_model_info",
    "list_models",
    "load",
    "load_composite_model",
    "set_dir",
]

log = logging.getLogger("polyhub.onnx.compat")

_DEFAULT_REPO = "onnx/models:main"
_ONNX_HUB_DIR: str | None = None
"""The directory given to :func:`set_dir` (upstream's module global), else ``None``."""


class ModelNotFound(polyhub.ModelNotFoundError, AssertionError):
    """No such model or opset in the hub, or no manifest (upstream: ``AssertionError``)."""


class RevisionNotFound(polyhub.RevisionNotFoundError, AssertionError):
    """The repository ref has no manifest (upstream: ``AssertionError``)."""


class HashMismatch(polyhub.HashMismatchError, AssertionError):
    """Downloaded bytes do not match the manifest's sha256 (upstream: ``AssertionError``)."""


class BadManifest(polyhub.MetadataError, AssertionError):
    """The manifest is broken (upstream failed with an assertion or a ``KeyError``)."""


class DomainMismatch(polyhub.UnsupportedError, ValueError):
    """The two models of a composite use different versions of a custom domain."""


@contextlib.contextmanager
def _upstream_errors() -> Iterator[None]:
    """Re-raise polyhub errors as the classes above, keeping the message and the cause."""
    try:
        yield
    except polyhub.HashMismatchError as exc:
        if isinstance(exc, AssertionError):
            raise
        raise HashMismatch(url=exc.url or "", expected=exc.expected, actual=exc.actual) from exc
    except polyhub.RevisionNotFoundError as exc:
        if isinstance(exc, AssertionError):
            raise
        raise RevisionNotFound(str(exc)) from exc
    except polyhub.ModelNotFoundError as exc:
        if isinstance(exc, AssertionError):
            raise
        raise ModelNotFound(str(exc)) from exc
    except polyhub.MetadataError as exc:
        if isinstance(exc, AssertionError):
            raise
        error = BadManifest(str(exc))
        error.file, error.line, error.entry, error.field = exc.file, exc.line, exc.entry, exc.field
        raise error from exc


class ModelInfo:
    """One manifest entry, as upstream: ``model``, ``model_path``, ``metadata``,
    ``model_sha`` (or ``None``), ``tags`` (a set), ``opset`` and ``raw_model_info``."""

    def __init__(self, raw_model_info: dict[str, Any]) -> None:
        self.model: str = raw_model_info["model"]
        self.model_path: str = raw_model_info["model_path"]
        self.metadata: dict[str, Any] = raw_model_info["metadata"]
        self.model_sha: str | None = self.metadata.get("model_sha")
        self.tags: set[str] = set(self.metadata.get("tags", []))
        self.opset: int = raw_model_info["opset_version"]
        self.raw_model_info: dict[str, Any] = raw_model_info

    def __str__(self) -> str:
        return (
            f"ModelInfo(model={self.model}, opset={self.opset}, path={self.model_path}, "
            f"metadata={self.metadata})"
        )

    def __repr__(self) -> str:
        return self.__str__()


def _plain(value: Any) -> Any:
    """A deep copy of card metadata as plain dicts and lists (cards hold read-only views)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _info_of(card: polyhub.ModelCard) -> ModelInfo:
    return ModelInfo(_plain(card.metadata))


def _checked_opset(model: str, repo: str, opset: Any) -> int | None:
    """``opset`` as upstream compares it (``info.opset == opset``): ``12.0`` or
    ``numpy.int64(12)`` is opset 12; a value no integer equals (``"12"``, ``12.5``)
    matches nothing, which upstream reports as a missing opset (an ``AssertionError``)."""
    if opset is None:
        return None
    if isinstance(opset, numbers.Real) and math.isfinite(opset) and opset == int(opset):
        return int(opset)
    with _upstream_errors():
        polyhub.info(_address(model, repo, None))  # an unknown model is reported first
    raise ModelNotFound(f"{model} has no version with opset {opset!r}")


def _address(model: str, repo: str, opset: int | None) -> Address:
    options: dict[str, Any] = {"hub": repo}
    if opset is not None:
        options["opset"] = opset
    # An Address, not a string: zoo names hold spaces and could hold '?' or '@'.
    return Address("onnx", model, None, options)


def set_dir(new_dir: str) -> None:
    """Set the cache directory: polyhub's home for this process (``polyhub.set_dir``)."""
    global _ONNX_HUB_DIR
    _ONNX_HUB_DIR = new_dir
    polyhub.set_dir(new_dir)


def get_dir() -> str:
    """The cache directory: the string given to :func:`set_dir` (as upstream returns it,
    relative or with ``~``) while polyhub's home is still that folder; else polyhub's
    home (``POLYHUB_HOME``, ``XDG_CACHE_HOME``...)."""
    home = polyhub.get_dir()
    if _ONNX_HUB_DIR is not None and Path(os.path.expanduser(_ONNX_HUB_DIR)).absolute() == home:
        return _ONNX_HUB_DIR
    return str(home)


def list_models(
    repo: str = _DEFAULT_REPO,
    model: str | None = None,
    tags: list[str] | None = None,
) -> list[ModelInfo]:
    """Models of ``repo``, filtered by name (case-insensitive) and by any of ``tags``."""
    with _upstream_errors():
        cards = polyhub.list_models("onnx", hub=repo, model=model, tags=tags)
    return [_info_of(card) for card in cards]


def get_model_info(model: str, repo: str = _DEFAULT_REPO, opset: int | None = None) -> ModelInfo:
    """The entry of ``model`` at ``opset`` (the highest when ``None``); nothing downloaded."""
    opset = _checked_opset(model, repo, opset)
    with _upstream_errors():
        return _info_of(polyhub.info(_address(model, repo, opset)))


def load(
    model: str,
    repo: str = _DEFAULT_REPO,
    opset: int | None = None,
    force_reload: bool = False,
    silent: bool = False,
) -> ModelProto | None:
    """Download (verified, cached) and load ``model`` as an ``onnx.ModelProto``.

    ``silent`` is accepted for compatibility; there is no prompt to silence.
    """
    del silent  # never weakens a check: see the module docs
    address = _address(model, repo, _checked_opset(model, repo, opset))
    log.info("loading %s from %s through polyhub", model, repo)
    with _upstream_errors():
        proto: ModelProto = polyhub.load(
            address, runtime="onnx", device="cpu", force_reload=force_reload
        )
    return proto


def download_model_with_test_data(
    model: str,
    repo: str = _DEFAULT_REPO,
    opset: int | None = None,
    force_reload: bool = False,
    silent: bool = False,
) -> str | None:
    """Download and safely extract ``model``'s test-data tarball; return the model's folder.

    As upstream, the folder is the archive's single top-level directory (holding
    ``model.onnx`` and ``test_data_set_*``); when the archive has several, the
    extraction folder itself.
    """
    del silent
    address = _address(model, repo, _checked_opset(model, repo, opset))
    with _upstream_errors():
        folder = Path(_download(address, with_test_data=True, force_reload=force_reload))
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        return str(entries[0])
    return str(folder)


def _domain_versions(model: ModelProto) -> dict[str, int]:
    return {
        ("ai.onnx" if entry.domain == "" else entry.domain): int(entry.version)
        for entry in model.opset_import
    }


def load_composite_model(
    network_model: str,
    preprocessing_model: str,
    network_repo: str = _DEFAULT_REPO,
    preprocessing_repo: str = _DEFAULT_REPO,
    opset: int | None = None,
    force_reload: bool = False,
    silent: bool = False,
) -> ModelProto | None:
    """Load a preprocessing model and a network and merge them (preprocessing outputs
    feed the network's inputs in order), upgrading the lower default-domain opset.

    Unlike upstream, custom domains used by both models at different versions
    raise :class:`DomainMismatch` (upstream compared a version with itself).
    """
    import onnx
    import onnx.compose
    import onnx.version_converter

    preprocessing = load(preprocessing_model, preprocessing_repo, opset, force_reload, silent)
    network = load(network_model, network_repo, opset, force_reload, silent)
    assert preprocessing is not None and network is not None  # polyhub raises instead
    pre_versions, net_versions = _domain_versions(preprocessing), _domain_versions(network)
    for domain in sorted(set(pre_versions) & set(net_versions) - {"ai.onnx"}):
        if pre_versions[domain] != net_versions[domain]:
            raise DomainMismatch(
                f"cannot merge {preprocessing_model} and {network_model}: they use domain "
                f"{domain!r} at versions {pre_versions[domain]} and {net_versions[domain]}"
            )
    pre_opset, net_opset = pre_versions.get("ai.onnx", -1), net_versions.get("ai.onnx", -1)
    if pre_opset > net_opset:
        network = onnx.version_converter.convert_version(network, pre_opset)
        network.ir_version = preprocessing.ir_version
        onnx.checker.check_model(network)
    elif net_opset > pre_opset:
        preprocessing = onnx.version_converter.convert_version(preprocessing, net_opset)
        preprocessing.ir_version = network.ir_version
        onnx.checker.check_model(preprocessing)
    io_map = [
        (out.name, inp.name)
        for out, inp in zip(preprocessing.graph.output, network.graph.input, strict=False)
    ]
    return onnx.compose.merge_models(preprocessing, network, io_map=io_map)


# -- private helpers upstream's own tests used ------------------------------

_REPO = re.compile(r"^[^/:\s]+/[^/:\s]+(:[^\s]+)?$")


def _parse_repo_info(repo: str) -> tuple[str, str, str]:
    """``owner/name[:ref]`` -> (owner, name, ref); ref defaults to ``main``."""
    hub = parse_hub(repo)
    if hub.kind != "github":
        raise ModelNotFound(f"{repo!r} is not 'owner/name[:ref]'")
    return hub.owner, hub.name, hub.ref


def _verify_repo_ref(repo: str) -> bool:
    """Whether upstream would have trusted ``repo`` without asking (only ``onnx/models:main``)."""
    return bool(_REPO.match(repo)) and _parse_repo_info(repo) == ("onnx", "models", "main")


def _get_base_url(repo: str, lfs: bool = False) -> str:
    """The base URL of ``repo``'s files: raw (manifest) or media (LFS models), with a slash."""
    owner, name, ref = _parse_repo_info(repo)
    host = MEDIA_HOST if lfs else RAW_HOST
    return f"{host}/{owner}/{name}/{ref}/"

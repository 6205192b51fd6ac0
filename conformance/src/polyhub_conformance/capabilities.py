"""What a plugin says it can do: one frozen dataclass per suite.

A plugin configures a suite with ONE capabilities fixture instead of loose
boolean fixtures (fsspec's flaw, style-anchors G12b): a typo in a field name
is a ``TypeError`` at construction, not a silently ignored fixture, and the
kit checks ``isinstance`` before anything else runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from polyhub import CodeRef

__all__ = [
    "DEFAULT_FRAMEWORKS",
    "FormatCapabilities",
    "HooksCapabilities",
    "RuntimeCapabilities",
    "RuntimeSample",
    "SourceCapabilities",
]

# Top-level modules that registering a plugin, detecting a format or listing a
# hub must never import: each costs seconds (mindspore ~4 s, megengine ~2 s)
# and `polyhub plugins` runs all registrations.
DEFAULT_FRAMEWORKS: tuple[str, ...] = (
    "mindspore",
    "megengine",
    "onnxruntime",
    "onnx",
    "torch",
    "tensorflow",
    "jax",
    "paddle",
)


@dataclass(frozen=True)
class HooksCapabilities:
    """Configuration of :class:`~polyhub_conformance.HooksSuite` (all optional).

    :ivar frameworks: modules that registration must not import; extend it with
        your own framework (``DEFAULT_FRAMEWORKS + ("mxnet",)``).
    :ivar entry_point: the name of the plugin's ``polyhub`` entry point; ``None``
        looks it up by module, and skips the check when the plugin is not installed.
    """

    frameworks: tuple[str, ...] = DEFAULT_FRAMEWORKS
    entry_point: str | None = None


@dataclass(frozen=True)
class SourceCapabilities:
    """What a source plugin serves, for :class:`~polyhub_conformance.SourceSuite`.

    :ivar scheme: the address scheme the plugin registers (``onnx``).
    :ivar lists_models: ``polyhub_source_list`` answers for the scheme.
    :ivar has_help: ``polyhub_source_help`` answers for the sample's card.
    :ivar revisions: addresses accept ``@revision``; an unknown one raises
        ``RevisionNotFoundError``.
    :ivar network: the hub is reached over a socket (HTTP, git); then a cold cache
        with ``POLYHUB_OFFLINE=1`` must raise ``OfflineError``. ``False`` for
        sources that read a local folder.
    :ivar publishes_hashes: the sample's asset carries a sha256 in the hub's
        metadata. ``False`` switches the tamper check to trust-on-first-use (the
        first download's hash is enforced on the next).
    :ivar downloads_assets: the sample's card lists downloadable model files.
        ``False`` for code-only hubs (``hubconf.py``) whose weights are named by
        the code: the download, tamper and cache checks are skipped, and the card
        must carry a ``CodeRef`` pinned to a commit instead.
    :ivar frameworks: modules that listing and info must not import.
    """

    scheme: str
    downloads_assets: bool = True
    lists_models: bool = True
    has_help: bool = True
    revisions: bool = False
    network: bool = True
    publishes_hashes: bool = True
    frameworks: tuple[str, ...] = DEFAULT_FRAMEWORKS


@dataclass(frozen=True)
class FormatCapabilities:
    """What a format plugin detects, for :class:`~polyhub_conformance.FormatSuite`.

    :ivar formats: the format names the plugin registers and detects.
    :ivar by_content: detection reads the bytes, so a sample renamed to ``.bin``
        is still recognised. Set ``False`` only for formats with no signature.
    :ivar also_accepts: kit garbage samples (by id, e.g. ``"pickle"``) that this
        plugin legitimately accepts, because its format is built on them.
    :ivar frameworks: modules that detection must not import.
    """

    formats: tuple[str, ...]
    by_content: bool = True
    also_accepts: tuple[str, ...] = ()
    frameworks: tuple[str, ...] = DEFAULT_FRAMEWORKS


@dataclass(frozen=True)
class RuntimeCapabilities:
    """What a runtime plugin loads, for :class:`~polyhub_conformance.RuntimeSuite`.

    :ivar runtime: the runtime name the plugin registers.
    :ivar formats: the formats it declares (the sample's must be among them).
    :ivar devices: the device kinds it declares (``cpu`` first: the kit loads on CPU).
    :ivar wraps_load_errors: loading a corrupt file raises a ``PolyhubError``
        (``MetadataError``), never the framework's own exception.
    """

    runtime: str
    formats: tuple[str, ...]
    devices: tuple[str, ...] = ("cpu",)
    wraps_load_errors: bool = True


@dataclass(frozen=True)
class RuntimeSample:
    """A model file the runtime must load, and what it must compute.

    :ivar path: the model file (or folder).
    :ivar format: its format name.
    :ivar run: ``run(native_model, inputs) -> outputs``: one inference, in the
        framework's own terms (the kit cannot know how to call every model).
    :ivar inputs: the reference input passed to ``run``.
    :ivar expected: the reference output; compared with ``numpy.allclose`` when
        numpy is installed and the values are array-like, else with ``==``.
    :ivar options: keyword arguments for the model (``LoadRequest.options``).
    :ivar code: the card's code (a :class:`polyhub.CodeRef`), for a format of the
        runtime's ``code_formats``: the kit has the core import it and hands it to
        the runtime as ``request.code``, as a load does. The kit trusts its
        repository (the test's own) for the sample's loads only.
    """

    path: Path
    format: str
    run: Callable[[Any, Any], Any]
    inputs: Any
    expected: Any
    rtol: float = 1e-5
    atol: float = 1e-6
    options: Mapping[str, Any] = field(default_factory=dict)
    code: CodeRef | None = None

"""The ``megengine`` runtime: devices, hubconf entrypoints, state dicts and traced graphs.

Every MegEngine import happens inside these functions, never when the plugin
is imported (``import megengine`` takes about two seconds).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from polyhub import Device, MissingDependencyError, ModelNotFoundError, UnsupportedError
from polyhub.isolation import RepoImporter

from .hubconf import check_dependencies
from .repo import hubconf_for, materialize
from .weights import WeightLoader, intercept

if TYPE_CHECKING:
    from polyhub import CodeRef, Context

__all__ = [
    "available_devices",
    "coerce_options",
    "device_name",
    "import_entry_alone",
    "import_hubconf",
    "load_entry",
    "load_pickle",
    "load_traced",
]

# hubconf modules already imported, per (checkout, commit): a commit's code never
# changes, so a warm load does not import the repository again.
_imported: dict[tuple[str, str], tuple[RepoImporter, ModuleType]] = {}
_imported_lock = threading.Lock()
# Importers of repositories whose hubconf.py cannot be imported whole, where
# entrypoints are imported one by one (import_entry_alone).
_alone: dict[tuple[str, str], RepoImporter] = {}
_failed: dict[tuple[str, str], MissingDependencyError] = {}

log = logging.getLogger("polyhub.megengine")


def available_devices() -> list[Device]:
    """GPUs first (best first), then the CPU."""
    from polyhub import framework_output

    # The first CUDA probe prints a banner from C++ when there is no driver, and the
    # first tensor made probes again ("failed to load cuda func: ..."): both in here.
    with framework_output("polyhub.megengine"):
        import megengine  # type: ignore[import-untyped]

        gpus = megengine.get_device_count("gpu") if megengine.is_cuda_available() else 0
        megengine.tensor(0)
    return [Device("gpu", i) for i in range(gpus)] + [Device("cpu")]


def device_name(device: Device) -> str:
    """MegEngine's name for ``device``: ``xpux`` when it is MegEngine's own default, else ``cpu0``/``gpuN``.

    MegEngine compares devices by logical name: a model placed on ``cpu0`` refuses
    an input created the default way (on ``xpux``) even on a machine where ``xpux``
    *is* the CPU. So the device MegEngine would pick anyway (the first GPU, else
    the CPU) keeps the default name, and user code that never mentions devices
    keeps working, as with ``megengine.hub``; any other device is named explicitly.

    :raises UnsupportedError: that device is not present (the message lists those that are).
    """
    present = available_devices()
    best = present[0]
    if device.is_auto:
        device = best
    if device.kind == "cpu":
        chosen, name = Device("cpu"), "cpu0"
    elif device.kind == "gpu" and Device("gpu", device.ordinal) in present:
        chosen, name = Device("gpu", device.ordinal), f"gpu{device.ordinal}"
    else:
        raise UnsupportedError(
            f"MegEngine cannot use {device} here: it sees {', '.join(map(str, present))} "
            "(the megengine runtime targets cpu and gpu[:N])"
        )
    return "xpux" if chosen == best else name


@contextmanager
def default_device(name: str) -> Iterator[None]:
    """Create tensors on ``name`` for the block (MegEngine's device API), then restore."""
    import megengine

    previous = megengine.get_default_device()
    megengine.set_default_device(name)
    try:
        yield
    finally:
        megengine.set_default_device(previous)


def coerce_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for the entrypoint; query-string text becomes bool/None/int/float.

    ``?pretrained=false`` must not turn into the truthy string ``"false"``.
    """
    result: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, str):
            text = value.strip()
            low = text.lower()
            if low in ("true", "false"):
                value = low == "true"
            elif low == "none":
                value = None
            else:
                for kind in (int, float):
                    try:
                        value = kind(text)
                        break
                    except ValueError:
                        continue
        result[key] = value
    return result


def import_hubconf(root: Path, commit: str | None) -> tuple[RepoImporter, ModuleType]:
    """Import ``root/hubconf.py`` in isolation (callers check trust first)."""
    key = (str(root), commit) if commit else None
    if key is not None:
        with _imported_lock:
            found = _imported.get(key)
        if found is not None:
            return found
        failed = _failed.get(key)
        if failed is not None:
            # Importing it again would only fail again, seconds later.
            raise MissingDependencyError(
                str(failed), name=failed.name, path=failed.path, missing=failed.missing
            )
    importer = RepoImporter(root)
    try:
        module = importer.load("hubconf.py")
    except MissingDependencyError as exc:
        if key is not None:
            with _imported_lock:
                _failed.setdefault(key, exc)
        raise
    if key is not None:
        with _imported_lock:
            _imported.setdefault(key, (importer, module))
    return importer, module


def import_entry_alone(
    root: Path, commit: str | None, entry: str, whole: MissingDependencyError
) -> tuple[RepoImporter, Any]:
    """``entry`` imported from its own module, for a hubconf.py that cannot be imported whole.

    The real MegEngine/Models hubconf.py imports every model family at module
    level, so a missing package of one (youtokentome for DALL-E, which has no
    wheel) would make all 94 entrypoints unusable, resnet18 included. When
    hubconf.py takes ``entry`` by ``from MODULE import entry``, importing
    ``MODULE`` alone gives the very same object.

    :raises polyhub.MissingDependencyError: ``whole`` when hubconf.py defines
        ``entry`` some other way; else what the entry's own module lacks.
    """
    key = (str(root), commit) if commit else None
    with _imported_lock:
        importer = _alone.get(key) if key is not None else None
    if importer is None:
        importer = RepoImporter(root)
    try:
        function = importer.load_name("hubconf.py", entry)
    except LookupError:
        raise whole from None
    except MissingDependencyError as own:
        # What the entry's own module lacks: all the user must install for it.
        raise own from whole
    if key is not None:
        with _imported_lock:
            _alone.setdefault(key, importer)
    log.info("%s: hubconf.py cannot be imported whole (%s); %s imported alone", root, whole, entry)
    return importer, function


def load_entry(
    context: Context,
    code: CodeRef,
    device: Device,
    *,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    trust_pickles: bool = False,
    where: str = "",
) -> Any:
    """Check out ``code``, check dependencies and trust, import hubconf, call the entrypoint.

    Order matters: dependencies and the entry are read statically and trust is
    checked before a single line of the repository runs.
    """
    root, commit = materialize(context, code.url, code.revision)
    conf = hubconf_for(root, commit)
    label = where or code.repo_id
    conf.require(code.entry, label)
    check_dependencies(conf, label)
    context.check_trust(code.repo_id, scheme="megengine", purpose="run hubconf.py")
    if commit is not None:
        context.check_commit_trust(code.repo_id, code.url, commit, purpose="run hubconf.py")
    target = device_name(device)
    loader = WeightLoader(
        context,
        repo_sha256=conf.weights_sha256,
        trusted_pickles=trust_pickles,
        map_location=target,
        where=f"{label}:{code.entry}",
    )
    cwd = os.getcwd()
    try:
        with intercept(loader), default_device(target):
            try:
                importer, module = import_hubconf(root, commit)
                function = getattr(module, code.entry, None)
            except MissingDependencyError as whole:
                importer, function = import_entry_alone(root, commit, code.entry, whole)
            if function is None or not callable(function):
                raise ModelNotFoundError(
                    f"{label}: hubconf.py, once run, binds no callable {code.entry!r} "
                    f"(read statically it has: {', '.join(conf.names())})"
                )
            with importer.active():
                return function(*args, **dict(kwargs or {}))
    finally:
        if os.getcwd() != cwd:
            # Repository code that chdir()s must not move the caller.
            os.chdir(cwd)


def load_pickle(path: Path, device: Device, *, trusted: bool = False) -> Any:
    """A ``megengine.save`` file (a state dict, usually), tensors mapped to ``device``."""
    from .unpickle import load_weights_file

    target = device_name(device)
    with default_device(target):
        return load_weights_file(path, trusted=trusted, map_location=target)


def load_traced(path: Path, device: Device) -> Any:
    """A traced, dumped graph (``trace.dump``) as a ``GraphInference`` ready to ``run``."""
    from megengine.utils.comp_graph_tools import GraphInference  # type: ignore[import-untyped]

    target = device_name(device)
    with default_device(target), open(path, "rb") as f:
        # A file object: load_graph leaves a path's handle open (a ResourceWarning).
        return GraphInference(f)

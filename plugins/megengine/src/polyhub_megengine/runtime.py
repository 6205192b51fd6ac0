"""The ``megengine`` runtime: devices, hubconf entrypoints, state dicts and traced graphs.

Every MegEngine import happens inside these functions, never when the plugin
is imported (``import megengine`` takes about two seconds).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from polyhub import Device, ModelNotFoundError, UnsupportedError
from polyhub.isolation import RepoImporter

from .hubconf import Hubconf, check_dependencies
from .repo import hubconf_for, materialize
from .weights import WeightLoader, intercept

if TYPE_CHECKING:
    from polyhub import CodeRef, Context

__all__ = [
    "available_devices",
    "coerce_options",
    "device_name",
    "import_hubconf",
    "load_entry",
    "load_pickle",
    "load_traced",
]

# hubconf modules already imported, per (checkout, commit): a commit's code never
# changes, so a warm load does not import the repository again.
_imported: dict[tuple[str, str], tuple[RepoImporter, ModuleType]] = {}
_imported_lock = threading.Lock()
# hubconf imports that failed, per (checkout, commit): a warm load goes straight to
# the entry's own module instead of importing a hundred modules to fail again.
_hubconf_errors: dict[tuple[str, str], ImportError] = {}
log = logging.getLogger("polyhub")


def available_devices() -> list[Device]:
    """GPUs first (best first), then the CPU."""
    import megengine  # type: ignore[import-untyped]

    gpus = megengine.get_device_count("gpu") if megengine.is_cuda_available() else 0
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
    importer = RepoImporter(root)
    module = importer.load("hubconf.py")
    if key is not None:
        with _imported_lock:
            _imported.setdefault(key, (importer, module))
    return importer, module


def import_defining_module(
    root: Path, commit: str | None, module: str
) -> tuple[RepoImporter, ModuleType]:
    """Import the repository's module ``module`` (dotted) alone, in isolation."""
    key = (str(root), f"{commit}:{module}") if commit else None
    if key is not None:
        with _imported_lock:
            found = _imported.get(key)
        if found is not None:
            return found
    importer = RepoImporter(root)
    with importer.active():
        imported = importlib.import_module(module)
    if key is not None:
        with _imported_lock:
            return _imported.setdefault(key, (importer, imported))
    return importer, imported


def entry_callable(
    root: Path, commit: str | None, conf: Hubconf, name: str, label: str
) -> tuple[RepoImporter, Any]:
    """The importer to run ``name`` under, and ``name`` as ``hubconf.py`` binds it.

    ``hubconf.py`` of MegEngine/Models imports every model of the repository, and
    some need packages only they use (CLIP's tokenizer needs ftfy, regex,
    youtokentome). ``megengine.hub`` stops there; when the entry asked for is
    defined in another module of the repository, that module alone is imported
    instead, so resnet18 loads where DALL-E could not. When that module fails
    too, the hubconf's own error is raised, which names what is missing.
    """
    key = (str(root), commit or "")
    try:
        failed = _hubconf_errors.get(key) if commit else None
        if failed is not None:
            raise failed.with_traceback(None)
        importer, module = import_hubconf(root, commit)
    except ImportError as exc:
        if commit:
            _hubconf_errors[key] = exc
        entry = conf.entry(name)
        if entry is None or not entry.symbol or entry.module in ("", "hubconf"):
            raise
        try:
            importer, module = import_defining_module(root, commit, entry.module)
        except ImportError:
            raise exc from None
        log.info(
            "%s: hubconf.py cannot be imported here (%s); %s was imported from %s alone",
            label,
            exc,
            name,
            entry.file,
        )
        return importer, getattr(module, entry.symbol, None)
    return importer, getattr(module, name, None)


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
            importer, function = entry_callable(root, commit, conf, code.entry, label)
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

"""The ``megengine`` runtime: devices, hubconf entrypoints, state dicts and traced graphs.

Every MegEngine import happens inside these functions, never when the plugin
is imported (``import megengine`` takes about two seconds).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyhub import Device, UnsupportedError

from .repo import hubconf_for
from .weights import WeightLoader, intercept

if TYPE_CHECKING:
    from polyhub import Context, ImportedCode

__all__ = [
    "available_devices",
    "coerce_options",
    "device_name",
    "load_entry",
    "load_pickle",
    "load_traced",
]


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


def load_entry(
    context: Context,
    code: ImportedCode,
    device: Device,
    *,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    trust_pickles: bool = False,
    where: str = "",
) -> Any:
    """Call the entrypoint the core imported, its weights routed through polyhub, on ``device``.

    The core checked the repository out, read its ``dependencies`` and checked
    trust before importing ``hubconf.py`` (:meth:`polyhub.Context.import_code`):
    here the entrypoint only runs, inside the repository's modules.
    """
    label = where or code.ref.repo_id
    # Read statically, from the very checkout the code was imported from.
    conf = hubconf_for(code.root, code.commit)
    target = device_name(device)
    loader = WeightLoader(
        context,
        repo_sha256=conf.weights_sha256,
        trusted_pickles=trust_pickles,
        map_location=target,
        where=f"{label}:{code.ref.entry}",
    )
    cwd = os.getcwd()
    try:
        with intercept(loader), default_device(target), code.activate():
            return code.function(*args, **dict(kwargs or {}))
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

"""The runtimes: ``mindspore`` (CKPT, MindIR, code only), ``mindspore-air``, ``mindspore-lite``.

MindSpore is imported here, inside the functions that load, never when the
plugin is imported (that costs seconds and is not needed to list or describe
models).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from polyhub import Context, Device, LoadRequest, MetadataError, UnsupportedError

from .names import AIR_RUNTIME, CODE_KIND, LITE_RUNTIME, MS_RUNTIME

__all__ = [
    "AIR_RUNTIME",
    "LITE_RUNTIME",
    "MS_RUNTIME",
    "NoWeightsError",
    "check_version",
    "devices",
    "load",
    "set_device",
]


# Extra positional arguments for create_network, for the mindspore_hub compat layer.
ARGS_OPTION = "create_network_args"

_TARGETS = {"cpu": "CPU", "gpu": "GPU", "ascend": "Ascend"}
_devices_cache: list[Device] | None = None
log = logging.getLogger("polyhub")


def _framework_devices() -> list[Device]:
    """Devices MindSpore can use here, best first (probed once per process)."""
    global _devices_cache
    if _devices_cache is None:
        import mindspore  # type: ignore[import-untyped]

        found: list[Device] = []
        for kind in ("ascend", "gpu"):
            target = _TARGETS[kind]
            try:
                if mindspore.hal.is_available(target):
                    count = max(1, int(mindspore.hal.device_count(target)))
                    found += [Device(kind, i) for i in range(count)]
            except Exception:  # a backend that cannot even be probed is absent
                continue
        found.append(Device("cpu"))
        _devices_cache = found
    return list(_devices_cache)


def devices(runtime: str) -> list[Device]:
    """``polyhub_runtime_devices`` for the three runtimes."""
    if runtime == MS_RUNTIME:
        return _framework_devices()
    if runtime == AIR_RUNTIME:
        return [d for d in _framework_devices() if d.kind == "ascend"]
    if runtime == LITE_RUNTIME:
        if importlib.util.find_spec("mindspore_lite") is None:
            raise UnsupportedError(
                "MSLite models need MindSpore Lite, which is not installed: pip install mindspore-lite"
            )
        return [Device("cpu")]
    raise UnsupportedError(f"MindSpore provides no runtime named {runtime!r}")


def set_device(device: Device) -> None:
    """Point MindSpore at ``device`` (its ``device_target`` and ``device_id``)."""
    import mindspore

    target = _TARGETS[device.kind]
    try:
        if hasattr(mindspore, "set_device"):
            mindspore.set_device(target, device.ordinal)
        else:  # MindSpore < 2.5
            mindspore.set_context(device_target=target, device_id=device.ordinal)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise UnsupportedError(
            f"MindSpore cannot use {device} ({target}:{device.ordinal}) in this process: {exc}".splitlines()[
                0
            ]
        ) from None


class NoWeightsError(MetadataError):
    """Weights were asked for (``pretrained=True``, the default) and the card has none.

    A :class:`polyhub.MetadataError`, hence also a ``ValueError``, as mindspore_hub raises.
    """


def check_version(card_version: str | None) -> str | None:
    """A note when the card was published for another MindSpore than the installed one.

    Upstream sleeps three seconds at import. Almost every card predates the
    installed MindSpore (the legacy ones say 1.0) and most load all the same, so
    :func:`load` logs the note (logger ``polyhub``) rather than raising a Python
    warning, which a test suite run with warnings as errors would turn into a
    failed load; an error reading the card's file repeats it.
    """
    if not card_version:
        return None
    try:
        installed = importlib.metadata.version("mindspore")
    except importlib.metadata.PackageNotFoundError:
        return None
    want = card_version.split(".")[:2]
    have = installed.split(".")[:2]
    if want == have:
        return None
    return (
        f"the card was published for MindSpore {card_version}; MindSpore {installed} is "
        "installed, so the network or checkpoint may not load or may behave differently"
    )


def _file(request: LoadRequest, suffix: str) -> str:
    """The asset's path: the core keeps its file name, which MindSpore checks (``*.ckpt``)."""
    assert request.path is not None
    path = Path(request.path)
    if path.suffix != suffix:
        name = request.asset.name if request.asset is not None else path.name
        # The card named it otherwise, or a read-only cache could not give it its name.
        raise MetadataError(
            f"MindSpore reads only files named *{suffix}; the asset {name!r} is at {path}",
            file=request.card.file or str(request.card.address),
            field="asset",
        )
    return str(path)


def _broken(request: LoadRequest, what: str, exc: Exception) -> MetadataError:
    """MindSpore's own error for a file it cannot parse, as a polyhub error naming the asset."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    name = request.asset.url if request.asset is not None else str(request.path)
    note = check_version(request.card.metadata.get("mindspore-version"))
    return MetadataError(
        f"MindSpore cannot read {name} as {what}: {first}" + (f" ({note})" if note else ""),
        file=request.card.file or str(request.card.address),
        field="asset",
    )


def _split_options(options: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    kwargs = dict(options)
    args = kwargs.pop(ARGS_OPTION, ())
    return tuple(args), kwargs


def _load_ckpt(request: LoadRequest, context: Context) -> Any:
    import mindspore

    from .code import create_network

    args, kwargs = _split_options(request.options)
    net = create_network(request, args, kwargs)
    try:
        params = mindspore.load_checkpoint(_file(request, ".ckpt"))
    except (RuntimeError, ValueError, TypeError) as exc:
        raise _broken(request, "CKPT", exc) from None
    not_loaded = mindspore.load_param_into_net(net, params)
    missing = not_loaded[0] if isinstance(not_loaded, tuple) else not_loaded
    if missing:
        context.warn(
            f"{len(missing)} parameter(s) of the network are not in {request.asset.name if request.asset else 'the checkpoint'}: "
            + ", ".join(map(str, missing[:5]))
        )
    return net


def _load_mindir(request: LoadRequest, context: Context) -> Any:
    import mindspore
    from mindspore import nn

    if request.options:
        context.warn(
            "a MindIR file holds its network: the options "
            + ", ".join(sorted(request.options))
            + " are not used"
        )
    try:
        graph = mindspore.load(_file(request, ".mindir"))
    except (RuntimeError, ValueError, TypeError) as exc:
        raise _broken(request, "MindIR", exc) from None
    return nn.GraphCell(graph)


def _load_mslite(request: LoadRequest) -> Any:
    try:
        import mindspore_lite as mslite  # type: ignore[import-not-found]
    except ImportError:
        raise UnsupportedError(
            "MSLite models need MindSpore Lite, which is not installed: pip install mindspore-lite"
        ) from None
    lite = mslite.Context()
    lite.target = [request.device.kind]
    model = mslite.Model()
    model.build_from_file(str(request.path), mslite.ModelType.MINDIR_LITE, lite)
    return model


def load(request: LoadRequest, context: Context) -> Any:
    """``polyhub_runtime_load`` for the three runtimes."""
    if request.format == CODE_KIND and request.card.metadata.get("pretrained", True):
        # Upstream raises too: a network with random weights is not the model asked for.
        # Checked first: no code is fetched or run for a load that cannot succeed.
        raise NoWeightsError(
            f"{request.card.address}: the card lists no weights (no asset), so its network "
            "would have random weights; pass pretrained=False to build it without weights",
            file=request.card.file or str(request.card.address),
            field="asset",
        )
    note = check_version(request.card.metadata.get("mindspore-version"))
    if note:
        log.warning("%s: %s", request.card.address, note)
    if request.runtime == LITE_RUNTIME:
        return _load_mslite(request)
    if request.runtime == AIR_RUNTIME:
        raise UnsupportedError(
            f"{request.card.address}: an AIR model runs on Ascend through the CANN tool chain "
            "(convert it with ATC to an .om model); MindSpore's Python API cannot load AIR. "
            "Use the card's MINDIR or CKPT asset instead"
        )
    set_device(request.device)
    if request.format == "ckpt":
        return _load_ckpt(request, context)
    if request.format == "mindir":
        return _load_mindir(request, context)
    if request.format == CODE_KIND:
        from .code import create_network, imported

        args, kwargs = _split_options(request.options)
        return create_network(replace(request, code=imported(request, context)), args, kwargs)
    raise UnsupportedError(f"the mindspore runtime does not load {request.format!r} files")

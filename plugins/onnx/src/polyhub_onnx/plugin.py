"""polyhub-onnx hook implementations: the ``onnx:`` source, the ``onnx`` format, two runtimes.

This is the entry-point module (group ``polyhub``, name ``onnx``). It holds
hook implementations only and imports neither onnx nor onnxruntime: each hook
imports the module that does the work, and those import the frameworks inside
the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from polyhub import FormatInfo, RuntimeInfo, SourceInfo, hookimpl

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from polyhub import (
        Address,
        Asset,
        Context,
        DemoCase,
        Device,
        FormatRegistry,
        LoadRequest,
        ModelCard,
        Problem,
        RuntimeRegistry,
        SourceRegistry,
    )

SCHEME = "onnx"
FORMAT = "onnx"
RUNTIME = "onnxruntime"
PROTO_RUNTIME = "onnx"


@hookimpl
def polyhub_register_sources(registry: SourceRegistry) -> None:
    registry.add(
        SourceInfo(
            scheme=SCHEME,
            summary="ONNX Model Hub manifests (onnx/models, any owner/name[:ref], URL or folder)",
            options=("hub", "opset"),
            hub_env="POLYHUB_ONNX_HUB",
        )
    )


@hookimpl
def polyhub_register_formats(registry: FormatRegistry) -> None:
    registry.add(FormatInfo(name=FORMAT, summary="ONNX ModelProto (protobuf)", suffixes=(".onnx",)))


@hookimpl
def polyhub_register_runtimes(registry: RuntimeRegistry) -> None:
    registry.add(
        RuntimeInfo(
            name=RUNTIME,
            formats=(FORMAT,),
            devices=("cpu", "gpu", "ascend"),
            summary="onnxruntime.InferenceSession (CPU, CUDA/TensorRT, CANN providers)",
            # The flavour of ONNX Runtime is the user's choice (extras cpu / gpu).
            requires=("onnxruntime",),
            install="pip install 'polyhub-onnx[cpu]' for CPU, or 'polyhub-onnx[gpu]' for CUDA",
        )
    )
    registry.add(
        RuntimeInfo(
            name=PROTO_RUNTIME,
            formats=(FORMAT,),
            devices=("cpu",),
            summary="onnx.ModelProto, unexecuted (runtime='onnx')",
            default=False,
            requires=("onnx",),
            install="pip install onnx",
        )
    )


@hookimpl
def polyhub_source_resolve(address: Address, context: Context) -> ModelCard | None:
    from . import source

    return source.resolve(address, context)


@hookimpl
def polyhub_source_list(
    scheme: str, filters: Mapping[str, Any], context: Context
) -> list[ModelCard] | None:
    from . import source

    return source.list_cards(filters, context)


@hookimpl
def polyhub_source_help(card: ModelCard, context: Context) -> str | None:
    from . import source

    return source.help_text(card)


@hookimpl
def polyhub_source_fetch(card: ModelCard, asset: Asset, context: Context) -> Path | None:
    from .fetch import fetch_model

    return fetch_model(card, asset, context)


@hookimpl
def polyhub_source_validate(path: Path, context: Context) -> list[Problem] | None:
    from . import manifest, source

    found = source.manifest_path_for(path)
    return None if found is None else manifest.validate_manifest(found)


@hookimpl
def polyhub_format_detect(path: Path, head: bytes) -> str | None:
    from .detect import is_onnx_model

    return FORMAT if is_onnx_model(path, head) else None


@hookimpl
def polyhub_runtime_explain(runtime: str, device: Device) -> str | None:
    from polyhub import UnsupportedError

    from . import runtime as ort_runtime

    try:
        # Only onnxruntime has providers to explain; the ModelProto runtime is the CPU's.
        ort_runtime.providers_for(device)
    except UnsupportedError as exc:
        return str(exc)
    return None


@hookimpl
def polyhub_runtime_devices(runtime: str) -> list[Device] | None:
    if runtime == PROTO_RUNTIME:
        from polyhub import Device

        return [Device("cpu")]
    from . import runtime as ort_runtime

    return ort_runtime.devices()


@hookimpl
def polyhub_runtime_load(request: LoadRequest, context: Context) -> object | None:
    from polyhub import UnsupportedError

    from . import runtime as ort_runtime

    if request.path is None:
        raise UnsupportedError(
            f"{request.card.address}: an ONNX model needs a file, and the card has none"
        )
    model: object
    if request.runtime == PROTO_RUNTIME:
        if request.device.kind != "cpu":
            raise UnsupportedError(
                f"runtime 'onnx' gives an unexecuted onnx.ModelProto in host memory (device cpu), "
                f"not on {request.device}; use runtime 'onnxruntime' for {request.device}"
            )
        model = ort_runtime.load_proto(request.path, request.options)
    else:
        model = ort_runtime.load_session(request.path, request.device, request.options)
    return model


@hookimpl
def polyhub_demo_build(directory: Path) -> DemoCase | None:
    from .demo import build_demo

    return build_demo(directory)

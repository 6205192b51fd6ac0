"""Hook implementations of the MindSpore Hub plugin (entry point ``mindspore``).

Only hookimpls live here, and nothing heavy is imported: MindSpore is imported
inside the hooks that load a model, so listing plugins or models stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyhub import FormatInfo, RuntimeInfo, SourceInfo, hookimpl

if TYPE_CHECKING:
    from collections.abc import Mapping

    from polyhub import (
        Address,
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

SCHEME = "mindspore"

# MindSpore's own model repositories: their mindspore_hub_conf.py runs without a flag,
# as torch.hub trusts its own organisations.
TRUSTED = (
    "gitee.com/mindspore/",
    "github.com/mindspore-ai/",
    "github.com/mindspore-lab/",
)


@hookimpl
def polyhub_register_sources(registry: SourceRegistry) -> None:
    from .names import HUB_ENV, SOURCE_OPTIONS

    registry.add(
        SourceInfo(
            scheme=SCHEME,
            summary="MindSpore Hub model cards (mshub_res): CKPT + model code, MindIR, AIR, MSLite",
            options=SOURCE_OPTIONS,
            trusted=TRUSTED,
            hub_env=HUB_ENV,
        )
    )


@hookimpl
def polyhub_register_formats(registry: FormatRegistry) -> None:
    registry.add(FormatInfo("ckpt", "MindSpore checkpoint (protobuf Checkpoint)", (".ckpt",)))
    registry.add(FormatInfo("mindir", "MindSpore MindIR graph (protobuf ModelProto)", (".mindir",)))
    registry.add(FormatInfo("air", "Ascend IR graph for Ascend NPUs", (".air",)))
    registry.add(FormatInfo("mslite", "MindSpore Lite model (FlatBuffer MSL2)", (".ms",)))


# The plugin installs where MindSpore has no wheel (listing and info work there);
# loading then says this.
_MS_INSTALL = "pip install mindspore"


@hookimpl
def polyhub_register_runtimes(registry: RuntimeRegistry) -> None:
    from .names import AIR_RUNTIME, CODE_KIND, LITE_RUNTIME, MS_RUNTIME

    registry.add(
        RuntimeInfo(
            MS_RUNTIME,
            formats=("ckpt", "mindir", CODE_KIND),
            # A checkpoint goes into the network of the card's code: the core checks
            # it out, trusts and imports it. A MindIR holds its network: no code.
            # The code-only kind is not listed: its load first refuses a card whose
            # wanted weights are missing, before any code is fetched (runtime.py),
            # then asks the core for the code (context.import_code).
            code_formats=("ckpt",),
            devices=("cpu", "gpu", "ascend"),
            summary="MindSpore: CKPT into the network of mindspore_hub_conf.py, MindIR as a GraphCell",
            requires=("mindspore",),
            install=_MS_INSTALL,
        )
    )
    registry.add(
        RuntimeInfo(
            AIR_RUNTIME,
            formats=("air",),
            devices=("ascend",),
            summary="AIR graphs, Ascend only",
            requires=("mindspore",),
            install=_MS_INSTALL,
        )
    )
    registry.add(
        RuntimeInfo(
            LITE_RUNTIME,
            formats=("mslite",),
            devices=("cpu", "gpu", "ascend"),
            summary="MindSpore Lite models (needs mindspore-lite)",
            requires=("mindspore_lite",),
            install="pip install mindspore-lite",
        )
    )


@hookimpl
def polyhub_source_resolve(address: Address, context: Context) -> ModelCard | None:
    from .resolve import resolve

    return resolve(address, context)


@hookimpl
def polyhub_source_list(
    scheme: str, filters: Mapping[str, Any], context: Context
) -> list[ModelCard] | None:
    from .listing import list_cards

    return list_cards(filters, context)


@hookimpl
def polyhub_source_help(card: ModelCard, context: Context) -> str | None:
    from .listing import help_text

    return help_text(card, context)


@hookimpl
def polyhub_source_validate(path: Path, context: Context) -> list[Problem] | None:
    from .validate import validate_path

    return validate_path(Path(path))


@hookimpl
def polyhub_format_detect(path: Path, head: bytes) -> str | None:
    from .detect import detect_format

    return detect_format(Path(path), head)


@hookimpl
def polyhub_runtime_devices(runtime: str) -> list[Device] | None:
    from .runtime import devices

    return devices(runtime)


@hookimpl
def polyhub_runtime_load(request: LoadRequest, context: Context) -> object | None:
    from .runtime import load

    model: object = load(request, context)
    return model


@hookimpl
def polyhub_demo_build(directory: Path) -> DemoCase | None:
    from .demo import build_demo

    return build_demo(Path(directory))

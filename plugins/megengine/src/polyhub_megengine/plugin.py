"""polyhub hook implementations for MegEngine: the ``megengine:`` source and the ``megengine`` runtime.

Hookimpls only; the work lives in the modules named for it. Nothing here
imports MegEngine: the runtime hooks import it inside their bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyhub import FormatInfo, RuntimeInfo, SourceInfo, hookimpl

from . import detect as _detect

if TYPE_CHECKING:
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

SCHEME = "megengine"
RUNTIME = "megengine"
# Options the source consumes; the rest go to the entrypoint (pretrained=, num_classes=...).
SOURCE_OPTIONS = ("git_host", "protocol", "commit", "hub", "repo", "trust_pickles")


@hookimpl
def polyhub_register_sources(registry: SourceRegistry) -> None:
    registry.add(
        SourceInfo(
            scheme=SCHEME,
            summary="MegEngine hubconf.py git repositories (megengine.hub), e.g. megengine/models",
            options=SOURCE_OPTIONS,
            trusted=("github.com/megengine/",),
            hub_env="POLYHUB_MEGENGINE_HUB",
        )
    )


@hookimpl
def polyhub_register_formats(registry: FormatRegistry) -> None:
    registry.add(
        FormatInfo(
            name=_detect.HUBCONF,
            summary="a git repository with a hubconf.py (model code plus @pretrained weights)",
        )
    )
    registry.add(
        FormatInfo(
            name=_detect.PICKLE,
            summary="megengine.save pickle (a state dict), unpickled with an allow-list",
            suffixes=(".pkl",),
        )
    )
    registry.add(
        FormatInfo(
            name=_detect.TRACED,
            summary="traced and dumped MegEngine graph (megengine.jit.trace(...).dump)",
            suffixes=(".mge",),
        )
    )


@hookimpl
def polyhub_register_runtimes(registry: RuntimeRegistry) -> None:
    registry.add(
        RuntimeInfo(
            name=RUNTIME,
            formats=(_detect.HUBCONF, _detect.PICKLE, _detect.TRACED),
            # The core checks out, trusts and imports hubconf.py, and hands it over.
            code_formats=(_detect.HUBCONF,),
            devices=("cpu", "gpu"),
            summary="MegEngine 1.13: hubconf entrypoints give a Module, .pkl a state dict, "
            ".mge a GraphInference",
            # MegEngine publishes Linux wheels up to CPython 3.10 only; the plugin installs
            # everywhere else too, for listing and reading repositories.
            requires=("megengine",),
            install="pip install 'megengine==1.13.0' (Linux x86-64, CPython 3.10 or older)",
        )
    )


@hookimpl
def polyhub_source_resolve(address: Address, context: Context) -> ModelCard | None:
    from .repo import resolve

    return resolve(address, context)


@hookimpl
def polyhub_source_list(
    scheme: str, filters: Mapping[str, Any], context: Context
) -> list[ModelCard] | None:
    from .repo import list_cards

    return list_cards(filters, context)


@hookimpl
def polyhub_source_help(card: ModelCard, context: Context) -> str | None:
    from .repo import help_text

    return help_text(card)


@hookimpl
def polyhub_source_validate(path: Path, context: Context) -> list[Problem] | None:
    from .validate import validate

    return validate(path)


@hookimpl
def polyhub_format_detect(path: Path, head: bytes) -> str | None:
    return _detect.detect(path, head)


@hookimpl
def polyhub_runtime_devices(runtime: str) -> list[Device] | None:
    from .runtime import available_devices

    return available_devices()


@hookimpl
def polyhub_runtime_load(request: LoadRequest, context: Context) -> object | None:
    from .runtime import coerce_options, load_entry, load_pickle, load_traced

    asked = request.card.address.option("trust_pickles", request.options.get("trust_pickles"))
    trust_pickles = coerce_options({"t": asked})["t"] is True
    if request.format == _detect.HUBCONF and request.path is None:
        code = request.code
        if code is None:
            from polyhub import MetadataError

            raise MetadataError(
                "a megengine-hubconf card needs code", file=str(request.card.address), field="code"
            )
        model: object = load_entry(
            context,
            code,
            request.device,
            kwargs=coerce_options(request.options),
            trust_pickles=trust_pickles,
            where=str(request.card.address),
        )
        return model
    if request.path is None:
        return None
    if request.format == _detect.PICKLE:
        state: object = load_pickle(request.path, request.device, trusted=trust_pickles)
        return state
    if request.format == _detect.TRACED:
        graph: object = load_traced(request.path, request.device)
        return graph
    return None


@hookimpl
def polyhub_demo_build(directory: Path) -> DemoCase | None:
    from .demo import build_demo

    return build_demo(directory)

"""Choosing what to load: which asset of a card, with which runtime, on which device.

A card may carry several assets (CKPT, MINDIR, AIR, ONNX). The plan takes the
first, in the card's order, that a runtime can load on the requested device,
and keeps the reasons for every candidate it passed over, so polyhub can say
why it chose what it chose (``polyhub load`` prints them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._device import Device
from ._errors import PolyhubError, UnsupportedError

if TYPE_CHECKING:
    from ._plugins import Plugins
    from ._values import Asset, ModelCard

__all__ = ["Plan", "plan_load"]


@dataclass(frozen=True)
class Plan:
    """The chosen asset, format, runtime and device, and why."""

    asset: Asset | None
    format: str
    runtime: str
    device: Device
    reasons: tuple[str, ...] = ()


def _candidates(card: ModelCard) -> list[tuple[Asset | None, str | None]]:
    models = [(a, a.format) for a in card.assets if a.role == "model"]
    if not models and card.code is not None and card.code.kind:
        return [(None, card.code.kind)]
    return list(models)


_CPU = Device("cpu")


def _without_probe(declared: tuple[str, ...], device: Device, probe: bool) -> Device | None:
    """The device to use when it is known without asking the runtime, else ``None``.

    ``device.kind`` (when not auto) is one the runtime declares: checked before.
    """
    if device.is_auto:
        if "cpu" in declared and (not probe or declared == ("cpu",)):
            return _CPU
        return None
    if device.kind == "cpu" or not probe:
        return device
    return None


def plan_load(
    card: ModelCard,
    device: Device,
    plugins: Plugins,
    *,
    runtime: str | None = None,
    probe: bool = True,
) -> Plan:
    """Pick the asset and runtime for ``device``.

    A runtime's devices are probed (``polyhub_runtime_devices``, which imports the
    framework: onnxruntime ~0.5 s of CPU, MindSpore seconds) only when the answer
    is not already known from what it declares: every runtime that declares the
    CPU has one, so ``cpu`` (and ``auto`` for a CPU-only runtime) needs no probe.

    :param probe: ``False`` never probes: ``auto`` then means the CPU, and a
        declared device kind is taken as present. For choosing a file to download,
        which must not import a framework.
    :raises UnsupportedError: nothing in the card can run there; the message names
        every format, the runtimes that load it and the devices they reach.
    """
    runtimes = plugins.runtimes
    if runtime is not None and runtime not in runtimes:
        raise UnsupportedError(
            f"no runtime named {runtime!r}; installed runtimes: {', '.join(runtimes) or 'none'}"
        )
    reasons: list[str] = []
    candidates = _candidates(card)
    if not candidates:
        raise UnsupportedError(
            f"{card.address}: the card lists no loadable asset and no model code"
        )
    for asset, fmt in candidates:
        label = (
            f"{asset.name} ({fmt})"
            if asset is not None
            else f"code {card.code.entry if card.code else ''} ({fmt})"
        )
        if fmt is None:
            reasons.append(f"skipped {label}: the card does not say its format")
            continue
        fitting = [
            r
            for r in runtimes.for_format(fmt)
            if (r.default if runtime is None else r.name == runtime)
        ]
        if not fitting:
            reasons.append(f"skipped {label}: no installed runtime loads {fmt!r}")
            continue
        for info in fitting:
            if not device.is_auto and device.kind not in info.devices:
                reasons.append(
                    f"skipped {label} with {info.name}: it runs on {'/'.join(info.devices)}, not {device.kind}"
                )
                continue
            not_installed = info.missing_reason()
            if not_installed:
                reasons.append(f"skipped {label} with {info.name}: {not_installed}")
                continue
            known = _without_probe(tuple(info.devices), device, probe)
            if known is not None:
                reasons.append(f"chose {label} with {info.name} on {known}")
                return Plan(asset, fmt, info.name, known, tuple(reasons))
            if not probe:
                reasons.append(
                    f"skipped {label} with {info.name}: it does not declare the cpu "
                    "(auto, without probing devices, means the cpu)"
                )
                continue
            try:
                present = plugins.runtime_devices(info.name)
            except PolyhubError as exc:
                reasons.append(f"skipped {label} with {info.name}: {exc}")
                continue
            if device.is_auto:
                if not present:
                    reasons.append(f"skipped {label} with {info.name}: it sees no device")
                    continue
                chosen = present[0]
            else:
                kinds = {d.kind for d in present}
                if device.kind not in kinds:
                    why = plugins.runtime_explain(info.name, device)
                    reasons.append(
                        f"skipped {label} with {info.name}: no {device.kind} here "
                        f"(it sees {', '.join(map(str, present)) or 'none'})"
                        + (f": {why}" if why else "")
                    )
                    continue
                chosen = device
            reasons.append(f"chose {label} with {info.name} on {chosen}")
            return Plan(asset, fmt, info.name, chosen, tuple(reasons))
    listing = "; ".join(
        f"{fmt}: "
        + (
            ", ".join(f"{r.name} ({'/'.join(r.devices)})" for r in runtimes.for_format(fmt))
            or "no runtime installed"
        )
        for fmt in dict.fromkeys(f for _, f in candidates if f)
    )
    raise UnsupportedError(
        f"cannot load {card.address} on {device}: "
        + " | ".join(reasons)
        + f". Formats and runtimes: {listing}"
    )

"""Device names: ``auto``, ``cpu``, ``gpu[:N]``, ``ascend[:N]``.

Each runtime maps a :class:`Device` to its own notion (onnxruntime execution
providers, MindSpore ``device_target``/``device_id``, MegEngine ``gpu0``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._errors import PolyhubError

__all__ = ["DEVICE_KINDS", "Device", "DeviceError", "parse_device"]

DEVICE_KINDS = ("cpu", "gpu", "ascend")

# Names users type out of habit in one framework or another.
_ALIASES = {"cuda": "gpu", "npu": "ascend", "xpu": "gpu"}


class DeviceError(PolyhubError, ValueError):
    """A device name that is not ``auto``, ``cpu``, ``gpu[:N]`` or ``ascend[:N]``."""

    __module__ = "polyhub"


@dataclass(frozen=True, order=True)
class Device:
    """A device: ``kind`` is ``auto``, ``cpu``, ``gpu`` or ``ascend``; ``index`` picks one of several."""

    kind: str
    index: int | None = None

    def __str__(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"

    @property
    def is_auto(self) -> bool:
        return self.kind == "auto"

    @property
    def ordinal(self) -> int:
        """The index, 0 when none was given."""
        return self.index or 0


def parse_device(value: str | Device | None) -> Device:
    """Parse a device name; ``None`` means ``auto``.

    :raises DeviceError: the name is not one polyhub knows.
    """
    if isinstance(value, Device):
        return value
    if value is None:
        return Device("auto")
    text = str(value).strip().lower()
    kind, sep, index_text = text.partition(":")
    kind = _ALIASES.get(kind, kind)
    if kind == "auto" and not sep:
        return Device("auto")
    if kind not in DEVICE_KINDS:
        raise DeviceError(
            f"unknown device {value!r}: use 'auto', 'cpu', 'gpu', 'gpu:N', 'ascend' or 'ascend:N'"
        )
    if not sep:
        return Device(kind)
    if not index_text.isdigit() or (kind == "cpu" and index_text != "0"):
        raise DeviceError(f"bad device index in {value!r}: expected a number, e.g. '{kind}:0'")
    return Device(kind, int(index_text))

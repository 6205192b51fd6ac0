"""The suites: subclass the ones that apply to your plugin."""

from __future__ import annotations

from .format import FormatSuite
from .hooks import HooksSuite
from .runtime import RuntimeSuite
from .source import SourceSuite

__all__ = ["FormatSuite", "HooksSuite", "RuntimeSuite", "SourceSuite"]

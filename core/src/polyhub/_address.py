"""Model addresses: ``scheme:path[@revision][?key=value&...]``.

The scheme picks the source plugin and the source owns the grammar of ``path``.
Query options and keyword arguments are the same thing (keywords win), so
``load("onnx:mnist?opset=8")`` and ``load("onnx:mnist", opset=8)`` name one model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, quote

from ._errors import PolyhubError

__all__ = ["Address", "AddressError", "parse_address"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-_]*$")


class AddressError(PolyhubError, ValueError):
    """An address does not follow ``scheme:path[@revision][?options]``."""

    __module__ = "polyhub"


def _option_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Address:
    """A parsed model address.

    ``str(address)`` gives back a canonical string that parses to an equal
    ``Address``: options sorted by key, booleans as ``true``/``false``.
    """

    scheme: str
    path: str
    revision: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # A read-only view: an Address is a value shared by every hook.
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    def __str__(self) -> str:
        text = f"{self.scheme}:{self.path}"
        if self.revision:
            text += f"@{self.revision}"
        if self.options:
            query = "&".join(
                f"{quote(k, safe='')}={quote(_option_text(v), safe=':/,')}"
                for k, v in sorted(self.options.items())
            )
            text += f"{'&' if '?' in self.path else '?'}{query}"
        return text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Address):
            return NotImplemented
        return (self.scheme, self.path, self.revision) == (
            other.scheme,
            other.path,
            other.revision,
        ) and {k: _option_text(v) for k, v in self.options.items()} == {
            k: _option_text(v) for k, v in other.options.items()
        }

    def __hash__(self) -> int:
        return hash((self.scheme, self.path, self.revision))

    def with_options(self, **options: Any) -> Address:
        """Return a copy with ``options`` added (they win over existing ones)."""
        return replace(self, options={**self.options, **options})

    def without_options(self, *keys: str) -> Address:
        """Return a copy without the named options."""
        return replace(self, options={k: v for k, v in self.options.items() if k not in keys})

    def option(self, key: str, default: Any = None) -> Any:
        """The option ``key``, or ``default``."""
        return self.options.get(key, default)


_INT = re.compile(r"^-?(?:0|[1-9][0-9]{0,17})$")


def _coerce(value: str) -> Any:
    # Query values are text; model keyword arguments (num_classes=10, pretrained=true)
    # need their types. Floats stay text: "1.10" is a version, not 1.1.
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INT.match(value):
        return int(value)
    return value


def _split_revision(path: str) -> tuple[str, str | None]:
    # Only an '@' after any URL authority is a revision marker, so
    # "https://user@host/x" keeps its user; revisions may contain '/' (feature/x).
    start = 0
    if "://" in path:
        after = path.index("://") + 3
        slash = path.find("/", after)
        start = len(path) if slash < 0 else slash
    at = path.rfind("@", start)
    if at <= 0 or at == len(path) - 1:
        return path, None
    return path[:at], path[at + 1 :]


def parse_address(text: str | Address, **options: Any) -> Address:
    """Parse ``text`` into an :class:`Address`; keyword ``options`` win over the query.

    :raises AddressError: ``text`` has no scheme, an empty path or a bad query.
    """
    if isinstance(text, Address):
        return text.with_options(**options) if options else text
    if not isinstance(text, str):
        raise AddressError(f"an address must be a string, not {type(text).__name__}")
    text = text.strip()
    scheme, sep, rest = text.partition(":")
    if not sep or not _SCHEME.match(scheme):
        raise AddressError(
            f"{text!r} is not an address: expected 'scheme:path[@revision][?name=value]', "
            "e.g. 'onnx:mnist'"
        )
    rest, _, query = rest.partition("?")
    if "://" in rest and query and "=" not in query.split("&", 1)[0]:
        # A URL's own query that is no key=value (mindspore.cn's "details?MindSpore/1.8/x")
        # is part of the URL; options may still follow it after '&'.
        own, _, query = query.partition("&")
        rest = f"{rest}?{own}"
    path, revision = _split_revision(rest)
    if not path:
        raise AddressError(f"{text!r} has an empty path after '{scheme}:'")
    try:
        parsed: dict[str, Any] = {
            k: _coerce(v)
            for k, v in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        }
    except ValueError as exc:
        raise AddressError(f"{text!r} has a malformed query {query!r}: {exc}") from None
    parsed.update(options)
    return Address(scheme=scheme.lower(), path=path, revision=revision, options=parsed)

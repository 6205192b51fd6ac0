"""Reading a yes/no from text: environment variables, query options, filters.

One vocabulary everywhere, so that ``POLYHUB_OFFLINE=yes``, ``?pretrained=off`` and
``list_models(..., pretrained="1")`` mean what they say in every plugin.
"""

from __future__ import annotations

from ._errors import PolyhubError

__all__ = ["FALSE_WORDS", "TRUE_WORDS", "parse_bool"]

#: Words read as true, compared after stripping white space and lower-casing.
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
#: Words read as false, compared the same way.
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def parse_bool(value: object, default: bool | None = None, *, what: str = "value") -> bool:
    """Read ``value`` as a boolean.

    * a ``bool`` is returned as it is;
    * the ``int`` 0 or 1 (what an address's ``?flag=0`` query coerces to) is ``False``/``True``;
    * a ``str`` is one of ``1/true/yes/on`` or ``0/false/no/off``, in any case and with
      surrounding white space. The empty string is neither: an empty environment
      variable means what the caller decides (see :func:`polyhub._config.env_flag`).

    Anything else is ``default`` when one is given.

    :param what: names the value in the error, e.g. ``"POLYHUB_OFFLINE"`` or ``"option 'pretrained'"``.
    :raises polyhub.PolyhubError: ``value`` is none of those and no ``default`` is given.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    if default is not None:
        return default
    raise PolyhubError(f"{what} {value!r} is not a boolean: use 1/true/yes/on or 0/false/no/off")

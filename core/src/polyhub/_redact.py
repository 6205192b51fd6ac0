"""Keep credentials out of every message polyhub produces.

A mirror or a card may carry credentials in a URL
(``https://user:TOKEN@mirror/...``, ``...?token=...``, an S3 signed URL).
Errors and log records quote URLs, and those end up in CI logs and bug
reports, so one helper scrubs them: :func:`redact` for any text,
:func:`redact_url` for one URL. Every :class:`~polyhub.PolyhubError` passes
its message through :func:`redact`, and a filter on the ``polyhub`` logger
does the same for every record, so no call site has to remember.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["redact", "redact_url"]

MASK = "***"

# Query parameters whose values are secrets: API tokens and the parts of S3,
# GCS and Azure signed URLs that grant access (X-Amz-Signature, sig, ...).
_SECRET_PARAM = (
    r"(?:[A-Za-z0-9_.-]*(?:token|secret|password|passwd|signature|credential|apikey|api_key)"
    r"[A-Za-z0-9_.-]*|sig|key|auth|code)"
)
# scheme://userinfo@ : the whole userinfo goes (a lone user may be a token), up to
# the last "@" before the path, as a password may hold an unescaped "@".
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s'\"<>]+)@")
_QUERY_SECRET = re.compile(
    rf"(?P<lead>[?&;])(?P<name>{_SECRET_PARAM})=(?P<value>[^&#\s'\"<>]*)", re.I
)


def redact(text: str) -> str:
    """``text`` with the user info of every URL and secret-looking query values masked.

    >>> redact("GET https://user:s3cr3t@mirror.example/m.onnx?token=abc&v=1 failed")
    'GET https://***@mirror.example/m.onnx?token=***&v=1 failed'
    """
    if "@" not in text and "=" not in text:
        return text  # the common case, kept cheap: nothing to mask
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['lead']}{m['name']}={MASK if m['value'] else ''}", text)


def redact_url(url: str) -> str:
    """One URL without its user info and secret query values (for messages, never for requests)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if parts.username is None and parts.password is None and "@" not in parts.netloc:
        return redact(url)
    host = parts.netloc.rpartition("@")[2]
    return redact(urlunsplit(parts._replace(netloc=f"{MASK}@{host}")))


def _mask(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to logging's own error report
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None


def _install() -> None:
    """Mask credentials in every record of the ``polyhub`` logger tree as it is made.

    A filter on the ``polyhub`` logger would see only records logged on that very
    logger: records of ``polyhub._downloader`` or a plugin's ``polyhub.mindspore``
    propagate to handlers without passing their parent's filters. So the record
    factory is wrapped instead (chained, as logging documents), and records of
    other loggers are left as they are.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_polyhub_masks", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name == "polyhub" or record.name.startswith("polyhub."):
            _mask(record)
        return record

    factory._polyhub_masks = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_install()

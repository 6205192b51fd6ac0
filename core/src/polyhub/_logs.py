"""Logging: where polyhub's messages go, and how loud they are.

The library logs through :mod:`logging`, one logger per module under the
``polyhub`` logger (plugins use ``polyhub.<scheme>``). As a library it prints
nothing on its own: the ``polyhub`` logger has a :class:`logging.NullHandler`,
and the application decides. Two ways to see the messages:

- ``POLYHUB_LOG_LEVEL=INFO`` (or ``DEBUG``, ``WARNING``, ``ERROR``, a number):
  polyhub adds one stderr handler at that level when it is imported;
- the ``polyhub`` command shows INFO and above (retries, waits for another
  process's download), ``-q`` only warnings and errors, ``-v`` everything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

__all__ = [
    "LOG_LEVEL_ENV",
    "capture_framework_output",
    "configure",
    "configure_from_env",
    "framework_output",
    "level_from_env",
    "parse_level",
]

LOG_LEVEL_ENV = "POLYHUB_LOG_LEVEL"

_HANDLER_NAME = "polyhub-stderr"


def parse_level(text: str) -> int:
    """A level name (any case) or number; raises :class:`~polyhub.PolyhubError` for anything else."""
    from ._errors import PolyhubError

    value = text.strip()
    if value.lstrip("-").isdigit():
        return int(value)
    level = logging.getLevelName(value.upper())
    if isinstance(level, int):
        return level
    raise PolyhubError(
        f"{LOG_LEVEL_ENV}={text!r} is not a log level: use DEBUG, INFO, WARNING, ERROR or a number"
    )


def level_from_env() -> int | None:
    """The level ``POLYHUB_LOG_LEVEL`` asks for, or ``None`` when it is unset or empty."""
    raw = os.environ.get(LOG_LEVEL_ENV, "")
    return parse_level(raw) if raw.strip() else None


class _Formatter(logging.Formatter):
    # "polyhub: message" for information, "polyhub: warning: message" for the rest,
    # as the command line prints its errors.
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.levelno <= logging.DEBUG:
            text += "\n" + self.formatException(record.exc_info)
        if record.levelno >= logging.WARNING:
            return f"polyhub: {record.levelname.lower()}: {text}"
        if record.levelno <= logging.DEBUG:
            return f"polyhub: debug: [{record.name}] {text}"
        return f"polyhub: {text}"


def configure(level: int) -> None:
    """Send polyhub's records of ``level`` and above to stderr (once; later calls change the level)."""
    logger = logging.getLogger("polyhub")
    logger.setLevel(level)
    for handler in logger.handlers:
        if handler.get_name() == _HANDLER_NAME:
            handler.setLevel(level)
            return
    # sys.stderr is looked up at each record, so a replaced one (pytest's capture,
    # a redirect) still receives them.
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setLevel(level)
    handler.setFormatter(_Formatter())
    logger.addHandler(handler)


class _StderrHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def configure_from_env() -> None:
    """Apply ``POLYHUB_LOG_LEVEL`` at import.

    A value that is no level is ignored here: an import must not fail or print over
    it. The ``polyhub`` command reports it as a usage error.
    """
    from ._errors import PolyhubError

    try:
        level = level_from_env()
    except PolyhubError:
        return
    if level is not None:
        configure(level)


_capture = False


def capture_framework_output(on: bool) -> bool:
    """Turn :func:`framework_output` on or off for this process; returns the previous setting.

    The ``polyhub`` command turns it on unless ``-v``; a library user's process keeps
    the frameworks' messages as the frameworks print them.
    """
    global _capture
    previous, _capture = _capture, on
    return previous


@contextlib.contextmanager
def framework_output(logger: str) -> Iterator[None]:
    """Send what native code writes to stderr during the block to ``logger`` at DEBUG.

    For a framework's C++ start-up chatter (MegEngine's CUDA banner, written with
    ``fprintf(stderr)`` by its CUDA stub, which no setting silences). A no-op unless
    :func:`capture_framework_output` turned it on. File descriptor 2 is the process's,
    so anything another thread writes meanwhile is caught too: keep the block short
    (an import, a device probe).
    """
    if not _capture:
        yield
        return
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode(errors="replace")
            log = logging.getLogger(logger)
            for line in text.splitlines():
                if line.strip():
                    log.debug("%s", line)

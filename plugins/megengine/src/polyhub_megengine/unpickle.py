"""Unpickling MegEngine weights with an allow-list.

``megengine.load`` is ``pickle.load``: a weights file from the network can run
any code. State dicts only ever need a handful of globals (numpy's array
rebuilders, ``collections.OrderedDict``, MegEngine's ``Tensor`` and
``Parameter``), so everything else is refused with
:class:`~polyhub.UntrustedError` naming the global, before it is imported or
called. Deny-list scanners are bypassed again and again; an allow-list is not.

A caller who trusts the file passes ``trusted=True`` (``trust_pickles=True`` on
``polyhub.load``) and gets plain ``megengine.load``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from polyhub import MetadataError, UntrustedError

__all__ = ["ALLOWED_GLOBALS", "load_weights_file", "safe_load"]

ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("collections", "OrderedDict"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "complex"),
        ("builtins", "slice"),
        ("builtins", "bytearray"),
        # Protocol 2 pickles of numpy arrays encode bytes through _codecs.encode.
        ("_codecs", "encode"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        # numpy 2 writes numpy._core; numpy 1.26 can read those names too.
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("megengine.tensor", "Tensor"),
        ("megengine.tensor", "Parameter"),
        ("megengine.tensor", "Buffer"),
    }
)


class _AllowListUnpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], *, where: str) -> None:
        super().__init__(file)
        self._where = where

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise UntrustedError(
            f"{self._where}: the pickle asks for the global {module}.{name}, which is not on "
            "polyhub's allow-list for weights (numpy arrays, MegEngine tensors, plain "
            "containers); refusing to unpickle it. If you trust this file and its "
            "repository, load with trust_pickles=True"
        )


class _SafePickleModule:
    """What ``megengine.load(pickle_module=...)`` needs: a ``load(file)``."""

    def __init__(self, where: str) -> None:
        self.where = where

    def load(self, file: IO[bytes]) -> Any:
        return _AllowListUnpickler(file, where=self.where).load()


def safe_load(file: IO[bytes], *, where: str = "pickle") -> Any:
    """Unpickle ``file`` with the allow-list (no MegEngine device mapping)."""
    return _AllowListUnpickler(file, where=where).load()


def load_weights_file(
    path: Path,
    *,
    trusted: bool = False,
    map_location: str | Callable[[str], str] | None = None,
    where: str | None = None,
) -> Any:
    """Load a ``megengine.save`` file through ``megengine.load``, allow-listed unless ``trusted``.

    :param map_location: passed to ``megengine.load`` (e.g. ``"cpu0"``), so tensors
        saved on a GPU load where the model runs.
    :raises UntrustedError: the pickle needs a global outside the allow-list.
    :raises MetadataError: the file is not a readable pickle.
    """
    import megengine  # type: ignore[import-untyped]

    label = where or str(path)
    module: Any = pickle if trusted else _SafePickleModule(label)
    try:
        with open(path, "rb") as f:
            return megengine.load(f, map_location=map_location, pickle_module=module)
    except UntrustedError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise MetadataError(
            f"not a readable MegEngine pickle: {type(exc).__name__}: {exc}", file=label
        ) from None

"""The ``onnxruntime`` and ``onnx`` runtimes: devices, execution providers, loading.

polyhub devices map to onnxruntime execution providers:

* ``cpu`` -> ``CPUExecutionProvider``;
* ``gpu[:N]`` -> ``CUDAExecutionProvider`` with ``device_id=N`` (``TensorrtExecutionProvider``
  first when it really works), CPU as the fallback for unsupported nodes;
* ``ascend[:N]`` -> ``CANNExecutionProvider`` with ``device_id=N``.

``onnxruntime-gpu`` lists the CUDA and TensorRT providers even where their
libraries (CUDA 12, cuDNN 9, TensorRT) are missing, and a session asked for
them then silently runs on CPU. So a provider counts as present only after a
probe session really got it (``get_providers()``); the probe runs once per
process per provider.

onnxruntime is imported inside the functions, never at module import.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyhub import Device, UnsupportedError

from .external import check_external_data

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "SESSION_OPTIONS",
    "available_providers",
    "devices",
    "load_proto",
    "load_session",
    "provider_works",
    "providers_for",
]

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
CANN = "CANNExecutionProvider"

# Keyword arguments of polyhub.load passed on to onnxruntime.InferenceSession.
SESSION_OPTIONS = ("providers", "provider_options", "sess_options", "disabled_optimizers")
PROTO_OPTIONS = ("load_external_data",)

_probed: dict[str, bool] = {}
_probe_lock = threading.RLock()  # re-entrant: TensorRT's probe asks about CUDA first
# onnxruntime's default logger severity: 2 (warning). It has no getter, so the
# probe restores this value after silencing the expected "cannot load CUDA" noise.
_DEFAULT_LOG_SEVERITY = 2


def available_providers() -> list[str]:
    """The providers this onnxruntime build lists (present or not)."""
    import onnxruntime  # type: ignore[import-untyped]

    return list(onnxruntime.get_available_providers())


def _probe_model() -> bytes:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "polyhub_probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def provider_works(provider: str) -> bool:
    """Whether a session asked for ``provider`` really gets it here (probed once per process)."""
    with _probe_lock:
        if provider in _probed:
            return _probed[provider]
        if provider == CPU:
            _probed[provider] = True
            return True
        works = False
        if provider in available_providers() and (provider != TENSORRT or provider_works(CUDA)):
            works = _probe(provider)
        _probed[provider] = works
        return works


def _probe(provider: str) -> bool:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    onnxruntime.set_default_logger_severity(4)
    try:
        # onnxruntime prints an "EP Error" banner to stdout when a provider
        # fails and it falls back; in a probe that failure is the expected answer.
        with contextlib.redirect_stdout(io.StringIO()):
            session = onnxruntime.InferenceSession(
                _probe_model(), options, providers=[provider, CPU]
            )
        return provider in session.get_providers()
    except Exception:
        return False
    finally:
        onnxruntime.set_default_logger_severity(_DEFAULT_LOG_SEVERITY)


def _cuda_device_count() -> int:
    """Visible CUDA devices, from the CUDA runtime the CUDA provider loaded; 1 when unknown."""
    for name in ("libcudart.so.12", "libcudart.so", "cudart64_12.dll"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        if lib.cudaGetDeviceCount(ctypes.byref(count)) == 0 and count.value > 0:
            return int(count.value)
    return 1


def devices() -> list[Device]:
    """Devices onnxruntime can use here, best first: GPUs, Ascend NPUs, then the CPU."""
    found: list[Device] = []
    if provider_works(CUDA):
        found += [Device("gpu", i) for i in range(_cuda_device_count())]
    if provider_works(CANN):
        found.append(Device("ascend", 0))
    found.append(Device("cpu"))
    return found


def _describe_providers() -> str:
    listed = available_providers()
    working = [p for p in listed if p == CPU or _probed.get(p)]
    broken = [p for p in listed if p not in working]
    text = f"providers that work here: {', '.join(working) or 'none'}"
    if broken:
        text += (
            f"; listed but not usable (missing libraries or device): {', '.join(broken)}"
            " (CUDA needs CUDA 12 and cuDNN 9: pip install 'polyhub-onnx[cuda]')"
        )
    return text


def providers_for(device: Device) -> list[Any]:
    """The execution providers (with options) for ``device``.

    :raises UnsupportedError: the provider the device needs is missing here; the
        message names the providers that exist.
    """
    index = device.ordinal
    if device.kind in ("cpu", "auto"):
        return [CPU]
    if device.kind == "gpu":
        if not provider_works(CUDA):
            raise UnsupportedError(
                f"device {device} needs onnxruntime's {CUDA}, which does not work here; "
                + _describe_providers()
            )
        providers: list[Any] = []
        if provider_works(TENSORRT):
            providers.append((TENSORRT, {"device_id": index}))
        return [*providers, (CUDA, {"device_id": index}), CPU]
    if device.kind == "ascend":
        if not provider_works(CANN):
            raise UnsupportedError(
                f"device {device} needs onnxruntime's {CANN}, which does not work here; "
                + _describe_providers()
            )
        return [(CANN, {"device_id": index}), CPU]
    raise UnsupportedError(
        f"onnxruntime has no mapping for device {device}; " + _describe_providers()
    )


def _split_options(
    options: Mapping[str, Any], allowed: tuple[str, ...], runtime: str
) -> dict[str, Any]:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise UnsupportedError(
            f"the {runtime} runtime takes no option {', '.join(map(repr, unknown))}; "
            f"it accepts {', '.join(allowed)}"
        )
    return dict(options)


_FLAVOURS = ("onnxruntime", "onnxruntime-gpu")
_flavours_checked = False


def two_flavours() -> str | None:
    """Why the environment's ONNX Runtime is unreliable, when both flavours are installed.

    ``onnxruntime`` and ``onnxruntime-gpu`` write the same ``onnxruntime`` package: with
    both, the files are whichever was installed last (pip installs ``polyhub-onnx[gpu]``
    next to an existing ``onnxruntime`` without a word), and uninstalling one breaks the
    other. ``None`` when at most one is installed.
    """
    from importlib import metadata

    found = []
    for name in _FLAVOURS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    if len(found) < 2:
        return None
    return (
        f"both {' and '.join(found)} are installed; they write the same 'onnxruntime' "
        "package, so which one runs is whichever was installed last. Keep one: "
        "pip uninstall -y onnxruntime onnxruntime-gpu && pip install 'polyhub-onnx[gpu]' "
        "(or [cpu])"
    )


def _warn_two_flavours() -> None:
    global _flavours_checked
    if _flavours_checked:
        return
    _flavours_checked = True
    problem = two_flavours()
    if problem is not None:
        import warnings

        from polyhub import PolyhubWarning

        warnings.warn(problem, PolyhubWarning, stacklevel=3)


def _explicit_providers(given: Any) -> list[Any] | None:
    """``providers=`` as a list, each name one this onnxruntime build lists.

    From the command line (``-O providers=A,B``) it is one string: iterated as given, it
    became one "provider" per character. A name the build does not list makes onnxruntime
    print an error and fall back to CPU; polyhub refuses instead.
    """
    if given is None:
        return None
    if isinstance(given, str):
        given = [name.strip() for name in given.split(",") if name.strip()]
    providers = list(given)
    listed = available_providers()
    unknown = [
        name
        for name in (p[0] if isinstance(p, tuple) else p for p in providers)
        if name not in listed
    ]
    if not providers:
        problem = "no provider given"
    elif unknown:
        problem = f"this onnxruntime does not list {', '.join(map(str, unknown))}"
    else:
        return providers
    raise UnsupportedError(f"providers={given!r}: {problem}; it lists {', '.join(listed)}")


def load_session(path: Path, device: Device, options: Mapping[str, Any] | None = None) -> Any:
    """An ``onnxruntime.InferenceSession`` for the model at ``path`` on ``device``.

    ``options`` may hold ``providers`` (used as given, replacing the device
    mapping), ``provider_options``, ``sess_options`` and ``disabled_optimizers``.
    External data is checked before onnxruntime sees the file.

    :raises UnsupportedError: the device's provider is missing, or an unknown option.
    :raises UnsafeArchiveError: external data escapes the model's folder.
    """
    kwargs = _split_options(options or {}, SESSION_OPTIONS, "onnxruntime")
    check_external_data(path)
    _warn_two_flavours()
    import onnxruntime

    explicit = _explicit_providers(kwargs.pop("providers", None))
    providers = explicit if explicit is not None else providers_for(device)
    session = onnxruntime.InferenceSession(str(path), providers=providers, **kwargs)
    if explicit is None and device.kind in ("gpu", "ascend"):
        wanted = CUDA if device.kind == "gpu" else CANN
        if wanted not in session.get_providers():
            # onnxruntime fell back to CPU without saying so; polyhub says so.
            raise UnsupportedError(
                f"onnxruntime could not start {wanted} for {device} (the session got "
                f"{', '.join(session.get_providers())}); " + _describe_providers()
            )
    return session


def load_proto(path: Path, options: Mapping[str, Any] | None = None) -> Any:
    """An ``onnx.ModelProto`` for the model at ``path`` (external data checked, then loaded)."""
    kwargs = _split_options(options or {}, PROTO_OPTIONS, "onnx")
    check_external_data(path)
    import onnx

    return onnx.load(str(path), load_external_data=bool(kwargs.get("load_external_data", True)))

"""Run the README's three calls, as written, and one forward pass each.

Run by ``tests/test_readme_calls.py`` in a process of its own per
``PYTHONHASHSEED``, with ``POLYHUB_HOME`` (a fresh one: the cold path) and
``POLYHUB_MIRRORS`` (sending every real host to the loopback server) set::

    python run_calls.py MODELS_DIR

``MODELS_DIR`` holds the inputs made by ``make_models.py``. Each call runs on
its own, so one failing does not hide the others, and prints one JSON line:
``{"call", "ok", "error", "output", "warnings", "seconds"}``. A last line
``{"leaked": [...]}`` names the repositories' top-level modules left in
``sys.modules`` after all three.

Warnings are errors here, as under the test suite's ``filterwarnings=error``,
except the frameworks' own import-time noise (the same list the plugins' test
configurations ignore) and :class:`polyhub.PolyhubWarning`, which is recorded
and reported so the test can say which ones it expects.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# The frameworks' own noise at import, as in plugins/*/tests/conftest.py.
FRAMEWORK_NOISE = (
    ("ignore", "pkg_resources is deprecated as an API", UserWarning, ""),
    ("ignore", "invalid escape sequence", DeprecationWarning, ""),
    ("ignore", "Deprecated call to `pkg_resources.declare_namespace", DeprecationWarning, ""),
    ("ignore", "The value of the smallest subnormal", UserWarning, ""),
    ("ignore", "", DeprecationWarning, "mindspore"),
    ("ignore", r"getName\(\) is deprecated", DeprecationWarning, ""),
    ("ignore", "", DeprecationWarning, "onnx"),
    ("ignore", "", UserWarning, "mindspore"),
)


def megengine_call(models: Path) -> Any:
    import megengine
    import polyhub

    model = polyhub.load("megengine:megengine/models/resnet18", pretrained=True)
    model.eval()
    x = np.load(models / "resnet18.input.npy")
    return model(megengine.tensor(x)).numpy()


def mindspore_call(models: Path) -> Any:
    import mindspore
    import polyhub

    net = polyhub.load("mindspore:ascend/1.0/alexnet_v1_cifar10", num_classes=10)
    net.set_train(False)
    # Newer revisions of the real code take the card's NHWC image and normalise it
    # inside the network; older ones take it normalised and NCHW already.
    name = "alexnet.input.npy" if hasattr(net, "data_trans") else "alexnet.input_nchw.npy"
    return net(mindspore.Tensor(np.load(models / name))).asnumpy()


def onnx_call(models: Path) -> Any:
    import polyhub

    session = polyhub.load("onnx:mnist", opset=8)
    (port,) = session.get_inputs()
    return session.run(None, {port.name: np.load(models / "mnist.input.npy")})[0]


CALLS: dict[str, Callable[[Path], Any]] = {
    # The README's order.
    "onnx": onnx_call,
    "mindspore": mindspore_call,
    "megengine": megengine_call,
}


def run(name: str, models: Path) -> dict[str, Any]:
    from polyhub import PolyhubWarning

    started = time.perf_counter()
    result: dict[str, Any] = {"call": name, "ok": False, "error": None, "output": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")
        for action, message, category, module in FRAMEWORK_NOISE:
            warnings.filterwarnings(action, message, category, module)  # type: ignore[arg-type]
        warnings.simplefilter("always", PolyhubWarning)
        try:
            output = np.asarray(CALLS[name](models), dtype="float64")
            result.update(ok=True, output=output.tolist())
        except BaseException as exc:  # report it, whatever it is, and go on to the next call
            first = (str(exc).strip().splitlines() or [""])[0]
            result["error"] = f"{type(exc).__module__}.{type(exc).__qualname__}: {first}"
    result["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def main() -> None:
    models = Path(sys.argv[1])
    for name in CALLS:
        print(json.dumps(run(name, models)), flush=True)
    leaked = sorted(n for n in sys.modules if n.partition(".")[0] in ("official", "src"))
    print(json.dumps({"leaked": leaked}), flush=True)


if __name__ == "__main__":
    main()

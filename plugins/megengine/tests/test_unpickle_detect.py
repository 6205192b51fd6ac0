"""The allow-list unpickler, content-based format detection, and loading .pkl/.mge files."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import polyhub
import pytest
from polyhub import Device
from polyhub_megengine.detect import detect
from polyhub_megengine.runtime import load_pickle, load_traced
from polyhub_megengine.unpickle import load_weights_file


class _Canary:
    """Creates a file when unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (os.open, (self.path, os.O_CREAT | os.O_WRONLY))


class _Eval:
    def __reduce__(self) -> Any:
        return (eval, ("1 + 1",))


def _head(path: Path) -> bytes:
    return path.read_bytes()[:4096] if path.is_file() else b""


def test_state_dict_with_arrays_and_tensors_loads(mge: Any, tmp_path: Path, weights: Any) -> None:
    path = tmp_path / "w.pkl"
    path.write_bytes(weights.data)
    loaded = load_weights_file(path)
    assert list(loaded) == list(weights.arrays)
    for key, array in weights.arrays.items():
        np.testing.assert_array_equal(loaded[key], array)
    tensors = tmp_path / "t.pkl"
    mge.save({"t": mge.tensor([1.0, 2.0]), "p": mge.Parameter(np.ones(3, "float32"))}, str(tensors))
    got = load_weights_file(tensors, map_location="cpu0")
    assert isinstance(got["p"], mge.Parameter)
    np.testing.assert_array_equal(got["t"].numpy(), [1.0, 2.0])


@pytest.mark.parametrize("payload", ["canary", "eval"])
def test_malicious_pickle_is_refused_and_never_runs(mge: Any, tmp_path: Path, payload: str) -> None:
    canary = tmp_path / "PWNED"
    obj = {"fc1.weight": np.zeros(2), "x": _Canary(str(canary)) if payload == "canary" else _Eval()}
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(obj, protocol=4))
    assert detect(path, _head(path)) == "megengine-pickle"  # it looks like weights
    with pytest.raises(polyhub.UntrustedError) as err:
        load_weights_file(path)
    assert ("posix.open" if payload == "canary" else "builtins.eval") in str(err.value)
    assert "trust_pickles=True" in str(err.value)
    assert not canary.exists()


def test_trusted_pickle_loads_anything(mge: Any, tmp_path: Path) -> None:
    canary = tmp_path / "PWNED"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"x": _Canary(str(canary))}, protocol=4))
    loaded = load_weights_file(path, trusted=True)
    assert isinstance(loaded["x"], int) and canary.exists()
    os.close(loaded["x"])


def test_garbage_is_a_metadata_error(mge: Any, tmp_path: Path) -> None:
    path = tmp_path / "broken.pkl"
    path.write_bytes(pickle.dumps({"a": np.zeros(3)}, protocol=4)[:-20])
    with pytest.raises(polyhub.MetadataError) as err:
        load_weights_file(path)
    assert "broken.pkl" in str(err.value)


def _traced(mge: Any, tmp_path: Path) -> tuple[Path, Any, np.ndarray]:
    import megengine.functional as F
    import megengine.module as M
    from megengine.jit import trace

    net = M.Linear(4, 3)
    net.eval()

    @trace(symbolic=True, capture_as_const=True)
    def infer(x: Any) -> Any:
        return F.relu(net(x))

    data = np.arange(8, dtype="float32").reshape(2, 4) / 8
    expected = infer(mge.tensor(data)).numpy()
    path = tmp_path / "net.mge"
    with open(path, "wb") as f:  # dump(str) leaves its file handle open
        infer.dump(f, arg_names=["data"], output_names=["out"])
    return path, data, expected


def test_detects_real_files_by_content(mge: Any, tmp_path: Path, weights: Any) -> None:
    traced, _, _ = _traced(mge, tmp_path)
    renamed = tmp_path / "model.bin"
    renamed.write_bytes(traced.read_bytes())
    state = tmp_path / "weights.data"
    state.write_bytes(weights.data)
    assert detect(renamed, _head(renamed)) == "megengine-traced"
    assert detect(state, _head(state)) == "megengine-pickle"
    other = tmp_path / "plain.pkl"
    other.write_bytes(pickle.dumps([1, 2, 3]))
    text = tmp_path / "x.onnx"
    text.write_bytes(b"\x08\x07\x12\x04test")
    assert detect(other, _head(other)) is None
    assert detect(text, _head(text)) is None
    (tmp_path / "repo").mkdir()
    assert detect(tmp_path / "repo", b"") is None
    (tmp_path / "repo" / "hubconf.py").write_text("")
    assert detect(tmp_path / "repo", b"") == "megengine-hubconf"
    assert polyhub._api.detect_format(renamed) == "megengine-traced"


def test_runtime_loads_traced_and_pickled_files(mge: Any, tmp_path: Path, weights: Any) -> None:
    traced, data, expected = _traced(mge, tmp_path)
    graph = load_traced(traced, Device("cpu"))
    out = graph.run(inp_dict={"data": data})
    np.testing.assert_allclose(out["out"], expected, rtol=1e-6)
    path = tmp_path / "w.pkl"
    path.write_bytes(weights.data)
    state = load_pickle(path, Device("cpu"))
    np.testing.assert_array_equal(state["fc2.bias"], weights.arrays["fc2.bias"])
    with pytest.raises(polyhub.UnsupportedError) as err:
        load_pickle(path, Device("gpu", 7))
    assert "cpu" in str(err.value)

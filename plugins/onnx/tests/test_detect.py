"""Format detection by content: ONNX ModelProto yes; garbage, MindIR-like and other protobufs no."""

from __future__ import annotations

from pathlib import Path

import pytest
from polyhub._api import detect_format
from polyhub_onnx.demo import add_relu, tiny_mlp
from polyhub_onnx.detect import is_onnx_model


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def mindir_like() -> bytes:
    """A protobuf shaped like MindSpore's mind_ir.ModelProto: field 1 is a string."""
    graph = _field(1, b"node") + _field(2, b"main_graph")
    return _field(1, b"0.1.0") + _field(2, b"MindSpore") + _field(3, b"2.3.0") + _field(7, graph)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("maker", [tiny_mlp, add_relu])
@pytest.mark.parametrize("name", ["model.onnx", "blob", "model.mindir"])
def test_onnx_models_are_detected_whatever_their_name(tmp_path: Path, maker, name: str) -> None:
    path = write(tmp_path, name, maker().SerializeToString())
    assert is_onnx_model(path, path.read_bytes()[:4096])
    assert detect_format(path) == "onnx"


def test_a_large_model_is_detected_by_reading_only_its_top_level(tmp_path: Path) -> None:
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.zeros((1024, 1024), np.float32), "w")  # 4 MiB
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1024])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1024])],
        initializer=[weight],
    )
    path = write(tmp_path, "big", helper.make_model(graph).SerializeToString())
    assert detect_format(path) == "onnx"


def refusals() -> dict[str, bytes]:
    model = tiny_mlp().SerializeToString()
    import numpy as np
    from onnx import numpy_helper

    return {
        "empty": b"",
        "text": b"hello, this is not a model\n" * 10,
        "random": bytes(range(256)) * 16,
        "mindir-like": mindir_like(),
        "truncated onnx": model[: len(model) // 2],
        "onnx plus trailing bytes": model + b"\x00\x01\x02",
        "zip": b"PK\x03\x04" + b"\x00" * 100,
        "tensor proto (starts with 0x08 too)": numpy_helper.from_array(
            np.ones((2, 3), np.float32), "t"
        ).SerializeToString(),
        "ir_version only": b"\x08\x07",
        "absurd ir_version": b"\x08\xff\xff\x03" + model[2:],
    }


@pytest.mark.parametrize("case", sorted(refusals()))
def test_non_onnx_content_is_refused(tmp_path: Path, case: str) -> None:
    path = write(tmp_path, "model.onnx", refusals()[case])
    assert not is_onnx_model(path, path.read_bytes()[:4096])
    assert detect_format(path) != "onnx"


def test_a_folder_is_not_an_onnx_model(tmp_path: Path) -> None:
    assert not is_onnx_model(tmp_path, b"")

"""Tiny real ONNX models and a demo ONNX Model Hub built from them.

``polyhub demo`` calls :func:`build_demo` through the plugin's
``polyhub_demo_build`` hook; the tests reuse :func:`write_hub` and the model
makers to stand up hubs over loopback HTTP and in local folders. Models are
made with ``onnx.helper`` (real protobufs, a few hundred bytes), weights come
from a seeded generator, and :func:`evaluate` computes the reference output
with numpy alone, so a test can compare onnxruntime against it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polyhub import DemoCase

from .hubs import HUB_ENV, MANIFEST_NAME

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from onnx import ModelProto

__all__ = [
    "HubModel",
    "add_relu",
    "build_demo",
    "demo_models",
    "describe_outputs",
    "evaluate",
    "sample_inputs",
    "tiny_mlp",
    "write_hub",
]


def _finish(graph: Any, opset: int) -> ModelProto:
    from onnx import checker, helper

    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="polyhub-demo")
    # The lowest IR version that carries this opset, so older onnxruntime builds load it too.
    model.ir_version = helper.find_min_ir_version_for(opsets)
    checker.check_model(model)
    return model


def tiny_mlp(
    opset: int = 17, *, seed: int = 0, features: int = 4, hidden: int = 8, classes: int = 3
) -> ModelProto:
    """``y = relu(x @ W1 + b1) @ W2 + b2`` with seeded weights; ``x`` is ``float32[N, features]``."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weights = {
        "W1": rng.standard_normal((features, hidden)).astype(np.float32),
        "b1": rng.standard_normal(hidden).astype(np.float32),
        "W2": rng.standard_normal((hidden, classes)).astype(np.float32),
        "b2": rng.standard_normal(classes).astype(np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "W2"], ["h3"]),
        helper.make_node("Add", ["h3", "b2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", classes])],
        initializer=[numpy_helper.from_array(v, name=k) for k, v in weights.items()],
    )
    return _finish(graph, opset)


def add_relu(opset: int = 14, *, shape: Sequence[int] = (2, 3)) -> ModelProto:
    """``out = relu(a + b)`` over two ``float32`` inputs of ``shape``."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Relu", ["s"], ["out"])],
        "add_relu",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, list(shape)),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, list(shape)),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, list(shape))],
    )
    return _finish(graph, opset)


_NUMPY_OPS: dict[str, Callable[..., Any]] = {
    "MatMul": lambda a, b: a @ b,
    "Add": lambda a, b: a + b,
    "Relu": lambda a: a * (a > 0),
    "Identity": lambda a: a,
}


def evaluate(model: ModelProto, feeds: Mapping[str, NDArray[Any]]) -> list[NDArray[Any]]:
    """The model's outputs computed with numpy (for MatMul/Add/Relu/Identity graphs).

    The reference the tests compare onnxruntime with: independent of any runtime.
    """
    from onnx import numpy_helper

    values: dict[str, Any] = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    values.update(feeds)
    for node in model.graph.node:
        op = _NUMPY_OPS.get(node.op_type)
        if op is None:
            raise NotImplementedError(f"evaluate() has no numpy version of {node.op_type}")
        values[node.output[0]] = op(*(values[name] for name in node.input))
    return [values[o.name] for o in model.graph.output]


def _dims(value_info: Any, symbolic: int = 1) -> list[int]:
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else symbolic for d in dims]


def sample_inputs(model: ModelProto, *, seed: int = 1) -> dict[str, NDArray[Any]]:
    """Seeded float32 inputs for every graph input that is not an initializer (symbolic dims = 1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    init = {t.name for t in model.graph.initializer}
    return {
        i.name: rng.standard_normal(_dims(i)).astype(np.float32)
        for i in model.graph.input
        if i.name not in init
    }


def _ports(values: Any) -> list[dict[str, Any]]:
    from onnx import helper

    ports = []
    for v in values:
        tensor = v.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in tensor.shape.dim]
        kind = helper.tensor_dtype_to_np_dtype(tensor.elem_type).name
        onnx_kind = {"float32": "float", "float64": "double"}.get(kind, kind)
        ports.append({"name": v.name, "shape": shape, "type": f"tensor({onnx_kind})"})
    return ports


@dataclass(frozen=True)
class HubModel:
    """One model to publish in a hub: the manifest entry is derived from the model itself.

    :ivar data: write the ``model_with_data`` tarball (model + one test data set).
    :ivar entry_overrides: keys merged into the manifest entry's ``metadata``
        (tests use it to publish a wrong sha256, a hostile path...).
    """

    name: str
    model: ModelProto
    tags: tuple[str, ...] = ()
    data: bool = True
    entry_overrides: Mapping[str, Any] = field(default_factory=dict)
    onnx_version: str = "1.19"

    @property
    def opset(self) -> int:
        return int(next(o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")))

    @property
    def stem(self) -> str:
        return f"{self.name.lower().replace(' ', '-')}-{self.opset}"


def _tar_gz(members: Mapping[str, bytes]) -> bytes:
    """A reproducible ``.tar.gz`` (fixed mtimes and owners) of ``members``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folders = sorted(
            {"/".join(n.split("/")[:i]) for n in members for i in range(1, n.count("/") + 1)}
        )
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


def _test_data(item: HubModel, model_bytes: bytes) -> bytes:
    from onnx import numpy_helper

    feeds = sample_inputs(item.model)
    outputs = evaluate(item.model, feeds)
    members = {f"{item.stem}/model.onnx": model_bytes}
    for i, (name, value) in enumerate(feeds.items()):
        members[f"{item.stem}/test_data_set_0/input_{i}.pb"] = numpy_helper.from_array(
            value, name=name
        ).SerializeToString()
    for i, (out, value) in enumerate(zip(item.model.graph.output, outputs, strict=True)):
        members[f"{item.stem}/test_data_set_0/output_{i}.pb"] = numpy_helper.from_array(
            value, name=out.name
        ).SerializeToString()
    return _tar_gz(members)


def write_hub(
    directory: Path, models: Sequence[HubModel], *, prefix: str = "demo"
) -> list[dict[str, Any]]:
    """Write ``models`` and ``ONNX_HUB_MANIFEST.json`` under ``directory``; return the entries.

    Layout as the ONNX Model Zoo: ``<prefix>/<name>/model/<name>-<opset>.onnx``
    and the test-data tarball beside it, sha256 and sizes computed from the bytes.
    """
    entries = []
    for item in models:
        folder = f"{prefix}/{item.name.lower().replace(' ', '-')}/model"
        model_bytes = item.model.SerializeToString()
        model_path = f"{folder}/{item.stem}.onnx"
        (directory / folder).mkdir(parents=True, exist_ok=True)
        (directory / model_path).write_bytes(model_bytes)
        metadata: dict[str, Any] = {
            "model_sha": hashlib.sha256(model_bytes).hexdigest(),
            "model_bytes": len(model_bytes),
            "tags": list(item.tags),
            "io_ports": {
                "inputs": _ports(
                    i
                    for i in item.model.graph.input
                    if i.name not in {t.name for t in item.model.graph.initializer}
                ),
                "outputs": _ports(item.model.graph.output),
            },
        }
        if item.data:
            archive = _test_data(item, model_bytes)
            data_path = f"{folder}/{item.stem}.tar.gz"
            (directory / data_path).write_bytes(archive)
            metadata.update(
                model_with_data_path=data_path,
                model_with_data_sha=hashlib.sha256(archive).hexdigest(),
                model_with_data_bytes=len(archive),
            )
        metadata.update(item.entry_overrides)
        entries.append(
            {
                "model": item.name,
                "model_path": model_path,
                "onnx_version": item.onnx_version,
                "opset_version": item.opset,
                "metadata": metadata,
            }
        )
    (directory / MANIFEST_NAME).write_text(json.dumps(entries, indent=4) + "\n", encoding="utf-8")
    return entries


def demo_models() -> list[HubModel]:
    """The demo hub's models: ``tiny-mlp`` at opsets 13 and 17, ``add-relu`` at opset 14."""
    return [
        HubModel("tiny-mlp", tiny_mlp(13), ("demo", "tabular", "classification")),
        HubModel("tiny-mlp", tiny_mlp(17), ("demo", "tabular", "classification")),
        HubModel("add-relu", add_relu(14), ("demo", "elementwise")),
    ]


def describe_outputs(names: Sequence[str], values: Sequence[Any]) -> str:
    """One line: ``y float32[1, 3] = [0.12, -1.5, 3.0]``, per output."""
    parts = []
    for name, value in zip(names, values, strict=True):
        shown = ", ".join(f"{float(v):.4g}" for v in value.reshape(-1)[:6])
        more = ", ..." if value.size > 6 else ""
        parts.append(f"{name} {value.dtype}{list(value.shape)} = [{shown}{more}]")
    return "; ".join(parts)


def _run_session(session: Any) -> str:
    import numpy as np

    rng = np.random.default_rng(1)
    feeds = {
        i.name: rng.standard_normal([d if isinstance(d, int) else 1 for d in i.shape]).astype(
            np.float32
        )
        for i in session.get_inputs()
    }
    outputs = session.run(None, feeds)
    names = [o.name for o in session.get_outputs()]
    return f"ran {', '.join(feeds)} -> " + describe_outputs(names, outputs)


def build_demo(directory: Path) -> DemoCase:
    """Write the demo hub into ``directory`` and say what ``polyhub demo`` loads from it."""
    write_hub(directory, demo_models())
    return DemoCase(
        address="onnx:tiny-mlp",
        env={HUB_ENV: "{base_url}"},
        options={"device": "cpu"},
        run=_run_session,
        title="ONNX Model Hub",
    )

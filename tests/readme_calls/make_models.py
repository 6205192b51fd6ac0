"""Make the weights the README calls load, from the REAL networks, on CPU.

Run by ``tests/test_readme_calls.py`` once per test session, in its own process
(the repositories' top-level packages, ``official`` and ``src``, must not land in
the test process)::

    python make_models.py OUT MEGENGINE_MODELS_CHECKOUT ALEXNET_FOLDER

The real weight files are not available here, so each is made by the framework
from the network the real repository builds, with its initial (random) values:

* ``resnet18.pkl``: ``megengine.save`` of the state dict of ``resnet18()`` from
  MegEngine/Models (the function its hubconf exposes, undecorated), the layout
  ``@hub.pretrained`` feeds to ``load_state_dict``;
* ``alexnet.ckpt``: ``mindspore.save_checkpoint`` of ``AlexNet(num_classes=10)``
  from the MindSpore models repository;
* ``mnist.onnx``: an MNIST-shaped convolutional network written with ``onnx``
  (opset 8, the real model's input and output names and shapes, passed as JSON
  in ``MNIST_PORTS``).

Beside each it writes the input a test feeds and the output the network gives
for it (``*.input.npy``, ``*.expected.npy``), so a loaded model that computes
the same output provably holds these weights.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

SEED = 20260101


def make_megengine(out: Path, checkout: Path) -> None:
    import megengine

    sys.path.insert(0, str(checkout))
    from official.vision.classification.resnet import model  # type: ignore[import-not-found]

    net = model.resnet18.__wrapped__()  # the network without @hub.pretrained's download
    net.eval()
    megengine.save(net.state_dict(), str(out / "resnet18.pkl"))
    x = np.random.default_rng(SEED).standard_normal((1, 3, 224, 224)).astype("float32")
    np.save(out / "resnet18.input.npy", x)
    np.save(out / "resnet18.expected.npy", net(megengine.tensor(x)).numpy())
    sys.path.remove(str(checkout))


def make_mindspore(out: Path, folder: Path) -> None:
    import mindspore

    sys.path.insert(0, str(folder))
    from src.alexnet import AlexNet  # type: ignore[import-not-found]

    net = AlexNet(num_classes=10)
    net.set_train(False)
    mindspore.save_checkpoint(net, str(out / "alexnet.ckpt"))
    # The card's input: one 227x227 RGB image, NHWC, pixel values 0..255.
    x = np.random.default_rng(SEED).uniform(0, 255, (1, 227, 227, 3)).astype("float32")
    np.save(out / "alexnet.input.npy", x)
    # Older revisions of this code take the image already normalised and NCHW
    # (their DataNormTranspose is off by default): the same image, as they want it.
    if hasattr(net, "data_trans"):
        np.save(out / "alexnet.input_nchw.npy", net.data_trans(mindspore.Tensor(x)).asnumpy())
    np.save(out / "alexnet.expected.npy", net(mindspore.Tensor(x)).asnumpy())
    sys.path.remove(str(folder))


def make_onnx(out: Path, ports: dict[str, list[dict[str, object]]]) -> None:
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    (inp,), (outp,) = ports["inputs"], ports["outputs"]
    in_shape = [int(d) for d in inp["shape"]]  # type: ignore[union-attr]
    out_shape = [int(d) for d in outp["shape"]]  # type: ignore[union-attr]
    rng = np.random.default_rng(SEED)
    classes = out_shape[-1]
    weights = {
        "conv1_w": rng.standard_normal((8, in_shape[1], 5, 5)) * 0.2,
        "conv1_b": rng.standard_normal(8) * 0.1,
        "conv2_w": rng.standard_normal((16, 8, 5, 5)) * 0.1,
        "conv2_b": rng.standard_normal(16) * 0.1,
        "fc_w": rng.standard_normal((16 * 4 * 4, classes)) * 0.05,
        "fc_b": rng.standard_normal((1, classes)) * 0.1,
        "flat_shape": np.array([1, 16 * 4 * 4]),
    }
    inits = [
        numpy_helper.from_array(v.astype("int64" if k == "flat_shape" else "float32"), k)
        for k, v in weights.items()
    ]
    nodes = [
        helper.make_node("Conv", [inp["name"], "conv1_w", "conv1_b"], ["c1"], pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2_w", "conv2_b"], ["c2"], pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("MaxPool", ["r2"], ["p2"], kernel_shape=[3, 3], strides=[3, 3]),
        helper.make_node("Reshape", ["p2", "flat_shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "fc_w"], ["fc"]),
        helper.make_node("Add", ["fc", "fc_b"], [outp["name"]]),
    ]
    graph = helper.make_graph(
        nodes,
        "mnist",
        [helper.make_tensor_value_info(str(inp["name"]), TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info(str(outp["name"]), TensorProto.FLOAT, out_shape)],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 8)], producer_name="polyhub-tests"
    )
    model.ir_version = 4  # what an opset-8 exporter wrote (ONNX 1.3/1.4 era)
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    (out / "mnist.onnx").write_bytes(data)
    x = rng.standard_normal(in_shape).astype("float32")
    np.save(out / "mnist.input.npy", x)
    sess = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    np.save(out / "mnist.expected.npy", sess.run(None, {str(inp["name"]): x})[0])


def main() -> None:
    out, megengine_checkout, alexnet_folder = map(Path, sys.argv[1:4])
    out.mkdir(parents=True, exist_ok=True)
    make_onnx(out, json.loads(os.environ["MNIST_PORTS"]))
    make_megengine(out, megengine_checkout)
    make_mindspore(out, alexnet_folder)


if __name__ == "__main__":
    main()

"""The default hub as it really is today, served on 127.0.0.1 at the real hosts' paths.

* ``raw.githubusercontent.com/onnx/models/main/ONNX_HUB_MANIFEST.json``: the real
  manifest (``../shared/realdata/onnx-hub``);
* ``media.githubusercontent.com/media/onnx/models/main/<path>``: the real Git LFS
  pointer files of onnx/models (``repos/onnx-models-pointers.bundle``), which is
  what GitHub answers for every model path since the zoo's LFS downloads ended;
* ``huggingface.co/onnxmodelzoo/legacy_models/resolve/main/<path>``: the mirror
  the zoo's files moved to.

``POLYHUB_MIRRORS`` sends the real hosts to the loopback server, so polyhub runs
with the default hub unchanged.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import polyhub
import pytest
from onnx import TensorProto, helper, numpy_helper
from polyhub import DownloadError, HashMismatchError
from polyhub._lfs import GitLfsPointerError

MANIFEST_URL = "https://raw.githubusercontent.com/onnx/models/main/ONNX_HUB_MANIFEST.json"
HF = "https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main"
MEDIA = "https://media.githubusercontent.com/media/onnx/models"
MNIST_7 = "validated/vision/classification/mnist/model/mnist-7.onnx"
MNIST_8 = "validated/vision/classification/mnist/model/mnist-8.onnx"
PINNED = "b1eeaa1ac722dcc1cd1a8284bde34393dab61c3d"  # the bundle's main (SOURCES.md)


def mnist_shaped(size: int, seed: int = 8) -> tuple[onnx.ModelProto, np.ndarray, np.ndarray]:
    """An opset-8 model with MNIST's ports (``Input3`` [1,1,28,28] -> ``Plus214_Output_0`` [1,10]).

    ``Plus214_Output_0 = reshape(avgpool2x2(Input3), [1, 196]) @ W + b``, padded with a
    doc string to exactly ``size`` bytes; returns the model, W and b.
    """
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((196, 10)).astype(np.float32)
    bias = rng.standard_normal(10).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node(
                "AveragePool", ["Input3"], ["pooled"], kernel_shape=[2, 2], strides=[2, 2]
            ),
            helper.make_node("Reshape", ["pooled", "flat_shape"], ["flat"]),
            helper.make_node("MatMul", ["flat", "W"], ["logits"]),
            helper.make_node("Add", ["logits", "b"], ["Plus214_Output_0"]),
        ],
        "mnist_shaped",
        [helper.make_tensor_value_info("Input3", TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info("Plus214_Output_0", TensorProto.FLOAT, [1, 10])],
        initializer=[
            numpy_helper.from_array(np.array([1, 196], dtype=np.int64), "flat_shape"),
            numpy_helper.from_array(weight, "W"),
            numpy_helper.from_array(bias, "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 8)])
    model.ir_version = 4  # initializers need not be graph inputs from IR 4 on
    pad = size - model.ByteSize() - 4  # field tag and a two- or three-byte length
    while model.ByteSize() != size:
        model.doc_string = "x" * pad
        pad += size - model.ByteSize()
    onnx.checker.check_model(model)
    return model, weight, bias


def mnist_reference(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    pooled = x.reshape(1, 1, 14, 2, 14, 2).mean(axis=(3, 5))
    return pooled.reshape(1, 196) @ weight + bias


@dataclass
class Zoo:
    """The served hosts, the requests they answered, and the served model's weights."""

    hubs: Any
    requests: list[str]
    weight: np.ndarray
    bias: np.ndarray


@pytest.fixture
def zoo(realhubs: Any, realdata: Path, onnx_models: Path, monkeypatch: pytest.MonkeyPatch) -> Zoo:
    """The real hosts as they are since 2025-07-01, with one MNIST-shaped model on the mirror.

    The real mnist bytes are not here (only their LFS pointers are), so the mirror
    serves a model built with onnx that has mnist's ports and the real file's size
    (26,454 bytes), and the served copy of the real manifest changes one value: the
    opset-8 MNIST entry's ``model_sha`` (``model_bytes`` is set too, to the same
    number), to describe those bytes. Everything else, the 183 other entries
    included, is the real file.
    """
    entries = json.loads((realdata / "onnx-hub" / "ONNX_HUB_MANIFEST.json").read_bytes())
    (entry,) = [e for e in entries if e["model_path"] == MNIST_8]
    model, weight, bias = mnist_shaped(entry["metadata"]["model_bytes"])
    model_bytes = model.SerializeToString()
    entry["metadata"]["model_sha"] = hashlib.sha256(model_bytes).hexdigest()
    entry["metadata"]["model_bytes"] = len(model_bytes)
    realhubs.put(MANIFEST_URL, json.dumps(entries, indent=4).encode())
    realhubs.put(f"{HF}/{MNIST_8}", model_bytes)
    realhubs.serve_onnx_pointers()
    monkeypatch.setenv("POLYHUB_MIRRORS", realhubs.mirrors)
    return Zoo(realhubs, realhubs.requests, weight, bias)


def _media_requests(requests: list[str]) -> list[str]:
    return [r for r in requests if r.startswith("/media.githubusercontent.com/")]


def _no_files_left(home: Path) -> None:
    left = [p for p in home.rglob("*") if p.name.endswith((".tmp", ".part"))]
    assert left == []
    assert not (home / "blobs").exists() or not any((home / "blobs").rglob("*.onnx"))


def test_default_hub_loads_mnist_from_the_mirror(zoo: Zoo, polyhub_home: Path) -> None:
    start = len(zoo.requests)
    session = polyhub.load("onnx:mnist", opset=8)
    x = np.random.default_rng(1).standard_normal((1, 1, 28, 28)).astype(np.float32)
    (out,) = session.run(None, {"Input3": x})
    want = mnist_reference(x, zoo.weight, zoo.bias)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)
    served = zoo.requests[start:]
    assert "/raw.githubusercontent.com/onnx/models/main/ONNX_HUB_MANIFEST.json" in served
    assert f"/huggingface.co/onnxmodelzoo/legacy_models/resolve/main/{MNIST_8}" in served
    assert _media_requests(served) == []


def test_a_real_lfs_pointer_is_named_at_once(
    zoo: Zoo, polyhub_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files from GitHub's media host (as onnx.hub did) get the real pointer of mnist-7."""
    monkeypatch.setenv("POLYHUB_ONNX_FILES", "github")
    polyhub.info("onnx:mnist", opset=7)  # the manifest, parsed once, is not what is timed
    start = len(zoo.requests)
    began = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        polyhub.load("onnx:mnist", opset=7)
    took = time.monotonic() - began
    assert took < 1.0, f"{took:.2f}s"
    assert isinstance(caught.value, GitLfsPointerError)
    assert caught.value.pointer.size == 26454
    text = str(caught.value)
    assert "Git LFS pointer" in text
    assert f"/media.githubusercontent.com/media/onnx/models/main/{MNIST_7}" in text
    assert "sha256:0d715376572e89832685c56a65ef1391f5f0b7dd31d61050c91ff3ecab16c032" in text
    assert "size 26454" in text
    assert "huggingface.co/onnxmodelzoo/legacy_models" in text  # where the file really is
    assert _media_requests(zoo.requests[start:]) == [
        f"/media.githubusercontent.com/media/onnx/models/main/{MNIST_7}"
    ]
    _no_files_left(polyhub_home)


def test_a_pointer_from_the_mirror_or_a_folder_hub_says_where_it_came_from(
    zoo: Zoo, onnx_models: Path, polyhub_home: Path
) -> None:
    """The hint fits the host that answered: never 'use the mirror' when the mirror answered."""
    zoo.hubs.put(f"{HF}/{MNIST_7}", (onnx_models / MNIST_7).read_bytes())
    with pytest.raises(GitLfsPointerError) as caught:
        polyhub.load("onnx:mnist", opset=7)
    text = str(caught.value)
    assert f"/huggingface.co/onnxmodelzoo/legacy_models/resolve/main/{MNIST_7}" in text
    assert "mirror does not hold this file" in text
    assert "to 'huggingface'" not in text
    # A work tree of onnx/models checked out without Git LFS, used as a folder hub.
    with pytest.raises(GitLfsPointerError) as caught:
        polyhub.load("onnx:mnist", opset=8, hub=str(onnx_models))
    assert "git lfs pull" in str(caught.value)
    _no_files_left(polyhub_home)


def test_another_github_hub_keeps_the_media_host(
    zoo: Zoo, onnx_models: Path, polyhub_home: Path
) -> None:
    """A fork without LFS objects: its files come from the media host, whose pointer is named."""
    zoo.hubs.put(
        "https://raw.githubusercontent.com/zoo-fork/models/main/ONNX_HUB_MANIFEST.json",
        (onnx_models / "ONNX_HUB_MANIFEST.json").read_bytes(),
    )
    zoo.hubs.put(
        f"https://media.githubusercontent.com/media/zoo-fork/models/main/{MNIST_8}",
        (onnx_models / MNIST_8).read_bytes(),
    )
    with pytest.raises(DownloadError, match="Git LFS pointer") as caught:
        polyhub.load("onnx:mnist", opset=8, hub="zoo-fork/models")
    assert "zoo-fork/models/main" in str(caught.value)
    _no_files_left(polyhub_home)


def test_a_pinned_commit_reads_its_manifest_there_and_its_files_on_the_mirror(
    zoo: Zoo, polyhub_home: Path
) -> None:
    """At the commit the real manifest says mnist-8 is the zoo's real file, not the one served.

    The mirror holds main only, so the manifest of the pinned commit decides:
    its sha256 is not the served bytes', and the error says why.
    """
    zoo.hubs.put(
        f"https://raw.githubusercontent.com/onnx/models/{PINNED}/ONNX_HUB_MANIFEST.json",
        (zoo.hubs.data / "onnx-hub" / "ONNX_HUB_MANIFEST.json").read_bytes(),
    )
    start = len(zoo.requests)
    with pytest.raises(HashMismatchError, match="holds the files of onnx/models main"):
        polyhub.load(f"onnx:mnist@{PINNED}", opset=8)
    served = zoo.requests[start:]
    assert f"/raw.githubusercontent.com/onnx/models/{PINNED}/ONNX_HUB_MANIFEST.json" in served
    assert f"/huggingface.co/onnxmodelzoo/legacy_models/resolve/main/{MNIST_8}" in served
    assert _media_requests(served) == []
    _no_files_left(polyhub_home)

"""Every call of onnx.hub's own documentation, made on the shim against the real manifest.

onnx's ``docs/Hub.md`` (onnx v1.20.1, the last release with ``onnx.hub``) documents
``from onnx import hub`` and then ``hub.load("resnet50")``, ``hub.load(..., repo=
"onnx/models:<commit>")``, ``hub.list_models()`` (all, ``model="mnist"``,
``tags=["vision"]``), ``print(hub.get_model_info(model="mnist", opset=8))``,
``hub.set_dir(...)``, ``print(hub.get_dir())`` and ``hub.load(..., force_reload=True)``;
``download_model_with_test_data`` and ``load_composite_model`` are documented in
``onnx/hub.py``'s docstrings. Each test below makes the same call (written here,
the document is not copied) on :mod:`polyhub_onnx.compat.hub` with its default
repository, against the REAL manifest of onnx/models served at its real raw URL
and the model files at the zoo's Hugging Face mirror paths, on loopback through
``POLYHUB_MIRRORS``.

The zoo's real model bytes are not here (only Git LFS pointers), so three served
files are made here with onnx and the served copy of the manifest describes them
(their entries' ``model_sha``/``model_bytes``, ``model_with_data_sha``/``_bytes``;
nothing else changes): ``ResNet50`` (opset 7, the real entry's ports
``data`` [N,3,224,224] -> ``resnetv17_dense0_fwd`` [N,1000]), ``ResNet-preproc``
(opset 18, output ``preproc_data``; its input is a plain uint8 batch, not the real
sequence type) and MNIST opset 8's test-data tarball.

Where the installed onnx still ships ``onnx.hub`` (< 1.21; its code is v1.20.1's),
the listing and info calls are also made on it, on the same served hosts, and must
give the same text; its ``load`` meets the real LFS pointer and fails its own hash
check, which is the first row of the differences table in ``docs/onnx.md``.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import polyhub
import pytest
from onnx import TensorProto, helper, numpy_helper
from polyhub_onnx.compat import hub

MANIFEST_URL = "https://raw.githubusercontent.com/onnx/models/main/ONNX_HUB_MANIFEST.json"
HF = "https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main"
PINNED = "b1eeaa1ac722dcc1cd1a8284bde34393dab61c3d"  # the commit the real manifest is from


def resnet50_shaped(seed: int = 50) -> tuple[onnx.ModelProto, np.ndarray, np.ndarray]:
    """Opset 7: ``resnetv17_dense0_fwd = flatten(globalavgpool(data)) @ W.T + b``."""
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((1000, 3)).astype(np.float32)
    bias = rng.standard_normal(1000).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["data"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("Gemm", ["flat", "W", "b"], ["resnetv17_dense0_fwd"], transB=1),
        ],
        "resnet50_shaped",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("resnetv17_dense0_fwd", TensorProto.FLOAT, ["N", 1000])],
        initializer=[numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 7)])
    model.ir_version = 4
    onnx.checker.check_model(model)
    return model, weight, bias


def preproc_shaped() -> onnx.ModelProto:
    """Opset 18: uint8 NHWC images -> ``preproc_data`` float NCHW in [0, 1]."""
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["images"], ["f"], to=TensorProto.FLOAT),
            helper.make_node("Transpose", ["f"], ["nchw"], perm=[0, 3, 1, 2]),
            helper.make_node("Div", ["nchw", "scale"], ["preproc_data"]),
        ],
        "preproc_shaped",
        [helper.make_tensor_value_info("images", TensorProto.UINT8, ["B", 224, 224, 3])],
        [helper.make_tensor_value_info("preproc_data", TensorProto.FLOAT, ["B", 3, 224, 224])],
        initializer=[numpy_helper.from_array(np.array(255.0, dtype=np.float32), "scale")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def mnist_test_data(model_bytes: bytes) -> bytes:
    """A tarball laid out as the zoo's: ``mnist/model.onnx`` and ``mnist/test_data_set_0/``."""
    x = np.random.default_rng(8).standard_normal((1, 1, 28, 28)).astype(np.float32)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (
            ("mnist/model.onnx", model_bytes),
            ("mnist/test_data_set_0/input_0.pb", numpy_helper.from_array(x).SerializeToString()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@dataclass
class Served:
    entries: list[dict[str, Any]]
    resnet: tuple[onnx.ModelProto, np.ndarray, np.ndarray]
    requests: list[str]


@pytest.fixture
def served(realhubs: Any, realdata: Path, monkeypatch: pytest.MonkeyPatch) -> Served:
    entries = json.loads((realdata / "onnx-hub" / "ONNX_HUB_MANIFEST.json").read_bytes())

    def publish(entry: dict[str, Any], data: bytes, *, with_data: bool = False) -> None:
        key = "model_with_data" if with_data else "model"
        path = entry["metadata"]["model_with_data_path"] if with_data else entry["model_path"]
        entry["metadata"][f"{key}_sha"] = hashlib.sha256(data).hexdigest()
        entry["metadata"][f"{key}_bytes"] = len(data)
        realhubs.put(f"{HF}/{path}", data)

    by_path = {e["model_path"]: e for e in entries}
    resnet = resnet50_shaped()
    publish(
        by_path["validated/vision/classification/resnet/model/resnet50-v1-7.onnx"],
        resnet[0].SerializeToString(),
    )
    publish(
        by_path["validated/vision/classification/resnet/preproc/resnet-preproc-v1-18.onnx"],
        preproc_shaped().SerializeToString(),
    )
    mnist = by_path["validated/vision/classification/mnist/model/mnist-8.onnx"]
    publish(mnist, mnist_test_data(b"mnist-8 stand-in"), with_data=True)
    text = json.dumps(entries, indent=4).encode()
    realhubs.put(MANIFEST_URL, text)
    realhubs.put(MANIFEST_URL.replace("/main/", f"/{PINNED}/"), text)
    monkeypatch.setenv("POLYHUB_MIRRORS", realhubs.mirrors)
    return Served(entries, resnet, realhubs.requests)


def _resnet_out(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return x.mean(axis=(2, 3)) @ weight.T + bias


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return np.asarray(session.run(None, feeds)[0])


def test_load_by_name(served: Served) -> None:
    """``model = hub.load("resnet50")``: the zoo's latest opset of that name."""
    start = len(served.requests)
    model = hub.load("resnet50")
    assert isinstance(model, onnx.ModelProto)
    assert model.opset_import[0].version == 7
    x = np.random.default_rng(1).standard_normal((2, 3, 224, 224)).astype(np.float32)
    _, weight, bias = served.resnet
    np.testing.assert_allclose(
        _run(model, {"data": x}), _resnet_out(x, weight, bias), rtol=1e-4, atol=1e-4
    )
    assert (
        "/huggingface.co/onnxmodelzoo/legacy_models/resolve/main/validated/vision/"
        "classification/resnet/model/resnet50-v1-7.onnx" in served.requests[start:]
    )


def test_load_from_a_pinned_commit(served: Served) -> None:
    """``hub.load("resnet50", repo="onnx/models:<commit>")`` (the document's commit is not in
    the data here; the real manifest's own commit is)."""
    start = len(served.requests)
    model = hub.load("resnet50", repo=f"onnx/models:{PINNED}")
    assert isinstance(model, onnx.ModelProto) and model.graph.name == "resnet50_shaped"
    assert (
        f"/raw.githubusercontent.com/onnx/models/{PINNED}/ONNX_HUB_MANIFEST.json"
        in served.requests[start:]
    )


def test_listing_calls(served: Served) -> None:
    """``hub.list_models()``, ``(model="mnist")`` and ``(tags=["vision"])``."""
    all_models = hub.list_models()
    assert len(all_models) == len(served.entries) == 184
    assert {(m.model, m.opset) for m in all_models} == {
        (e["model"], e["opset_version"]) for e in served.entries
    }
    mnist_models = hub.list_models(model="mnist")
    assert sorted(m.opset for m in mnist_models) == sorted(
        e["opset_version"] for e in served.entries if e["model"].lower() == "mnist"
    )
    vision_models = hub.list_models(tags=["vision"])
    assert len(vision_models) == sum("vision" in e["metadata"]["tags"] for e in served.entries)
    assert all("vision" in m.tags for m in vision_models)


def test_print_model_info(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    """``print(hub.get_model_info(model="mnist", opset=8))`` prints upstream's ModelInfo form."""
    print(hub.get_model_info(model="mnist", opset=8))
    out = capsys.readouterr().out
    (entry,) = [e for e in served.entries if e["model"] == "MNIST" and e["opset_version"] == 8]
    assert out.startswith("ModelInfo(model=MNIST, opset=8, path=" + entry["model_path"])
    assert entry["metadata"]["model_sha"] in out and "'io_ports'" in out
    try:  # onnx.hub itself, where this onnx still ships it: the same text
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from onnx import hub as upstream
    except ImportError:
        return
    assert out == f"{upstream.ModelInfo(entry)}\n"


def test_set_dir_get_dir_and_force_reload(
    served: Served,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``hub.set_dir("my/cache/directory")``, ``print(hub.get_dir())``, and
    ``hub.load("resnet50", force_reload=True)`` downloading again into it."""
    monkeypatch.chdir(tmp_path)
    try:
        hub.set_dir("my/cache/directory")
        print(hub.get_dir())
        assert capsys.readouterr().out == "my/cache/directory\n"  # as onnx.hub prints it
        hub.load("resnet50")
        start = len(served.requests)
        hub.load("resnet50")  # cached: no model download
        assert not [r for r in served.requests[start:] if r.endswith(".onnx")]
        model = hub.load("resnet50", force_reload=True)
        assert [r for r in served.requests[start:] if r.endswith("resnet50-v1-7.onnx")]
        assert model.graph.name == "resnet50_shaped"
        assert any((tmp_path / "my" / "cache" / "directory").rglob("*"))
    finally:
        polyhub.set_dir(None)


def test_download_model_with_test_data(served: Served) -> None:
    """``hub.download_model_with_test_data("mnist", opset=8)``: the extracted model folder."""
    folder = Path(hub.download_model_with_test_data("mnist", opset=8) or "")
    assert folder.name == "mnist"
    assert (folder / "model.onnx").read_bytes() == b"mnist-8 stand-in"
    tensor = onnx.load_tensor(str(folder / "test_data_set_0" / "input_0.pb"))
    assert numpy_helper.to_array(tensor).shape == (1, 1, 28, 28)


def test_load_composite_model(served: Served) -> None:
    """``hub.load_composite_model("ResNet50", "ResNet-preproc")``: preprocessing merged in
    front of the network, the network's opset raised to the preprocessing model's (18)."""
    composite = hub.load_composite_model("ResNet50", "ResNet-preproc")
    assert {o.domain: o.version for o in composite.opset_import}[""] == 18
    assert [i.name for i in composite.graph.input] == ["images"]
    images = np.random.default_rng(2).integers(0, 256, (1, 224, 224, 3), dtype=np.uint8)
    x = images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    _, weight, bias = served.resnet
    np.testing.assert_allclose(
        _run(composite, {"images": images}), _resnet_out(x, weight, bias), rtol=1e-4, atol=1e-4
    )


# -- side by side with onnx.hub itself, where this onnx still ships it --------------------


@pytest.fixture
def upstream(
    served: Served, realhubs: Any, realdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """``onnx.hub`` (onnx < 1.21) reaching the same served hosts: urllib's opener sends the
    real hosts to loopback, as ``POLYHUB_MIRRORS`` does for polyhub. The media host serves
    the real Git LFS pointers of onnx/models, which is what GitHub answers today."""
    import subprocess
    import urllib.request

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from onnx import hub as onnx_hub
    except ImportError:
        pytest.skip("this onnx no longer ships onnx.hub (removed in 1.21)")
    media = realhubs.local_path("https://media.githubusercontent.com/media/onnx/models/main/x")
    # Every pointer, not just the folder: the session-wide server may hold one pointer
    # there already (tests/test_readme_calls.py puts mnist-8's), and a skipped copy left
    # the others as 404s.
    if not (media.parent / "validated" / "vision" / "classification" / "resnet").exists():
        work = tmp_path / "onnx-models"
        bundle = realdata / "repos" / "onnx-models-pointers.bundle"
        subprocess.run(
            ["git", "clone", "--quiet", "--branch", "main", str(bundle), str(work)],
            check=True,
            capture_output=True,
        )
        shutil.copytree(work / "validated", media.parent / "validated", dirs_exist_ok=True)
    base = realhubs.base

    class Mirror(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> Any:
            return urllib.request.urlopen(req.full_url.replace("https://", f"{base}/", 1))

    monkeypatch.setattr(urllib.request, "_opener", urllib.request.build_opener(Mirror()))
    monkeypatch.setattr(onnx_hub, "_ONNX_HUB_DIR", str(tmp_path / "onnx-hub-cache"))
    return onnx_hub


def test_listing_and_info_are_upstreams(upstream: Any, capsys: pytest.CaptureFixture[str]) -> None:
    for call in (
        lambda h: h.list_models(),
        lambda h: h.list_models(model="mnist"),
        lambda h: h.list_models(tags=["vision"]),
        lambda h: [h.get_model_info(model="mnist", opset=8)],
        lambda h: [h.get_model_info(model="resnet50")],
    ):
        theirs, ours = call(upstream), call(hub)
        assert [str(i) for i in ours] == [str(i) for i in theirs]
        assert [i.tags for i in ours] == [i.tags for i in theirs]


def test_load_gets_the_model_where_upstream_gets_a_pointer(served: Served, upstream: Any) -> None:
    """The differences table's first row: onnx.hub reads the LFS pointer GitHub serves and
    fails its sha256 check; the shim reads the zoo's mirror."""
    with pytest.raises(AssertionError, match="SHA256"):
        upstream.load("resnet50")
    assert hub.load("resnet50").graph.name == "resnet50_shaped"

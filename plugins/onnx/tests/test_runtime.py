"""The onnxruntime runtime: devices, providers, session options, and external-data checks (X4)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polyhub
import pytest
from polyhub import Device, MetadataError, UnsafeArchiveError, UnsupportedError
from polyhub_onnx import runtime
from polyhub_onnx.demo import evaluate, sample_inputs, tiny_mlp
from polyhub_onnx.external import check_external_data, external_refs


def cuda_works() -> bool:
    return runtime.provider_works(runtime.CUDA)


def test_devices_list_cpu_last_and_only_working_providers() -> None:
    devices = runtime.devices()
    assert devices[-1] == Device("cpu")
    assert (Device("gpu", 0) in devices) == cuda_works()
    # The hook answers the same through the plugin manager.
    from polyhub._plugins import default_plugins

    assert default_plugins().hook.polyhub_runtime_devices(runtime="onnxruntime") == devices
    assert default_plugins().hook.polyhub_runtime_devices(runtime="onnx") == [Device("cpu")]


@pytest.mark.skipif(cuda_works(), reason="this machine has a working CUDA provider")
def test_gpu_without_cuda_names_the_providers_that_exist(hub_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(tiny_mlp().SerializeToString())
    with pytest.raises(UnsupportedError) as info:
        runtime.load_session(path, Device("gpu", 0))
    message = str(info.value)
    assert "CPUExecutionProvider" in message and "CUDAExecutionProvider" in message
    with pytest.raises(UnsupportedError, match="gpu"):
        polyhub.load("onnx:tiny-mlp", hub=str(hub_dir), device="gpu")


def test_auto_picks_the_best_working_device(hub_dir: Path) -> None:
    session = polyhub.load("onnx:tiny-mlp", hub=str(hub_dir))
    expected = "CUDAExecutionProvider" if cuda_works() else "CPUExecutionProvider"
    assert session.get_providers()[0] == expected


def test_session_options_pass_through(hub_dir: Path) -> None:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    session = polyhub.load(
        "onnx:tiny-mlp",
        hub=str(hub_dir),
        device="cpu",
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )
    assert session.get_session_options().intra_op_num_threads == 1
    model = tiny_mlp(17)
    feeds = sample_inputs(model)
    assert np.allclose(session.run(None, feeds)[0], evaluate(model, feeds)[0], atol=1e-5)
    with pytest.raises(UnsupportedError, match="no option 'colour'"):
        polyhub.load("onnx:tiny-mlp", hub=str(hub_dir), device="cpu", colour="red")


def test_providers_from_the_command_line_and_unknown_names(hub_dir: Path) -> None:
    # -O providers=CPUExecutionProvider arrives as one string; it used to be iterated into
    # one provider per character, onnxruntime printed "EP Error" and fell back to CPU.
    session = polyhub.load(
        "onnx:tiny-mlp", hub=str(hub_dir), device="cpu", providers="CPUExecutionProvider"
    )
    assert session.get_providers() == ["CPUExecutionProvider"]
    with pytest.raises(UnsupportedError, match="does not list NoSuchExecutionProvider"):
        polyhub.load("onnx:tiny-mlp", hub=str(hub_dir), providers=["NoSuchExecutionProvider"])
    with pytest.raises(UnsupportedError, match="no provider given"):
        polyhub.load("onnx:tiny-mlp", hub=str(hub_dir), providers=" , ")


def test_both_onnxruntime_flavours_installed_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 'pip install polyhub-onnx[gpu]' next to onnxruntime installs both without a word;
    # they overwrite one package. A second distribution's metadata on sys.path is what
    # such an environment has.
    from importlib import metadata

    present = {n for n in ("onnxruntime", "onnxruntime-gpu") if _installed(n)}
    assert len(present) == 1, present  # the test environment has one flavour
    other = ({"onnxruntime", "onnxruntime-gpu"} - present).pop()
    info = tmp_path / f"{other.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {other}\nVersion: 1.0\n")
    assert runtime.two_flavours() is None
    monkeypatch.syspath_prepend(str(tmp_path))
    assert metadata.version(other) == "1.0"
    message = runtime.two_flavours()
    assert message is not None and f"{other} 1.0" in message and "pip uninstall" in message
    monkeypatch.setattr(runtime, "_flavours_checked", False)
    model = tmp_path / "m.onnx"
    model.write_bytes(tiny_mlp().SerializeToString())
    with pytest.warns(polyhub.PolyhubWarning, match="both"):
        runtime.load_session(model, Device("cpu"))


def _installed(name: str) -> bool:
    from importlib import metadata

    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_works(), reason="no working CUDA provider (CUDA 12 + cuDNN 9 + a GPU)")
def test_gpu_session_runs_on_cuda_and_matches_numpy(hub_dir: Path) -> None:
    session = polyhub.load("onnx:tiny-mlp", hub=str(hub_dir), device="gpu:0")
    assert "CUDAExecutionProvider" in session.get_providers()
    model = tiny_mlp(17)
    feeds = sample_inputs(model)
    assert np.allclose(session.run(None, feeds)[0], evaluate(model, feeds)[0], atol=1e-4)


# -- external data (research/reliability-security.md X4) --------------------------------------


def save_with_external_data(folder: Path, location: str = "weights.bin") -> Path:
    """Save tiny_mlp with every initializer in ``folder/weights.bin``, then point them at ``location``."""
    import onnx

    folder.mkdir(parents=True, exist_ok=True)
    model = tiny_mlp(17)
    path = folder / "model.onnx"
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    proto = onnx.load(str(path), load_external_data=False)
    for tensor in proto.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save_model(proto, str(path))
    return path


def test_valid_external_data_loads_and_runs(tmp_path: Path) -> None:
    path = save_with_external_data(tmp_path / "ok")
    refs = check_external_data(path)
    assert {r.location for r in refs} == {"weights.bin"} and len(refs) == 4
    session = runtime.load_session(path, Device("cpu"))
    model = tiny_mlp(17)
    feeds = sample_inputs(model)
    assert np.allclose(session.run(None, feeds)[0], evaluate(model, feeds)[0], atol=1e-5)
    proto = runtime.load_proto(path)
    assert proto.graph.initializer[0].raw_data  # loaded, not just referenced


def test_models_without_external_data_have_no_references(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(tiny_mlp().SerializeToString())
    assert external_refs(path) == []


def _escape_outside(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    # A perfectly loadable weights file outside the model folder: were the check
    # missing, onnxruntime would read it and the load would succeed.
    ok = save_with_external_data(tmp_path / "source")
    (outside / "weights.bin").write_bytes((ok.parent / "weights.bin").read_bytes())
    return outside


@pytest.mark.parametrize(
    "location",
    [
        "../outside/weights.bin",
        "sub/../../outside/weights.bin",
        "ABSOLUTE",
        "linked/weights.bin",
        "a\\..\\b",
    ],
)
@pytest.mark.parametrize("loader", ["session", "proto"])
def test_escaping_external_data_is_refused_before_loading(
    tmp_path: Path, location: str, loader: str
) -> None:
    outside = _escape_outside(tmp_path)
    if location == "ABSOLUTE":
        location = str(outside / "weights.bin")
    path = save_with_external_data(tmp_path / "model", location)
    (tmp_path / "model" / "sub").mkdir()
    os.symlink(outside, tmp_path / "model" / "linked")
    (tmp_path / "model" / "weights.bin").unlink()
    with pytest.raises(UnsafeArchiveError, match="refused before loading"):
        if loader == "session":
            runtime.load_session(path, Device("cpu"))
        else:
            runtime.load_proto(path)


def test_a_sparse_initializer_escaping_is_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    values = helper.make_tensor("sv", TensorProto.FLOAT, [2], [1.0, 2.0])
    values.data_location = TensorProto.EXTERNAL
    values.ClearField("float_data")
    for key, value in (("location", "../x"), ("offset", "0"), ("length", "8")):
        entry = values.external_data.add()
        entry.key, entry.value = key, value
    indices = helper.make_tensor("si", TensorProto.INT64, [2], [0, 3])
    sparse = helper.make_sparse_tensor(values, indices, [4])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["s"], ["y"])],
        "g",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        sparse_initializer=[sparse],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (tmp_path / "m").mkdir()
    (tmp_path / "x").write_bytes(b"\0" * 8)
    path = tmp_path / "m" / "model.onnx"
    onnx.save_model(model, str(path))
    (ref,) = external_refs(path)
    assert (ref.tensor, ref.location, ref.length) == ("sv", "../x", 8)
    with pytest.raises(UnsafeArchiveError, match=r"'\.\.'"):
        runtime.load_session(path, Device("cpu"))


def test_external_data_out_of_range_or_missing(tmp_path: Path) -> None:
    import onnx

    path = save_with_external_data(tmp_path / "m")
    proto = onnx.load(str(path), load_external_data=False)
    for entry in proto.graph.initializer[0].external_data:
        if entry.key == "length":
            entry.value = str(10**9)
    onnx.save_model(proto, str(path))
    with pytest.raises(MetadataError, match=r"external_data\.length"):
        runtime.load_session(path, Device("cpu"))
    (tmp_path / "m" / "weights.bin").unlink()
    with pytest.raises(MetadataError, match="not in"):
        runtime.load_session(path, Device("cpu"))


def _constant_with_external_value(tmp_path: Path, location: str) -> Path:
    """A model whose only tensor is a Constant node's value, stored externally at ``location``."""
    import onnx
    from onnx import TensorProto, helper

    value = helper.make_tensor("c", TensorProto.FLOAT, [2], [0.0, 0.0])
    value.ClearField("float_data")
    value.data_location = TensorProto.EXTERNAL
    entry = value.external_data.add()
    entry.key, entry.value = "location", location
    graph = helper.make_graph(
        [helper.make_node("Constant", [], ["y"], value=value)],
        "g",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    (tmp_path / "m").mkdir()
    (tmp_path / "x").write_bytes(b"\0" * 8)
    path = tmp_path / "m" / "model.onnx"
    onnx.save_model(model, str(path))
    return path


def test_a_node_attribute_escaping_is_refused(tmp_path: Path) -> None:
    path = _constant_with_external_value(tmp_path, "../x")
    assert [r.location for r in external_refs(path)] == ["../x"]
    with pytest.raises(UnsafeArchiveError, match="refused before loading"):
        runtime.load_session(path, Device("cpu"))


def test_a_non_minimal_varint_cannot_hide_the_location_key(tmp_path: Path) -> None:
    path = _constant_with_external_value(tmp_path, "../x")
    data = path.read_bytes()
    # Re-encode the key's length 8 as the two-byte varint 0x88 0x00, which protobuf
    # parsers accept; the message lengths around it grow by one byte each.
    old = b"\x0a\x08location"
    assert data.count(old) == 1
    patched = _grow_enclosing_lengths(data, data.index(old), old, b"\x0a\x88\x00location")
    assert len(patched) > len(data) and old not in patched
    path.write_bytes(patched)
    import onnx

    reparsed = onnx.load_from_string(patched)
    (entry,) = reparsed.graph.node[0].attribute[0].t.external_data
    assert (entry.key, entry.value) == ("location", "../x")
    assert [r.location for r in external_refs(path)] == ["../x"]


def _grow_enclosing_lengths(data: bytes, at: int, old: bytes, new: bytes) -> bytes:
    """Replace ``old`` at ``at`` by ``new`` and fix the lengths of every enclosing message."""
    from polyhub_onnx.detect import read_varint

    def encode(n: int) -> bytes:
        out = bytearray()
        while True:
            byte, n = n & 0x7F, n >> 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    def rewrite(start: int, end: int) -> bytes:
        out = bytearray()
        pos = start
        while pos < end:
            if pos == at:
                out += new
                pos += len(old)
                continue
            tag, after_tag = read_varint(data, pos)
            wire = tag & 7
            if wire == 0:
                _, nxt = read_varint(data, after_tag)
                out += data[pos:nxt]
            elif wire == 2:
                length, body = read_varint(data, after_tag)
                stop = body + length
                if body <= at < stop:
                    inner = rewrite(body, stop)
                    out += data[pos:after_tag] + encode(len(inner)) + inner
                else:
                    out += data[pos:stop]
                nxt = stop
            elif wire == 5:
                nxt = after_tag + 4
                out += data[pos:nxt]
            else:
                nxt = after_tag + 8
                out += data[pos:nxt]
            pos = nxt
        return bytes(out)

    return rewrite(0, len(data))

"""The plugin as the core sees it: registration, light imports, validate, and the demo hub."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polyhub
import pytest
from onnx import TensorProto, numpy_helper
from polyhub._plugins import default_plugins
from polyhub_onnx.demo import build_demo, demo_models, evaluate, sample_inputs, tiny_mlp
from polyhub_onnx.manifest import validate_manifest


def test_importing_the_plugin_imports_no_framework() -> None:
    code = (
        "import sys, polyhub, polyhub_onnx.plugin\n"
        "from polyhub._plugins import default_plugins\n"
        "default_plugins()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'onnxruntime', 'numpy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_registration() -> None:
    plugins = default_plugins()
    (record,) = [r for r in plugins.records if r.name == "onnx"]
    assert record.sources == ("onnx",) and record.formats == ("onnx",)
    assert record.runtimes == ("onnx", "onnxruntime")
    source = plugins.sources["onnx"]
    assert source.options == ("hub", "opset") and source.hub_env == "POLYHUB_ONNX_HUB"
    assert plugins.runtimes["onnxruntime"].default and not plugins.runtimes["onnx"].default
    assert set(plugins.runtimes["onnxruntime"].devices) == {"cpu", "gpu", "ascend"}


def test_validate_through_the_api(hub_dir: Path, tmp_path: Path) -> None:
    assert polyhub.validate(hub_dir) == []
    assert polyhub.validate(hub_dir / "ONNX_HUB_MANIFEST.json") == []
    entries = json.loads((hub_dir / "ONNX_HUB_MANIFEST.json").read_text())
    entries[2]["metadata"]["model_bytes"] = "many"
    other = tmp_path / "my-hub.json"
    other.write_text(json.dumps(entries, indent=2))
    (problem,) = polyhub.validate(other)
    assert (problem.file, problem.field) == (str(other), "metadata.model_bytes")
    assert "#2 'add-relu'" in problem.message
    lines = other.read_text().splitlines()
    assert lines[problem.line - 1].strip() == "{"
    assert lines[problem.line].strip() == '"model": "add-relu",'


def test_demo_hub_is_consistent_and_its_test_data_matches_numpy(tmp_path: Path) -> None:
    case = build_demo(tmp_path)
    assert case.address == "onnx:tiny-mlp" and case.title == "ONNX Model Hub"
    assert case.env == {"POLYHUB_ONNX_HUB": "{base_url}"} and case.options == {"device": "cpu"}
    assert validate_manifest(tmp_path / "ONNX_HUB_MANIFEST.json") == []
    entries = json.loads((tmp_path / "ONNX_HUB_MANIFEST.json").read_text())
    assert [(e["model"], e["opset_version"]) for e in entries] == [
        (m.name, m.opset) for m in demo_models()
    ]
    import tarfile

    with tarfile.open(tmp_path / entries[1]["metadata"]["model_with_data_path"]) as tar:

        def tensor(name: str) -> np.ndarray:
            proto = TensorProto()
            member = tar.extractfile(f"tiny-mlp-17/test_data_set_0/{name}")
            assert member is not None
            proto.ParseFromString(member.read())
            return numpy_helper.to_array(proto)

        (want,) = evaluate(tiny_mlp(17), {"x": tensor("input_0.pb")})
        assert np.array_equal(tensor("output_0.pb"), want)


def test_demo_case_loads_and_runs_over_loopback(tmp_path: Path, serve, monkeypatch) -> None:
    from polyhub_onnx import plugin

    case = plugin.polyhub_demo_build(tmp_path)
    assert case is not None
    server = serve(tmp_path)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value.replace("{base_url}", server.base_url))
    model = polyhub.load(case.address, **case.options)
    line = case.run(model)
    (want,) = evaluate(tiny_mlp(17), sample_inputs(tiny_mlp(17)))
    assert line.startswith("ran x -> y float32[1, 3] = [")
    assert line.endswith(", ".join(f"{float(v):.4g}" for v in want.reshape(-1)) + "]")


@pytest.mark.parametrize("opset", [13, 17])
def test_demo_models_pass_the_onnx_checker(opset: int) -> None:
    import onnx

    onnx.checker.check_model(tiny_mlp(opset), full_check=True)

"""The conformance kit on polyhub-onnx: hooks, the ``onnx:`` source, the format, both runtimes.

The hub is the plugin's own demo hub (``polyhub_onnx.demo.write_hub``) served
on 127.0.0.1; reference outputs come from the demo's numpy evaluator, which is
independent of onnxruntime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polyhub_onnx.plugin
import pytest
from polyhub_conformance import (
    FormatCapabilities,
    FormatSuite,
    HooksSuite,
    RuntimeCapabilities,
    RuntimeSample,
    RuntimeSuite,
    SourceCapabilities,
    SourceSuite,
)
from polyhub_onnx.demo import demo_models, evaluate, sample_inputs, tiny_mlp, write_hub


@pytest.fixture
def polyhub_plugin() -> object:
    return polyhub_onnx.plugin


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "samples" / "tiny-mlp.onnx"
    path.parent.mkdir(parents=True)
    path.write_bytes(tiny_mlp(17).SerializeToString())
    return path


class TestOnnxHooks(HooksSuite):
    pass


class TestOnnxSource(SourceSuite):
    @pytest.fixture
    def source_capabilities(self) -> SourceCapabilities:
        return SourceCapabilities(scheme="onnx")

    @pytest.fixture
    def hub_env(self, tmp_path: Path, serve_directory: Any) -> dict[str, str]:
        hub = tmp_path / "hub"
        hub.mkdir()
        write_hub(hub, demo_models())
        return {"POLYHUB_ONNX_HUB": serve_directory(hub).url}

    @pytest.fixture
    def sample_address(self) -> str:
        return "onnx:tiny-mlp"


class TestOnnxFormat(FormatSuite):
    @pytest.fixture
    def format_capabilities(self) -> FormatCapabilities:
        return FormatCapabilities(formats=("onnx",))

    @pytest.fixture
    def format_samples(self, model_file: Path) -> dict[str, Path]:
        return {"onnx": model_file}


def _sample(model_file: Path, run: Any) -> RuntimeSample:
    model = tiny_mlp(17)
    feeds = sample_inputs(model)
    return RuntimeSample(
        path=model_file, format="onnx", run=run, inputs=feeds, expected=evaluate(model, feeds)
    )


class TestOnnxRuntime(RuntimeSuite):
    """``onnxruntime``: an InferenceSession."""

    @pytest.fixture
    def runtime_capabilities(self) -> RuntimeCapabilities:
        return RuntimeCapabilities(
            runtime="onnxruntime", formats=("onnx",), devices=("cpu", "gpu", "ascend")
        )

    @pytest.fixture
    def runtime_sample(self, model_file: Path) -> RuntimeSample:
        return _sample(model_file, lambda session, feeds: session.run(None, feeds))


class TestOnnxProtoRuntime(RuntimeSuite):
    """``onnx``: the bare ModelProto (``runtime="onnx"``), evaluated with numpy."""

    @pytest.fixture
    def runtime_capabilities(self) -> RuntimeCapabilities:
        return RuntimeCapabilities(runtime="onnx", formats=("onnx",), devices=("cpu",))

    @pytest.fixture
    def runtime_sample(self, model_file: Path) -> RuntimeSample:
        return _sample(model_file, evaluate)

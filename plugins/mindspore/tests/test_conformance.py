"""The conformance kit on polyhub-mindspore: hooks, the ``mindspore:`` source, formats, runtime.

The hub is the plugin's own demo hub (``polyhub_mindspore.demo.build_demo``:
a card and a MindIR) served on 127.0.0.1 with the mirror the demo declares.
The runtime's reference output is computed with numpy from the checkpoint's
parameters, independently of the MindIR graph the runtime loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polyhub_mindspore.plugin
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
from polyhub_mindspore.demo import build_demo, make_tiny_models


@pytest.fixture
def polyhub_plugin() -> object:
    return polyhub_mindspore.plugin


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """CKPT and MINDIR of the tiny network (made once: MindSpore takes seconds)."""
    return make_tiny_models(tmp_path_factory.mktemp("tiny"), formats=("ckpt", "mindir"))


class TestMindSporeHooks(HooksSuite):
    pass


class TestMindSporeSource(SourceSuite):
    """The hub served over HTTP: cards are read by URL, which cannot be listed."""

    @pytest.fixture
    def source_capabilities(self) -> SourceCapabilities:
        return SourceCapabilities(scheme="mindspore", lists_models=False)

    @pytest.fixture
    def demo(self, tmp_path: Path, serve_directory: Any) -> tuple[Any, dict[str, str]]:
        hub = tmp_path / "hub"
        hub.mkdir()
        case = build_demo(hub)
        url = serve_directory(hub).url
        env = {
            k: v.replace("{base_url}", url).replace("{directory}", str(hub))
            for k, v in case.env.items()
        }
        return case, env

    @pytest.fixture
    def hub_env(self, demo: tuple[Any, dict[str, str]]) -> dict[str, str]:
        return demo[1]

    @pytest.fixture
    def sample_address(self, demo: tuple[Any, dict[str, str]]) -> str:
        return str(demo[0].address)


class TestMindSporeFolderSource(TestMindSporeSource):
    """The hub as a local checkout (so it lists), its files still downloaded over HTTP."""

    @pytest.fixture
    def source_capabilities(self) -> SourceCapabilities:
        return SourceCapabilities(scheme="mindspore", lists_models=True)

    @pytest.fixture
    def hub_env(self, demo: tuple[Any, dict[str, str]], tmp_path: Path) -> dict[str, str]:
        return {**demo[1], "POLYHUB_MINDSPORE_HUB": str(tmp_path / "hub")}


class TestMindSporeFormat(FormatSuite):
    @pytest.fixture
    def format_capabilities(self) -> FormatCapabilities:
        return FormatCapabilities(formats=("ckpt", "mindir", "air", "mslite"))

    @pytest.fixture
    def format_samples(self, tiny_models: dict[str, Path]) -> dict[str, Path]:
        return {"ckpt": tiny_models["ckpt"], "mindir": tiny_models["mindir"]}


class TestMindSporeRuntime(RuntimeSuite):
    @pytest.fixture
    def runtime_capabilities(self) -> RuntimeCapabilities:
        from polyhub_mindspore.card import CODE_KIND

        return RuntimeCapabilities(
            runtime="mindspore",
            formats=("ckpt", "mindir", CODE_KIND),
            devices=("cpu", "gpu", "ascend"),
        )

    @pytest.fixture
    def runtime_sample(self, tiny_models: dict[str, Path]) -> RuntimeSample:
        import mindspore
        import numpy as np

        params = mindspore.load_checkpoint(str(tiny_models["ckpt"]))
        weight = params["fc.weight"].asnumpy()
        bias = params["fc.bias"].asnumpy()
        x = np.arange(4, dtype=np.float32).reshape(1, 4)

        def run(model: Any, inputs: Any) -> Any:
            return model(mindspore.Tensor(inputs)).asnumpy()

        return RuntimeSample(
            path=tiny_models["mindir"],
            format="mindir",
            run=run,
            inputs=x,
            expected=x @ weight.T + bias,
        )

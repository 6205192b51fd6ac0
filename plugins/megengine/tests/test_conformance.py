"""The conformance kit on polyhub-megengine: hooks, the ``megengine:`` source, formats, runtime.

The hub is the plugin's own demo (``polyhub_megengine.demo.build_demo``): a
bare git repository with a ``hubconf.py`` whose ``@hub.pretrained`` weights
are served on 127.0.0.1. MegEngine cards are code-only (the weights are named
by the code), so the source runs with ``downloads_assets=False``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polyhub_megengine.plugin
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
from polyhub_megengine.demo import build_demo


@pytest.fixture
def polyhub_plugin() -> object:
    return polyhub_megengine.plugin


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The demo repository and weights (built once: MegEngine takes seconds to import)."""
    directory = tmp_path_factory.mktemp("megengine-demo")
    return directory, build_demo(directory)


class TestMegEngineHooks(HooksSuite):
    pass


class TestMegEngineSource(SourceSuite):
    @pytest.fixture
    def source_capabilities(self) -> SourceCapabilities:
        # file:// git repositories: no socket is needed to reach the hub itself.
        return SourceCapabilities(
            scheme="megengine", revisions=True, network=False, downloads_assets=False
        )

    @pytest.fixture
    def hub_env(self, demo_dir: tuple[Path, Any], serve_directory: Any) -> dict[str, str]:
        directory, case = demo_dir
        url = serve_directory(directory).url
        repo = case.address.removeprefix("megengine:").rsplit("/", 1)[0]
        return {
            **{k: v.replace("{base_url}", url) for k, v in case.env.items()},
            "POLYHUB_TRUSTED_REPOS": repo,
            "POLYHUB_MEGENGINE_HUB": repo,
        }

    @pytest.fixture
    def sample_address(self, demo_dir: tuple[Path, Any]) -> str:
        return f"{demo_dir[1].address}?pretrained=true"


class TestMegEngineFormat(FormatSuite):
    @pytest.fixture
    def format_capabilities(self) -> FormatCapabilities:
        from polyhub_megengine import detect

        # A megengine.save file is a pickle: the kit's plain pickle sample is one too.
        return FormatCapabilities(
            formats=(detect.HUBCONF, detect.PICKLE, detect.TRACED), also_accepts=("pickle",)
        )

    @pytest.fixture
    def format_samples(self, demo_dir: tuple[Path, Any]) -> dict[str, Path]:
        from polyhub_megengine import detect

        directory, _case = demo_dir
        return {
            detect.PICKLE: directory / "weights" / "tinynet.pkl",
            detect.HUBCONF: directory / "src" / "models",
        }


class TestMegEngineRuntime(RuntimeSuite):
    @pytest.fixture
    def runtime_capabilities(self) -> RuntimeCapabilities:
        from polyhub_megengine import detect

        return RuntimeCapabilities(
            runtime="megengine",
            formats=(detect.HUBCONF, detect.PICKLE, detect.TRACED),
            devices=("cpu", "gpu"),
        )

    @pytest.fixture
    def runtime_sample(self, demo_dir: tuple[Path, Any]) -> RuntimeSample:
        import pickle

        from polyhub_megengine import detect

        directory, _case = demo_dir
        path = directory / "weights" / "tinynet.pkl"
        # A .pkl loads as a state dict; the reference is the same dict read independently.
        with open(path, "rb") as f:
            expected = pickle.load(f)  # our own file, written by build_demo

        def run(state: Any, keys: list[str]) -> list[Any]:
            return [state[k] for k in keys]

        keys = sorted(expected)
        return RuntimeSample(
            path=path,
            format=detect.PICKLE,
            run=run,
            inputs=keys,
            expected=[expected[k] for k in keys],
        )

"""polyhub-folder runs the polyhub conformance kit: this file is all its CI needs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polyhub_folder.plugin
import pytest
import yaml
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

W = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
B = np.array([0.5, -0.5, 1.0], dtype=np.float32)


def write_npz(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, W=W, b=B)
    return path


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    npz = write_npz(root / "linear.npz")
    entry = {
        "name": "linear",
        "file": "linear.npz",
        "sha256": hashlib.sha256(npz.read_bytes()).hexdigest(),
        "format": "npz",
        "summary": "a 4 -> 3 linear layer",
    }
    (root / "index.yaml").write_text(yaml.safe_dump({"models": [entry]}))
    return root


@pytest.fixture
def polyhub_plugin() -> object:
    # One module holds every hook: it stands for hooks_, source_, format_ and runtime_plugin.
    return polyhub_folder.plugin


class TestFolderHooks(HooksSuite):
    pass


class TestFolderSource(SourceSuite):
    @pytest.fixture
    def source_capabilities(self) -> SourceCapabilities:
        return SourceCapabilities(scheme="folder", network=False)

    @pytest.fixture
    def hub_env(self, hub: Path) -> dict[str, str]:
        return {"POLYHUB_FOLDER_HUB": str(hub)}

    @pytest.fixture
    def sample_address(self) -> str:
        return "folder:linear"


class TestFolderFormat(FormatSuite):
    @pytest.fixture
    def format_capabilities(self) -> FormatCapabilities:
        return FormatCapabilities(formats=("npz",))

    @pytest.fixture
    def format_samples(self, tmp_path: Path) -> dict[str, Path]:
        return {"npz": write_npz(tmp_path / "sample.npz")}


class TestFolderRuntime(RuntimeSuite):
    @pytest.fixture
    def runtime_capabilities(self) -> RuntimeCapabilities:
        return RuntimeCapabilities(runtime="numpy", formats=("npz",), devices=("cpu",))

    @pytest.fixture
    def runtime_sample(self, tmp_path: Path) -> RuntimeSample:
        x = np.ones((2, 4), dtype=np.float32)
        return RuntimeSample(
            path=write_npz(tmp_path / "model.npz"),
            format="npz",
            run=lambda model, inputs: model(inputs),
            inputs=x,
            expected=x @ W + B,
        )

"""The conformance kit on polyhub-oci: hooks and the ``oci:`` source, against a real registry.

The sample is the ONNX demo hub's ``add-relu`` pushed (from another home) to the
session's registry; the ONNX plugin is a companion so the sample loads.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polyhub_oci.plugin
import polyhub_onnx.plugin
import pytest
from polyhub_conformance import HooksSuite, SourceCapabilities, SourceSuite
from polyhub_conformance.harness import tamper_bytes

from .conftest import Registry


@pytest.fixture
def polyhub_plugin() -> object:
    return polyhub_oci.plugin


class TestOciHooks(HooksSuite):
    pass


@pytest.fixture(scope="module")
def pushed(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Push ``onnx:add-relu`` once, from a home of its own; return the repository."""
    import os

    from polyhub._config import read_config
    from polyhub._demo import serve_directory
    from polyhub._plugins import default_plugins
    from polyhub._publish import push
    from polyhub_onnx.demo import demo_models, write_hub

    root = tmp_path_factory.mktemp("conformance-onnx-hub")
    write_hub(root, demo_models())
    repo = f"{registry.host}/conformance/add-relu"
    with serve_directory(root) as url:
        old = os.environ.get("POLYHUB_ONNX_HUB")
        os.environ["POLYHUB_ONNX_HUB"] = url
        try:
            config = read_config().with_(home=tmp_path_factory.mktemp("pusher-home"))
            push("onnx:add-relu", f"oci://{repo}:v1", context=default_plugins().context(config))
        finally:
            if old is None:
                os.environ.pop("POLYHUB_ONNX_HUB", None)
            else:
                os.environ["POLYHUB_ONNX_HUB"] = old
    return repo


class TestOciSource(SourceSuite):
    @pytest.fixture
    def source_capabilities(self) -> SourceCapabilities:
        return SourceCapabilities(scheme="oci", revisions=True)

    @pytest.fixture
    def companion_plugins(self) -> tuple[object, ...]:
        return (polyhub_onnx.plugin,)

    @pytest.fixture
    def hub_env(self, pushed: str) -> dict[str, str]:
        # list_models("oci") with no filter lists this repository.
        return {"POLYHUB_REGISTRY": f"oci://{pushed}"}

    @pytest.fixture
    def sample_address(self, pushed: str) -> str:
        return f"oci:{pushed}:v1"

    @pytest.fixture
    def tamper(self, registry: Registry) -> Iterator[Any]:
        """Corrupt the registry's stored blob of an asset; restore it afterwards."""
        saved: list[tuple[Path, bytes]] = []

        def corrupt(asset: Any) -> None:
            path = registry.blob_data(str(asset.sha256))
            saved.append((path, tamper_bytes(path)))

        yield corrupt
        for path, data in saved:
            path.write_bytes(data)

"""The oci plugin keeps its manifests in its own storage folder of the home, nothing elsewhere."""

from __future__ import annotations

from pathlib import Path

import polyhub
from polyhub.plugins import default_plugins
from polyhub.publish import push

from .conftest import Hub, Registry

# The top-level entries of a home the core writes (see polyhub.cache's layout).
CORE_OWNED = {
    "CACHEDIR.TAG", "blobs", "stat", "tmp", "locks", "urls", "index", "extracted", "git",
    "views", "names", "trusted_repos", "bundles",
}  # fmt: skip


def test_push_list_and_load_write_only_core_folders_and_plugin_storage(
    registry: Registry, onnx_hub: Hub, tmp_path: Path
) -> None:
    push("onnx:tiny-mlp?opset=17", f"oci://{registry.host}/layout/tiny:v17")
    reader = tmp_path / "reader"
    polyhub.set_dir(reader)
    assert polyhub.list_models("oci", repository=f"oci://{registry.host}/layout/tiny")
    model = polyhub.load(f"oci:{registry.host}/layout/tiny:v17", device="cpu")
    assert model is not None
    assert list((reader / "plugins" / "oci" / "manifests").iterdir())
    assert not (reader / "oci").exists()
    plugins = default_plugins()
    names = {*plugins.sources, *plugins.runtimes}
    for path in reader.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            continue
        rel = path.relative_to(reader).parts
        if rel[0] == "plugins":
            assert len(rel) > 2 and rel[1] in names, path
        else:
            assert rel[0] in CORE_OWNED, path

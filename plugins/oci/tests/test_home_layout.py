"""The oci plugin keeps its manifests in its own storage folder of the home, nothing elsewhere."""

from __future__ import annotations

from pathlib import Path

import polyhub
from polyhub._plugins import default_plugins
from polyhub._publish import push

from .conftest import Hub, Registry

# The top-level entries of a home the core writes (see polyhub._cache's layout).
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


def test_a_bundle_of_an_older_polyhub_merges_its_oci_manifests_into_storage(
    registry: Registry, onnx_hub: Hub, tmp_path: Path, monkeypatch
) -> None:
    import tarfile

    from polyhub._cli import main

    address = f"oci:{registry.host}/layout/old:v1"
    push("onnx:tiny-mlp?opset=17", f"oci://{registry.host}/layout/old:v1")
    lock = tmp_path / "polyhub.lock"
    assert main(["lock", address, "-o", str(lock)]) == 0
    bundle = tmp_path / "new.tar"
    assert main(["bundle", str(lock), "-o", str(bundle)]) == 0
    # The same bundle as polyhub wrote it before plugin storage: manifests under oci/.
    old = tmp_path / "old.tar"
    with tarfile.open(bundle) as src, tarfile.open(old, "w") as dst:
        names = src.getnames()
        assert any(n.startswith("plugins/oci/manifests/") for n in names)
        for member in src.getmembers():
            data = src.extractfile(member) if member.isfile() else None
            if member.name.startswith("plugins/oci"):
                member.name = member.name.removeprefix("plugins/")
            dst.addfile(member, data)
    polyhub.set_dir(tmp_path / "airgap")
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    assert main(["unbundle", str(old)]) == 0
    assert list((tmp_path / "airgap" / "plugins" / "oci" / "manifests").iterdir())
    assert not (tmp_path / "airgap" / "oci").exists()
    assert polyhub.info(address).assets


def test_a_home_of_an_older_polyhub_keeps_answering_offline(
    registry: Registry, onnx_hub: Hub, polyhub_home: Path, monkeypatch
) -> None:
    address = f"oci:{registry.host}/layout/upgraded:v1"
    push("onnx:tiny-mlp?opset=17", f"oci://{registry.host}/layout/upgraded:v1")
    card = polyhub.info(address)
    # The home as an older polyhub left it: the manifests under <home>/oci/.
    (polyhub_home / "plugins" / "oci").rename(polyhub_home / "oci")
    (polyhub_home / "plugins").rmdir()
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    assert polyhub.info(address).assets == card.assets
    assert not (polyhub_home / "oci").exists()
    assert list((polyhub_home / "plugins" / "oci" / "tags").iterdir())


def test_a_pushed_card_keeps_the_prefix_its_hub_published(
    registry: Registry, mindspore_hub: tuple[Path, Path]
) -> None:
    hub, _ = mindspore_hub
    card_file = next(hub.rglob("tiny_ckpt.md"))
    text = card_file.read_text(encoding="utf-8")
    full = polyhub.info(f"mindspore:mindspore/2.10/tiny_ckpt?hub={hub}").assets[0].sha256
    assert full is not None
    card_file.write_text(text.replace(full, full[:8]), encoding="utf-8")
    address = f"mindspore:mindspore/2.10/tiny_ckpt?hub={hub}"
    assert polyhub.info(address).assets[0].sha256_prefix == full[:8]
    push(address, f"oci://{registry.host}/layout/prefixed:v1")
    (asset,) = polyhub.info(f"oci:{registry.host}/layout/prefixed:v1").assets
    assert asset.sha256 == full and asset.sha256_prefix == full[:8]

"""Hub specs: GitHub owner/name[:ref], base URLs, folders, and the URLs built from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from polyhub import UnsupportedError
from polyhub_onnx.hubs import parse_hub


def test_default_hub_is_onnx_models_main() -> None:
    hub = parse_hub(None)
    assert (hub.kind, hub.owner, hub.name, hub.ref) == ("github", "onnx", "models", "main")
    assert hub.is_default
    assert (
        hub.manifest_url
        == "https://raw.githubusercontent.com/onnx/models/main/ONNX_HUB_MANIFEST.json"
    )
    assert (
        hub.file_url("validated/vision/classification/mnist/model/mnist-8.onnx")
        == "https://media.githubusercontent.com/media/onnx/models/main/validated/vision/classification/mnist/model/mnist-8.onnx"
    )


def test_github_ref_and_revision_pin() -> None:
    hub = parse_hub("acme/zoo:v1.2")
    assert (hub.owner, hub.name, hub.ref) == ("acme", "zoo", "v1.2")
    assert not hub.is_default
    pinned = hub.at("0123abcd")
    assert pinned.ref == "0123abcd"
    assert (
        pinned.manifest_url
        == "https://raw.githubusercontent.com/acme/zoo/0123abcd/ONNX_HUB_MANIFEST.json"
    )
    assert hub.at(None) is hub


@pytest.mark.parametrize("ref", ["a..b", "x y", "-flag", "a:b"])
def test_bad_refs_are_refused(ref: str) -> None:
    with pytest.raises(UnsupportedError):
        parse_hub("acme/zoo").at(ref)


def test_base_url_hub() -> None:
    hub = parse_hub("http://127.0.0.1:8000/hubs/onnx/")
    assert hub.kind == "url"
    assert hub.manifest_url == "http://127.0.0.1:8000/hubs/onnx/ONNX_HUB_MANIFEST.json"
    assert hub.file_url("a b/m.onnx") == "http://127.0.0.1:8000/hubs/onnx/a%20b/m.onnx"
    with pytest.raises(UnsupportedError, match="only a GitHub hub"):
        hub.at("main")


def test_folder_hubs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = parse_hub(str(tmp_path))
    assert hub.kind == "local" and hub.base == str(tmp_path)
    assert hub.manifest_url == str(tmp_path / "ONNX_HUB_MANIFEST.json")
    assert hub.file_url("a/b.onnx") == str(tmp_path / "a" / "b.onnx")
    assert parse_hub(tmp_path.as_uri()).base == str(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    assert parse_hub("./sub").base == str(tmp_path / "sub")
    assert parse_hub("sub").kind == "local"  # not owner/name, and a folder exists


def test_text_that_is_no_hub_is_refused() -> None:
    with pytest.raises(UnsupportedError, match="owner/name"):
        parse_hub("not a hub at all")

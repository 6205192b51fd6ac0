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
    # GitHub serves only Git LFS pointers for the zoo since 2025-07-01: files come from its mirror.
    assert (
        hub.file_url("validated/vision/classification/mnist/model/mnist-8.onnx")
        == "https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main/validated/vision/classification/mnist/model/mnist-8.onnx"
    )


MNIST = "validated/vision/classification/mnist/model/mnist-8.onnx"


def test_file_hosts_by_repository_and_ref(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLYHUB_ONNX_FILES", raising=False)
    pinned = parse_hub(None).at("b1eeaa1")
    # The mirror holds main, and a commit of onnx/models has the same paths: the
    # manifest's sha256 (at that commit) decides whether the bytes are right.
    assert pinned.file_url(MNIST).startswith(
        "https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main/validated/"
    )
    assert pinned.manifest_url == (
        "https://raw.githubusercontent.com/onnx/models/b1eeaa1/ONNX_HUB_MANIFEST.json"
    )
    other = parse_hub("acme/zoo:v1")
    assert other.file_url("m/a b.onnx") == (
        "https://media.githubusercontent.com/media/acme/zoo/v1/m/a%20b.onnx"
    )
    assert not other.files_from_mirror and pinned.files_from_mirror


@pytest.mark.parametrize(
    ("choice", "default_hub", "other_hub"),
    [
        (
            "auto",
            "https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main/",
            "https://media.githubusercontent.com/media/acme/zoo/main/",
        ),
        (
            "github",
            "https://media.githubusercontent.com/media/onnx/models/main/",
            "https://media.githubusercontent.com/media/acme/zoo/main/",
        ),
        (
            "huggingface",
            "https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main/",
            "https://huggingface.co/onnxmodelzoo/legacy_models/resolve/main/",
        ),
        (
            "https://models.example/zoo/",
            "https://models.example/zoo/",
            "https://models.example/zoo/",
        ),
    ],
)
def test_files_env_picks_the_file_host(
    monkeypatch: pytest.MonkeyPatch, choice: str, default_hub: str, other_hub: str
) -> None:
    monkeypatch.setenv("POLYHUB_ONNX_FILES", choice)
    assert parse_hub(None).file_url(MNIST) == default_hub + MNIST
    assert parse_hub("acme/zoo").file_url(MNIST) == other_hub + MNIST
    # The manifest stays on GitHub whatever the file host.
    assert parse_hub(None).manifest_url.startswith("https://raw.githubusercontent.com/onnx/")


@pytest.mark.parametrize("choice", ["hf", "ftp://x/y", "/srv/zoo", "https://"])
def test_a_bad_files_env_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, choice: str) -> None:
    monkeypatch.setenv("POLYHUB_ONNX_FILES", choice)
    with pytest.raises(UnsupportedError, match="POLYHUB_ONNX_FILES"):
        parse_hub(None).file_url(MNIST)


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

"""The ``onnx:`` source through the public API: listing, info, addresses, hubs, downloads, offline."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polyhub
import pytest
from polyhub import (
    HashMismatchError,
    MetadataError,
    ModelNotFoundError,
    OfflineError,
    RevisionNotFoundError,
)
from polyhub._api import download
from polyhub_onnx.demo import HubModel, add_relu, evaluate, sample_inputs, tiny_mlp

REAL = json.loads((Path(__file__).parent / "data" / "ONNX_HUB_MANIFEST.json").read_text())


def blobs(home: Path) -> list[Path]:
    root = home / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# -- real data -----------------------------------------------------------------


def test_real_manifest_listing_counts(real_hub: Path, polyhub_home: Path) -> None:
    hub = str(real_hub)
    assert len(polyhub.list_models("onnx", hub=hub)) == 184
    assert len(polyhub.list_models("onnx", hub=hub, tags=["vision"])) == 172
    assert len(polyhub.list_models("onnx", hub=hub, tags=["VISION", "no-such-tag"])) == 172
    mnist = polyhub.list_models("onnx", hub=hub, model="mnist", tags=["vision"])
    assert sorted(int(c.version or 0) for c in mnist) == [1, 7, 8]
    assert {c.name for c in mnist} == {"MNIST"}
    assert blobs(polyhub_home) == []  # listing downloads no model


def test_real_manifest_tag_counts_agree_with_the_file(real_hub: Path) -> None:
    for tag in ("text", "classification", "object detection & image segmentation"):
        expected = sum(tag in [t.lower() for t in e["metadata"]["tags"]] for e in REAL)
        assert len(polyhub.list_models("onnx", hub=str(real_hub), tags=[tag.upper()])) == expected


def test_info_of_a_real_entry_without_downloading(
    real_hub: Path, polyhub_home: Path, monkeypatch
) -> None:
    monkeypatch.setenv("POLYHUB_ONNX_HUB", str(real_hub))
    card = polyhub.info("onnx:mnist")
    entry = next(e for e in REAL if e["model"] == "MNIST" and e["opset_version"] == 8)
    assert card.name == "MNIST" and card.version == "8"
    model, data = card.assets
    assert (model.role, model.format, model.sha256, model.size) == (
        "model",
        "onnx",
        entry["metadata"]["model_sha"],
        entry["metadata"]["model_bytes"],
    )
    assert model.url == str(real_hub / entry["model_path"])
    assert (data.role, data.format, data.sha256, data.size) == (
        "test-data",
        "tar.gz",
        entry["metadata"]["model_with_data_sha"],
        entry["metadata"]["model_with_data_bytes"],
    )
    assert [(p.name, p.shape, p.type) for p in card.inputs] == [
        (p["name"], tuple(p["shape"]), p["type"]) for p in entry["metadata"]["io_ports"]["inputs"]
    ]
    assert card.tags == tuple(entry["metadata"]["tags"])
    assert card.metadata["onnx_version"] == entry["onnx_version"]
    assert blobs(polyhub_home) == []


def test_opset_selection_and_the_error_listing_valid_opsets(real_hub: Path) -> None:
    hub = str(real_hub)
    assert polyhub.info("onnx:MNIST?opset=7", hub=hub).version == "7"
    assert polyhub.info("onnx:mnist", hub=hub, opset=1).version == "1"
    with pytest.raises(ModelNotFoundError, match=r"valid opsets: 1, 7, 8"):
        polyhub.info("onnx:mnist", hub=hub, opset=9)
    # A value that cannot be an opset is the caller's mistake, not a missing model.
    with pytest.raises(polyhub.AddressError, match=r"opsets 1, 7, 8"):
        polyhub.info("onnx:mnist", hub=hub, opset="eight")


def test_unknown_model_suggests_close_names(real_hub: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="MNIST") as info:
        polyhub.info("onnx:mnsit", hub=str(real_hub))
    assert isinstance(info.value, LookupError)


def test_every_real_card_address_round_trips(real_hub: Path, monkeypatch) -> None:
    monkeypatch.setenv("POLYHUB_ONNX_HUB", str(real_hub))
    cards = polyhub.list_models("onnx")
    assert len(cards) == 184
    for card in cards:
        text = str(card.address)
        assert polyhub.parse_address(text) == card.address
        again = polyhub.info(text)
        assert (again.name, again.version, again.assets) == (card.name, card.version, card.assets)
    monkeypatch.delenv("POLYHUB_ONNX_HUB")
    # The hub is part of the address, so it resolves without the environment too.
    assert polyhub.info(str(cards[7].address)).assets == cards[7].assets


def test_unknown_list_filter_is_a_type_error(real_hub: Path) -> None:
    with pytest.raises(TypeError, match="known: model, tags, hub, opset"):
        polyhub.list_models("onnx", hub=str(real_hub), colour="red")


def test_help_describes_ports_and_test_data(real_hub: Path) -> None:
    text = polyhub.help("onnx:mnist", hub=str(real_hub))
    assert "Input3: tensor(float) [1, 1, 28, 28]" in text
    assert "Plus214_Output_0" in text
    assert "with_test_data=True" in text


# -- loading from hubs ---------------------------------------------------------------------


def _check_mlp_session(session, opset: int = 17) -> None:
    model = tiny_mlp(opset)
    feeds = sample_inputs(model)
    (got,) = session.run(None, feeds)
    (want,) = evaluate(model, feeds)
    assert got.shape == want.shape == (1, 3)
    assert abs(got - want).max() < 1e-5


def test_load_from_a_folder_hub(hub_dir: Path, polyhub_home: Path) -> None:
    session = polyhub.load("onnx:TINY-MLP", hub=str(hub_dir), device="cpu")
    assert session.get_providers() == ["CPUExecutionProvider"]
    _check_mlp_session(session, 17)
    older = polyhub.load("onnx:tiny-mlp?opset=13", hub=str(hub_dir), device="cpu")
    _check_mlp_session(older, 13)
    assert len(blobs(polyhub_home)) == 2


def test_load_over_http_from_the_env_hub(hub_dir: Path, serve, monkeypatch) -> None:
    server = serve(hub_dir)
    monkeypatch.setenv("POLYHUB_ONNX_HUB", server.base_url)
    session = polyhub.load("onnx:tiny-mlp", device="cpu")
    _check_mlp_session(session)
    assert "/ONNX_HUB_MANIFEST.json" in server.requests
    assert "/demo/tiny-mlp/model/tiny-mlp-17.onnx" in server.requests
    # A per-call hub wins over the environment.
    monkeypatch.setenv("POLYHUB_ONNX_HUB", "/nonexistent/hub")
    card = polyhub.info("onnx:add-relu", hub=server.base_url)
    assert card.assets[0].url == f"{server.base_url}/demo/add-relu/model/add-relu-14.onnx"


def test_runtime_onnx_gives_the_model_proto(hub_dir: Path) -> None:
    proto = polyhub.load("onnx:add-relu", hub=str(hub_dir), runtime="onnx")
    assert proto.SerializeToString() == add_relu(14).SerializeToString()


def _github_layout(
    root: Path, make_hub: Callable[..., Path], owner: str, name: str, ref: str
) -> None:
    """Lay a hub out as GitHub serves it: manifest under raw/, files under media/."""
    hub = make_hub(name=f"src-{ref}")
    raw = root / "raw" / owner / name / ref
    media = root / "media" / owner / name / ref
    raw.mkdir(parents=True)
    (raw / "ONNX_HUB_MANIFEST.json").write_bytes((hub / "ONNX_HUB_MANIFEST.json").read_bytes())
    media.parent.mkdir(parents=True, exist_ok=True)
    (hub / "ONNX_HUB_MANIFEST.json").unlink()
    hub.rename(media)


def test_github_hub_through_mirrors_and_revision_pins(
    tmp_path: Path, make_hub, serve, monkeypatch
) -> None:
    site = tmp_path / "site"
    _github_layout(site, make_hub, "acme", "zoo", "v1")
    server = serve(site)
    monkeypatch.setenv(
        "POLYHUB_MIRRORS",
        f"https://raw.githubusercontent.com={server.base_url}/raw,"
        f"https://media.githubusercontent.com/media={server.base_url}/media",
    )
    card = polyhub.info("onnx:tiny-mlp@v1", hub="acme/zoo")
    assert card.assets[0].url == (
        "https://media.githubusercontent.com/media/acme/zoo/v1/demo/tiny-mlp/model/tiny-mlp-17.onnx"
    )
    assert str(card.address) == "onnx:tiny-mlp@v1?hub=acme/zoo&opset=17"
    _check_mlp_session(polyhub.load(str(card.address), device="cpu"))
    assert polyhub.info("onnx:tiny-mlp", hub="acme/zoo:v1").address == card.address
    with pytest.raises(RevisionNotFoundError, match="v2"):
        polyhub.info("onnx:tiny-mlp@v2", hub="acme/zoo")


# -- failures ------------------------------------------------------------------------------


def test_sha256_mismatch_is_typed_and_leaves_nothing(
    make_hub, serve, polyhub_home: Path, files_with_bytes
) -> None:
    bad = "0" * 64
    hub = make_hub([HubModel("tiny-mlp", tiny_mlp(17), entry_overrides={"model_sha": bad})])
    server = serve(hub)
    with pytest.raises(HashMismatchError) as info:
        polyhub.load("onnx:tiny-mlp", hub=server.base_url, device="cpu")
    assert info.value.expected == bad
    assert (
        info.value.actual
        == __import__("hashlib").sha256(tiny_mlp(17).SerializeToString()).hexdigest()
    )
    assert blobs(polyhub_home) == []
    assert files_with_bytes(polyhub_home, tiny_mlp(17).SerializeToString()) == []


def test_model_path_traversal_is_refused_before_any_file_access(
    make_hub, serve, tmp_path: Path, polyhub_home: Path
) -> None:
    secret = tmp_path / "secret.onnx"
    secret.write_bytes(tiny_mlp().SerializeToString())
    hub = make_hub()
    manifest = hub / "ONNX_HUB_MANIFEST.json"
    entries = json.loads(manifest.read_text())
    entries[1]["model_path"] = "../secret.onnx"
    manifest.write_text(json.dumps(entries, indent=1))
    for where in (str(hub), serve(hub).base_url):
        with pytest.raises(MetadataError) as info:
            polyhub.load("onnx:tiny-mlp", hub=where)
        assert info.value.field == "model_path"
        assert info.value.entry == "#1 'tiny-mlp'"
    assert blobs(polyhub_home) == []


def test_a_manifest_that_is_not_json_names_the_url(tmp_path: Path, serve) -> None:
    hub = tmp_path / "broken"
    hub.mkdir()
    (hub / "ONNX_HUB_MANIFEST.json").write_text("<html>rate limited</html>")
    server = serve(hub)
    with pytest.raises(MetadataError) as info:
        polyhub.list_models("onnx", hub=server.base_url)
    assert info.value.file == f"{server.base_url}/ONNX_HUB_MANIFEST.json"


def test_a_folder_without_a_manifest_is_not_a_hub(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"ONNX_HUB_MANIFEST\.json"):
        polyhub.list_models("onnx", hub=str(tmp_path))


# -- offline -------------------------------------------------------------------------------


def test_offline_with_a_warm_cache_opens_no_socket(
    hub_dir: Path, serve, monkeypatch, request
) -> None:
    server = serve(hub_dir)
    polyhub.load("onnx:tiny-mlp", hub=server.base_url, device="cpu")
    served = len(server.requests)
    server.stop()
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    attempts = request.getfixturevalue("no_network")
    assert len(polyhub.list_models("onnx", hub=server.base_url)) == 3
    assert polyhub.info("onnx:tiny-mlp", hub=server.base_url).version == "17"
    _check_mlp_session(polyhub.load("onnx:tiny-mlp", hub=server.base_url, device="cpu"))
    assert attempts == [] and len(server.requests) == served


def test_offline_with_a_cold_cache_says_what_is_missing(
    hub_dir: Path, serve, request, polyhub_home
) -> None:
    server = serve(hub_dir)
    request.getfixturevalue("no_network")
    with pytest.raises(OfflineError) as info:
        polyhub.list_models("onnx", hub=server.base_url, offline=True)
    assert "ONNX_HUB_MANIFEST.json" in str(info.value) and str(polyhub_home) in str(info.value)
    assert server.requests == []


def test_offline_with_a_cached_manifest_but_no_model(hub_dir: Path, serve) -> None:
    server = serve(hub_dir)
    polyhub.info("onnx:tiny-mlp", hub=server.base_url)
    with pytest.raises(OfflineError, match=r"tiny-mlp-17\.onnx"):
        polyhub.load("onnx:tiny-mlp", hub=server.base_url, offline=True)


# -- test data -----------------------------------------------------------------------------


def test_download_with_test_data_extracts_a_runnable_data_set(hub_dir: Path, serve) -> None:
    import numpy as np
    import onnxruntime
    from onnx import TensorProto, numpy_helper

    server = serve(hub_dir)
    folder = download("onnx:tiny-mlp", hub=server.base_url, with_test_data=True)
    (top,) = [p for p in folder.iterdir() if not p.name.startswith(".")]
    assert sorted(p.name for p in (top / "test_data_set_0").iterdir()) == [
        "input_0.pb",
        "output_0.pb",
    ]

    def read(path: Path) -> np.ndarray:
        tensor = TensorProto()
        tensor.ParseFromString(path.read_bytes())
        return numpy_helper.to_array(tensor)

    session = onnxruntime.InferenceSession(
        str(top / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    (got,) = session.run(None, {"x": read(top / "test_data_set_0" / "input_0.pb")})
    assert np.allclose(got, read(top / "test_data_set_0" / "output_0.pb"), atol=1e-5)


def test_require_hashes_refuses_an_unhashed_model_before_any_request(
    make_hub, serve, monkeypatch
) -> None:
    hub = make_hub([HubModel("tiny-mlp", tiny_mlp(17), entry_overrides={"model_sha": None})])
    server = serve(hub)
    card = polyhub.info("onnx:tiny-mlp", hub=server.base_url)
    assert card.assets[0].sha256 is None
    monkeypatch.setenv("POLYHUB_REQUIRE_HASHES", "1")
    with pytest.raises(polyhub.UntrustedError, match="sha256"):
        polyhub.load("onnx:tiny-mlp", hub=server.base_url, device="cpu")
    assert not any(r.endswith(".onnx") for r in server.requests)

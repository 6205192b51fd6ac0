"""``polyhub_onnx.compat.hub``: onnx.hub's API over polyhub, reached through POLYHUB_MIRRORS."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import polyhub
import pytest
from polyhub import ModelNotFoundError
from polyhub_onnx.compat import hub
from polyhub_onnx.demo import HubModel, evaluate, sample_inputs, tiny_mlp


@pytest.fixture
def zoo(tmp_path: Path, make_hub, serve, monkeypatch: pytest.MonkeyPatch):
    """onnx/models:main and acme/zoo:main laid out as GitHub serves them, behind a loopback mirror."""
    site = tmp_path / "site"
    for owner, name in (("onnx", "models"), ("acme", "zoo")):
        source = make_hub(name=f"src-{owner}")
        raw = site / "raw" / owner / name / "main"
        raw.mkdir(parents=True)
        (source / "ONNX_HUB_MANIFEST.json").rename(raw / "ONNX_HUB_MANIFEST.json")
        media = site / "media" / "media" / owner / name / "main"  # the URL path starts /media/
        if (owner, name) == ("onnx", "models"):
            # The zoo's files are on its Hugging Face mirror since GitHub's LFS ended.
            media = site / "hf" / "onnxmodelzoo" / "legacy_models" / "resolve" / "main"
        media.parent.mkdir(parents=True, exist_ok=True)
        source.rename(media)
    server = serve(site)
    monkeypatch.setenv(
        "POLYHUB_MIRRORS",
        f"https://raw.githubusercontent.com={server.base_url}/raw,"
        f"https://media.githubusercontent.com={server.base_url}/media,"
        f"https://huggingface.co={server.base_url}/hf",
    )
    return server


def test_default_repo_goes_through_the_mirror(zoo) -> None:
    infos = hub.list_models()
    assert [(i.model, i.opset) for i in infos] == [
        ("tiny-mlp", 13),
        ("tiny-mlp", 17),
        ("add-relu", 14),
    ]
    assert "/raw/onnx/models/main/ONNX_HUB_MANIFEST.json" in zoo.requests
    model = hub.load("TINY-MLP")
    assert model is not None and model.opset_import[0].version == 17
    assert (
        "/hf/onnxmodelzoo/legacy_models/resolve/main/demo/tiny-mlp/model/tiny-mlp-17.onnx"
        in zoo.requests
    )


def test_model_info_has_upstream_fields(zoo) -> None:
    info = hub.get_model_info("tiny-mlp", opset=13)
    assert isinstance(info, hub.ModelInfo)
    assert (info.model, info.opset) == ("tiny-mlp", 13)
    assert info.model_path == "demo/tiny-mlp/model/tiny-mlp-13.onnx"
    assert info.tags == {"demo", "tabular", "classification"}
    assert info.model_sha == info.metadata["model_sha"] and len(info.model_sha) == 64
    assert info.raw_model_info["opset_version"] == 13
    assert str(info).startswith(
        "ModelInfo(model=tiny-mlp, opset=13, path=demo/tiny-mlp/model/tiny-mlp-13.onnx"
    )
    info.metadata["tags"].append("mutable")  # a plain dict, as upstream's
    assert "mutable" not in hub.get_model_info("tiny-mlp", opset=13).metadata["tags"]
    assert [i.model for i in hub.list_models(tags=["ELEMENTWISE"])] == ["add-relu"]
    assert [i.opset for i in hub.list_models(model="Tiny-MLP")] == [13, 17]


def test_errors_are_assertion_errors_and_polyhub_errors(zoo, make_hub, serve) -> None:
    with pytest.raises(AssertionError) as unknown:
        hub.load("resnet50")
    assert isinstance(unknown.value, ModelNotFoundError)
    with pytest.raises(AssertionError, match="valid opsets: 13, 17") as opset:
        hub.get_model_info("tiny-mlp", opset=12)
    assert isinstance(opset.value, ModelNotFoundError)
    with pytest.raises(AssertionError) as manifest:
        hub.list_models(repo="onnx/models:unknown")
    assert isinstance(manifest.value, polyhub.RevisionNotFoundError)
    with pytest.raises(AssertionError) as missing:
        hub.list_models(repo="nobody/nothing")
    assert isinstance(missing.value, polyhub.PolyhubError)

    bad = make_hub(
        [HubModel("tiny-mlp", tiny_mlp(17), entry_overrides={"model_sha": "1" * 64})], name="bad"
    )
    with pytest.raises(AssertionError) as mismatch:
        hub.load("tiny-mlp", repo=serve(bad).base_url)
    assert isinstance(mismatch.value, polyhub.HashMismatchError)
    assert mismatch.value.expected == "1" * 64


def test_no_prompt_for_other_repos_even_without_a_tty(zoo, monkeypatch: pytest.MonkeyPatch) -> None:
    class NoInput(io.StringIO):
        def readline(self, *args: object) -> str:
            raise AssertionError("the shim asked for input")

        def isatty(self) -> bool:
            return False

    monkeypatch.setattr(sys, "stdin", NoInput())
    assert not hub._verify_repo_ref("acme/zoo:main")
    for silent in (False, True):
        model = hub.load("add-relu", repo="acme/zoo", silent=silent)
        assert model is not None and model.graph.node[0].op_type == "Add"


def test_download_with_test_data_returns_the_model_folder(zoo) -> None:
    folder = Path(hub.download_model_with_test_data("tiny-mlp", opset=17))
    assert folder.name == "tiny-mlp-17"
    assert (folder / "model.onnx").is_file()
    assert sorted(p.name for p in (folder / "test_data_set_0").iterdir()) == [
        "input_0.pb",
        "output_0.pb",
    ]


def test_composite_model_merges_and_runs(tmp_path: Path, make_hub, serve) -> None:
    import onnxruntime
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["raw"], ["features"])],
        "pre",
        [helper.make_tensor_value_info("raw", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 4])],
    )
    pre = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    pre.ir_version = 7
    repo = serve(
        make_hub([HubModel("relu-pre", pre), HubModel("tiny-mlp", tiny_mlp(17))], name="c")
    ).base_url
    merged = hub.load_composite_model(
        "tiny-mlp", "relu-pre", network_repo=repo, preprocessing_repo=repo
    )
    assert merged is not None and merged.opset_import[0].version == 17
    session = onnxruntime.InferenceSession(
        merged.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    raw = sample_inputs(tiny_mlp(17))["x"]
    (got,) = session.run(None, {"raw": raw})
    (want,) = evaluate(tiny_mlp(17), {"x": np.maximum(raw, 0)})
    assert np.allclose(got, want, atol=1e-5)


def test_set_dir_moves_the_cache(zoo, tmp_path: Path) -> None:
    target = tmp_path / "onnx-cache"
    hub.set_dir(str(target))
    assert hub.get_dir() == str(target)
    hub.load("add-relu")
    assert any(p.is_file() for p in (target / "blobs").rglob("*"))


def test_get_dir_returns_what_set_dir_was_given(
    zoo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As onnx.hub: ``get_dir()`` is the very string ``set_dir`` got (a relative one stays
    relative; Hub.md's ``print(hub.get_dir())``), and the files go to that folder."""
    monkeypatch.chdir(tmp_path)
    try:
        hub.set_dir("my/cache/directory")
        assert hub.get_dir() == "my/cache/directory"
        hub.load("add-relu")
        assert any(p.is_file() for p in (tmp_path / "my/cache/directory/blobs").rglob("*"))
        # polyhub's home moved by other means: get_dir says where files go now.
        polyhub.set_dir(tmp_path / "elsewhere")
        assert hub.get_dir() == str(tmp_path / "elsewhere")
    finally:
        polyhub.set_dir(None)


def test_offline_after_a_first_load(zoo, monkeypatch: pytest.MonkeyPatch, request) -> None:
    hub.load("tiny-mlp")
    zoo.stop()
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    attempts = request.getfixturevalue("no_network")
    assert hub.load("tiny-mlp") is not None
    assert len(hub.list_models()) == 3
    assert attempts == []


def test_private_helpers_upstream_tests_used() -> None:
    assert hub._parse_repo_info("onnx/models") == ("onnx", "models", "main")
    assert hub._parse_repo_info("a/b:c") == ("a", "b", "c")
    assert (
        hub._get_base_url("onnx/models:main")
        == "https://raw.githubusercontent.com/onnx/models/main/"
    )
    assert hub._verify_repo_ref("onnx/models:main")
    assert not hub._verify_repo_ref("onnx/models:other")
    assert json.loads(json.dumps(hub.__all__))  # the public names are plain strings


def test_opset_is_compared_as_upstream_compares_it(zoo) -> None:
    """onnx.hub keeps the entries whose ``opset == opset``: 13.0 and numpy's 13 are
    opset 13; "13" or 13.5 equal no opset, its AssertionError for a missing opset."""
    assert hub.get_model_info("tiny-mlp", opset=13.0).opset == 13
    assert hub.get_model_info("tiny-mlp", opset=np.int64(17)).opset == 17
    model = hub.load("tiny-mlp", opset=13.0)
    assert model is not None and model.opset_import[0].version == 13
    for opset in ("13", 13.5):
        with pytest.raises(AssertionError, match="opset") as error:
            hub.get_model_info("tiny-mlp", opset=opset)
        assert isinstance(error.value, ModelNotFoundError)
        with pytest.raises(AssertionError):
            hub.load("tiny-mlp", opset=opset)
    # An unknown model is reported as such first, as upstream does.
    with pytest.raises(AssertionError, match="resnet50"):
        hub.get_model_info("resnet50", opset="13")

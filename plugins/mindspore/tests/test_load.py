"""Loading real tiny MindSpore models through polyhub.load, from hubs on disk, git and HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polyhub
import pytest
from polyhub_mindspore.demo import card_text

X = np.arange(4, dtype=np.float32).reshape(1, 4)


def _reference(tiny: dict[str, Path]) -> np.ndarray:
    """The tiny network's output computed straight from its MindIR with MindSpore."""
    import mindspore
    from mindspore import nn

    return nn.GraphCell(mindspore.load(str(tiny["mindir"])))(mindspore.Tensor(X)).asnumpy()


def _run(model: Any) -> np.ndarray:
    import mindspore

    return model(mindspore.Tensor(X)).asnumpy()


def test_mindir_from_local_hub_runs_like_mindspore(hub_root, h, publish, tiny):
    url, sha = publish("mindir")
    h.write_card(
        hub_root,
        "mindspore/2.5/tiny_mindir",
        card_text(name="TinyDense", assets=[("mindir", url, sha)]),
    )
    net = polyhub.load("mindspore:mindspore/2.5/tiny_mindir", hub=str(hub_root), device="cpu")
    from mindspore import nn

    assert isinstance(net, nn.GraphCell)
    np.testing.assert_allclose(_run(net), _reference(tiny), rtol=1e-6)


def test_ckpt_with_code_repo_builds_the_network_and_loads_weights(
    hub_root, h, publish, tiny, make_code_repo
):
    repo = make_code_repo()
    url, sha = publish("ckpt")
    link = f"file://{repo}/tree/main"
    h.write_card(
        hub_root,
        "mindspore/2.10/tiny_ckpt",
        card_text(name="TinyDense", assets=[("ckpt", url, sha)], repo_link=link),
    )
    net = polyhub.load(
        "mindspore:mindspore/2.10/tiny_ckpt", hub=str(hub_root), device="cpu", trust_repo=True
    )
    from mindspore import nn

    assert isinstance(net, nn.Cell) and not isinstance(net, nn.GraphCell)
    np.testing.assert_allclose(_run(net), _reference(tiny), rtol=1e-5)


def test_model_kwargs_reach_create_network(hub_root, h, make_code_repo):
    repo = make_code_repo()
    h.write_card(
        hub_root,
        "mindspore/2.10/code_only",
        card_text(name="TinyDense", assets=[], repo_link=f"file://{repo}"),
    )
    net = polyhub.load(
        "mindspore:mindspore/2.10/code_only",
        hub=str(hub_root),
        device="cpu",
        trust_repo=True,
        num_classes=7,
        pretrained=False,
    )
    assert _run(net).shape == (1, 7)
    # Weights are wanted by default, and this card has none: random weights are no answer.
    from polyhub_mindspore.runtime import NoWeightsError

    with pytest.raises(NoWeightsError, match="pretrained=False") as info:
        polyhub.load(
            "mindspore:mindspore/2.10/code_only", hub=str(hub_root), device="cpu", trust_repo=True
        )
    assert isinstance(info.value, polyhub.PolyhubError) and isinstance(info.value, ValueError)
    assert info.value.field == "asset" and "code_only.md" in (info.value.file or "")


def test_pretrained_false_downloads_nothing(hub_root, h, make_code_repo, server):
    repo = make_code_repo()
    missing = f"{server.url}/files/never-published.ckpt"
    h.write_card(
        hub_root,
        "mindspore/2.10/tiny",
        card_text(
            name="TinyDense", assets=[("ckpt", missing, "0" * 64)], repo_link=f"file://{repo}"
        ),
    )
    net = polyhub.load(
        "mindspore:mindspore/2.10/tiny",
        hub=str(hub_root),
        device="cpu",
        trust_repo=True,
        pretrained=False,
    )
    assert _run(net).shape == (1, 3)


def test_two_repos_with_src_packages_do_not_collide(hub_root, h, publish, make_code_repo):
    import sys

    url, sha = publish("ckpt")
    a = make_code_repo("a", marker="repo-a")
    b = make_code_repo("b", sub="official/cv/tiny", marker="repo-b")
    h.write_card(
        hub_root,
        "mindspore/2.10/a",
        card_text(name="TinyDense", assets=[("ckpt", url, sha)], repo_link=f"file://{a}"),
    )
    h.write_card(
        hub_root,
        "mindspore/2.10/b",
        card_text(
            name="TinyDense",
            assets=[("ckpt", url, sha)],
            repo_link=f"file://{b}/tree/main/official/cv/tiny",
        ),
    )
    path_before, src_before = list(sys.path), sys.modules.get("src")
    net_a = polyhub.load(
        "mindspore:mindspore/2.10/a", hub=str(hub_root), device="cpu", trust_repo=True
    )
    net_b = polyhub.load(
        "mindspore:mindspore/2.10/b", hub=str(hub_root), device="cpu", trust_repo=True
    )
    assert (net_a.repo_marker, net_b.repo_marker) == ("repo-a", "repo-b")
    assert "/official/cv/tiny/" in type(net_b).construct.__code__.co_filename
    assert type(net_a) is not type(net_b)
    # A second load of the first model still sees its own src package.
    again = polyhub.load(
        "mindspore:mindspore/2.10/a", hub=str(hub_root), device="cpu", trust_repo=True
    )
    assert again.repo_marker == "repo-a"
    assert sys.path == path_before and sys.modules.get("src") is src_before


def test_untrusted_code_repo_never_runs(hub_root, h, publish, make_code_repo, tmp_path):
    canary = tmp_path / "canary"
    repo = make_code_repo(canary=canary)
    url, sha = publish("ckpt")
    h.write_card(
        hub_root,
        "mindspore/2.10/evil",
        card_text(name="TinyDense", assets=[("ckpt", url, sha)], repo_link=f"file://{repo}"),
    )
    with pytest.raises(polyhub.UntrustedError, match="not trusted"):
        polyhub.load("mindspore:mindspore/2.10/evil", hub=str(hub_root), device="cpu")
    assert not canary.exists()
    # info and help read the card only: still no code.
    card = polyhub.info("mindspore:mindspore/2.10/evil", hub=str(hub_root))
    assert card.code is not None and card.code.repo_id == f"file://{repo}"
    assert "Usage" in polyhub.help("mindspore:mindspore/2.10/evil", hub=str(hub_root))
    assert not canary.exists()
    polyhub.load("mindspore:mindspore/2.10/evil", hub=str(hub_root), device="cpu", trust_repo=True)
    assert canary.read_text() == "ran"


def test_wrong_sha256_is_refused_and_nothing_loads(hub_root, h, publish):
    url, sha = publish("mindir")
    wrong = sha[::-1]
    h.write_card(
        hub_root, "mindspore/2.10/bad", card_text(name="TinyDense", assets=[("mindir", url, wrong)])
    )
    with pytest.raises(polyhub.HashMismatchError) as info:
        polyhub.load("mindspore:mindspore/2.10/bad", hub=str(hub_root), device="cpu")
    assert info.value.expected == wrong and info.value.actual == sha


def test_asset_url_that_404s(hub_root, h, server):
    h.write_card(
        hub_root,
        "mindspore/2.10/gone",
        card_text(
            name="TinyDense", assets=[("mindir", f"{server.url}/files/gone.mindir", "a" * 64)]
        ),
    )
    with pytest.raises(polyhub.DownloadError, match="404"):
        polyhub.load("mindspore:mindspore/2.10/gone", hub=str(hub_root), device="cpu")


def test_air_only_card_on_cpu_says_what_exists(hub_root, h, server):
    h.write_card(
        hub_root,
        "mindspore/2.10/aironly",
        card_text(name="TinyDense", assets=[("air", f"{server.url}/files/x.air", "b" * 64)]),
    )
    with pytest.raises(polyhub.UnsupportedError) as info:
        polyhub.load("mindspore:mindspore/2.10/aironly", hub=str(hub_root), device="cpu")
    text = str(info.value)
    assert "air" in text and "mindspore-air" in text and "ascend" in text and "cpu" in text


def test_air_and_mindir_card_on_cpu_falls_back_to_mindir(hub_root, h, publish, server):
    url, sha = publish("mindir")
    assets = [("air", f"{server.url}/files/never.air", "c" * 64), ("mindir", url, sha)]
    h.write_card(hub_root, "mindspore/2.10/both", card_text(name="TinyDense", assets=assets))
    plan = polyhub.plan("mindspore:mindspore/2.10/both", hub=str(hub_root), device="cpu")
    assert plan.format == "mindir" and plan.runtime == "mindspore"
    assert any("never.air" in r and "skipped" in r for r in plan.reasons)
    net = polyhub.load("mindspore:mindspore/2.10/both", hub=str(hub_root), device="cpu")
    assert _run(net).shape == (1, 3)


def test_mslite_without_mindspore_lite_says_so(hub_root, h, server):
    pytest.importorskip("polyhub")
    import importlib.util

    if importlib.util.find_spec("mindspore_lite") is not None:
        pytest.skip("mindspore-lite is installed here")
    h.write_card(
        hub_root,
        "mindspore/2.10/lite",
        card_text(name="TinyDense", assets=[("mslite", f"{server.url}/files/x.ms", "d" * 64)]),
    )
    with pytest.raises(polyhub.UnsupportedError, match="mindspore-lite"):
        polyhub.load("mindspore:mindspore/2.10/lite", hub=str(hub_root), device="cpu")


def test_onnx_asset_loads_through_the_onnx_plugin(hub_root, h, publish, tiny):
    pytest.importorskip("polyhub_onnx")
    if "onnx" not in polyhub._api.default_plugins().formats:
        pytest.skip("polyhub-onnx registers no onnx format yet")
    url, sha = publish("onnx")
    h.write_card(
        hub_root,
        "mindspore/2.10/tiny_onnx",
        card_text(name="TinyDense", assets=[("onnx", url, sha)]),
    )
    sess = polyhub.load("mindspore:mindspore/2.10/tiny_onnx", hub=str(hub_root), device="cpu")
    (out,) = sess.run(None, {sess.get_inputs()[0].name: X})
    np.testing.assert_allclose(out, _reference(tiny), rtol=1e-5)


def test_card_for_another_mindspore_version_logs_a_note(hub_root, h, publish, caplog):
    url, sha = publish("mindir")
    h.write_card(
        hub_root,
        "mindspore/1.6/old",
        card_text(name="TinyDense", assets=[("mindir", url, sha)], mindspore_version="1.6"),
    )
    # A log record, not a warning: under warnings-as-errors the load must still work.
    with caplog.at_level("WARNING", logger="polyhub"):
        polyhub.load("mindspore:mindspore/1.6/old", hub=str(hub_root), device="cpu")
    assert any("MindSpore 1.6" in r.getMessage() for r in caplog.records)


def test_a_card_claiming_ckpt_for_a_mindir_file_is_caught(hub_root, h, publish, make_code_repo):
    url, sha = publish("mindir")
    h.write_card(
        hub_root,
        "mindspore/2.10/liar",
        card_text(
            name="TinyDense", assets=[("ckpt", url, sha)], repo_link=f"file://{make_code_repo()}"
        ),
    )
    with pytest.raises(polyhub.MetadataError, match="mindir"):
        polyhub.load(
            "mindspore:mindspore/2.10/liar", hub=str(hub_root), device="cpu", trust_repo=True
        )


@pytest.mark.parametrize("word", ["0", "false", "No", "off"])
def test_pretrained_no_in_any_spelling_wants_no_weights(hub_root, h, make_code_repo, word):
    # ?pretrained=0 reaches the plugin as the int 0 (the address coerces digits):
    # it once read as "not False", so weights were still wanted.
    repo = make_code_repo()
    h.write_card(
        hub_root,
        "mindspore/2.10/tiny",
        card_text(
            name="TinyDense",
            assets=[("ckpt", "https://x/t.ckpt", "0" * 64)],
            repo_link=f"file://{repo}",
        ),
    )
    card = polyhub.info(f"mindspore:mindspore/2.10/tiny?pretrained={word}", hub=str(hub_root))
    assert card.metadata["pretrained"] is False
    assert all(a.role == "weights" for a in card.assets)
    kept = polyhub.info("mindspore:mindspore/2.10/tiny?pretrained=1", hub=str(hub_root))
    assert kept.metadata["pretrained"] is True

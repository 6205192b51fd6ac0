"""polyhub_mindspore.compat.hub: mindspore_hub's two API generations, backed by polyhub."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polyhub
import polyhub_mindspore.compat.hub as mshub
import pytest
from polyhub_mindspore.demo import card_text


@pytest.fixture
def ckpt_hub(hub_root: Path, h, publish, make_code_repo, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = make_code_repo()
    url, sha = publish("ckpt")
    text = card_text(name="TinyDense", assets=[("ckpt", url, sha)], repo_link=f"file://{repo}")
    h.write_card(hub_root, "mindspore/2.10/tiny_ckpt", text)
    h.write_card(hub_root, "mindspore/cpu/2.10/tiny_legacy", text)
    h.git(hub_root, "init", "-q", "-b", "master")
    h.commit_all(hub_root)
    monkeypatch.setenv("POLYHUB_MINDSPORE_HUB", str(hub_root))
    monkeypatch.setenv("POLYHUB_TRUSTED_REPOS", f"file://{repo}")
    return hub_root


def test_load_current_and_legacy_uids(ckpt_hub: Path, tiny):
    import mindspore

    net = mshub.load("mindspore/2.10/tiny_ckpt")
    legacy = mshub.load("mindspore/cpu/2.10/tiny_legacy")
    x = mindspore.Tensor(np.ones((1, 4), np.float32))
    np.testing.assert_allclose(net(x).asnumpy(), legacy(x).asnumpy())
    params = mindspore.load_checkpoint(str(tiny["ckpt"]))
    np.testing.assert_allclose(net.fc.weight.asnumpy(), params["fc.weight"].asnumpy())
    # Positional and keyword arguments reach create_network, as upstream passes them.
    assert mshub.load("mindspore/2.10/tiny_ckpt", 6, pretrained=False)(x).shape == (1, 6)


def test_load_weights_both_generations(ckpt_hub: Path, tiny):
    import mindspore
    from polyhub_mindspore.tinynet import TinyDense

    params = mshub.load_weights("mindspore/2.10/tiny_ckpt")
    assert set(params) >= {"fc.weight", "fc.bias"}
    net = TinyDense()
    assert mshub.load_weights(net, "mindspore/cpu/2.10/tiny_legacy") is None
    np.testing.assert_allclose(
        net.fc.bias.asnumpy(), mindspore.load_checkpoint(str(tiny["ckpt"]))["fc.bias"].asnumpy()
    )


def test_load_weights_positional_arguments_bind_as_upstream(ckpt_hub: Path, tiny):
    from polyhub_mindspore.tinynet import TinyDense

    # 2.0.0: load_weights(name, source, force_reload); its 'github' source is the
    # GitHub mirror of the same hub, never refused.
    params = mshub.load_weights("mindspore/2.10/tiny_ckpt", "gitee", True)
    assert set(params) >= {"fc.weight", "fc.bias"}
    assert set(mshub.load_weights("mindspore/2.10/tiny_ckpt", source="github")) == set(params)
    # 1.6: load_weights(network, handle, force_reload).
    net = TinyDense()
    assert mshub.load_weights(net, "mindspore/cpu/2.10/tiny_legacy", True) is None
    np.testing.assert_allclose(net.fc.bias.asnumpy(), params["fc.bias"].asnumpy())


def test_local_source_and_bad_arguments(ckpt_hub: Path):
    card = ckpt_hub / "mshub_res/assets/mindspore/2.10/tiny_ckpt.md"
    assert mshub.load(str(card), source="local") is not None
    with pytest.raises(TypeError):
        mshub.load(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source"):
        mshub.load("mindspore/2.10/tiny_ckpt", source="svn")


@pytest.mark.parametrize("uid", ["mindspore/tiny_ckpt", "tiny_ckpt", "a/mindspore/cpu/2.10/x"])
def test_a_uid_of_other_than_three_or_four_parts_is_a_value_error_before_io(
    uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mindspore_hub 2.0.0 raises ValueError('Not input correct name.') before any download.
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    monkeypatch.setenv("POLYHUB_MINDSPORE_HUB", "https://127.0.0.1:9/never/hub.git")
    for call in (lambda: mshub.load(uid), lambda: mshub.load_weights(uid)):
        with pytest.raises(ValueError, match="uid") as error:
            call()
        assert isinstance(error.value, polyhub.PolyhubError)


def test_hub_list_and_dirs(ckpt_hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("POLYHUB_MINDSPORE_HUB", f"file://{ckpt_hub}/.git")
    # On master (and r1.8+) upstream lists assets/mindspore/<version>/*.md only.
    assert mshub.hub_list() == ["tiny_ckpt"]
    assert mshub.hub_list("master") == ["tiny_ckpt"]
    with pytest.raises(ValueError, match=r"r1\.6"):
        mshub.hub_list("r0.1")
    monkeypatch.setattr(mshub, "_hub_dir", None)
    try:
        mshub.set_hub_dir(str(tmp_path / "mscache"))
        assert mshub.get_hub_dir() == str(tmp_path / "mscache")
        assert polyhub.get_dir() == tmp_path / "mscache"
    finally:
        polyhub.set_dir(None)

"""Hub kinds (folder, git, HTTP, card URL, mirrors) and every address form, against real cards."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polyhub
import pytest
from polyhub_mindspore.demo import card_text


def _sha_in(card: Path) -> str:
    """The first asset-sha256 of a card, read with a regex (independently of the parser)."""
    m = re.search(r"asset-sha256:\s*([0-9a-f]{64})", card.read_text())
    assert m is not None
    return m.group(1)


@pytest.fixture
def legacy_hub(realdata: Path, tmp_path: Path) -> Path:
    """A hub repository root whose mshub_res/assets is the legacy (r1.0-r1.6) tree."""
    root = tmp_path / "legacy"
    (root / "mshub_res").mkdir(parents=True)
    (root / "mshub_res" / "assets").symlink_to(realdata / "assets-legacy")
    return root


def test_legacy_address_forms_name_the_same_card(legacy_hub: Path, realdata: Path):
    short = polyhub.info("mindspore:ascend/1.0/alexnet_v1_cifar10", hub=str(legacy_hub))
    full = polyhub.info("mindspore:mindspore/ascend/1.0/alexnet_v1_cifar10", hub=str(legacy_hub))
    assert short == full
    assert (
        str(full.address) == f"mindspore:mindspore/ascend/1.0/alexnet_v1_cifar10?hub={legacy_hub}"
    )
    assert polyhub.info(full.address) == full
    expected = _sha_in(realdata / "assets-legacy/mindspore/ascend/1.0/alexnet_v1_cifar10.md")
    assert [a.sha256 for a in full.assets] == [expected]
    assert full.metadata["model-name"] == "AlexNet" and full.code is not None
    assert full.code.entry == "alexnet" and full.code.repo_id == "gitee.com/mindspore/models"
    assert "ascend" in full.metadata["backends"]
    # The official repository is trusted by default, as the headline call needs.

    assert polyhub.make_context().is_trusted(full.code.repo_id, scheme="mindspore")
    # info downloads nothing.
    assert not (Path(polyhub.get_dir()) / "blobs").exists()


def test_current_and_noah_cards_and_cn_twins(realdata: Path):
    lenet = polyhub.info("mindspore:mindspore/1.6/lenet_mnist", hub=str(realdata))
    assert lenet.version == "1.6" and lenet.dataset == "mnist"
    assert lenet.assets[0].sha256 == _sha_in(realdata / "assets/mindspore/1.6/lenet_mnist.md")
    noah = polyhub.info("mindspore:noah-cvlab/gpu/1.8/ofakd_v1.0_imagenet2012", hub=str(realdata))
    assert noah.publisher == "noah-cvlab" and noah.metadata["accuracy"] == "resnet50: 81.27"
    cn = next((realdata / "assets/noah-cvlab/gpu/1.0").glob("*_cn.md"))
    uid = cn.relative_to(realdata / "assets").as_posix()[: -len(".md")]
    card = polyhub.info(f"mindspore:{uid}", hub=str(realdata))
    twin = polyhub.info(f"mindspore:{uid[: -len('_cn')]}", hub=str(realdata))
    assert card.name.endswith("_cn") and card.assets == twin.assets and card.file == str(cn)


def test_missing_card_and_unsafe_uid(realdata: Path):
    with pytest.raises(polyhub.ModelNotFoundError, match=r"r1\.6"):
        polyhub.info("mindspore:ascend/1.0/alexnet_v1_cifar10", hub=str(realdata))
    with pytest.raises(polyhub.ModelNotFoundError):
        polyhub.info("mindspore:mindspore/1.6/..", hub=str(realdata))


def test_git_hub_with_revision_pin(hub_root: Path, h, tmp_path: Path):
    card = h.write_card(hub_root, "mindspore/2.10/tiny", card_text(name="Tiny", assets=[]))
    h.git(hub_root, "init", "-q", "-b", "master")
    first = h.commit_all(hub_root)
    card.write_text(card.read_text().replace("model-version: 1.0", "model-version: 2.0"))
    h.commit_all(hub_root)
    url = f"file://{hub_root}/.git"
    assert polyhub.info("mindspore:mindspore/2.10/tiny", hub=url).version == "2.0"
    assert polyhub.info(f"mindspore:mindspore/2.10/tiny@{first}", hub=url).version == "1.0"
    # A local clone with a revision is read through git, too.
    assert (
        polyhub.info(f"mindspore:mindspore/2.10/tiny@{first}", hub=str(hub_root)).version == "1.0"
    )
    with pytest.raises(polyhub.RevisionNotFoundError):
        polyhub.info("mindspore:mindspore/2.10/tiny@no-such-branch", hub=url)


def test_default_hub_through_a_mirror(hub_root: Path, h, monkeypatch: pytest.MonkeyPatch):
    h.write_card(hub_root, "mindspore/2.10/tiny", card_text(name="Tiny", assets=[]))
    h.git(hub_root, "init", "-q", "-b", "master")
    h.commit_all(hub_root)
    monkeypatch.setenv(
        "POLYHUB_MIRRORS", f"https://gitee.com/mindspore/hub.git=file://{hub_root}/.git"
    )
    card = polyhub.info("mindspore:mindspore/2.10/tiny")
    assert card.metadata["model-name"] == "Tiny"


def test_http_hub_env_and_offline(
    hub_root: Path, h, server, monkeypatch: pytest.MonkeyPatch, publish
):
    url, sha = publish("mindir")
    h.write_card(
        hub_root, "mindspore/2.10/tiny", card_text(name="Tiny", assets=[("mindir", url, sha)])
    )
    shutil.copytree(hub_root / "mshub_res", server.root / "hub" / "mshub_res")
    monkeypatch.setenv("POLYHUB_MINDSPORE_HUB", f"{server.url}/hub")
    net = polyhub.load("mindspore:mindspore/2.10/tiny", device="cpu")
    assert net is not None
    with pytest.raises(polyhub.ModelNotFoundError):
        polyhub.info("mindspore:mindspore/2.10/absent")
    # Everything came through the cache: offline still works, with the server gone.
    server.close()
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    assert polyhub.info("mindspore:mindspore/2.10/tiny").assets[0].sha256 == sha
    assert polyhub.load("mindspore:mindspore/2.10/tiny", device="cpu") is not None


def test_card_url_addresses(hub_root: Path, h, server, monkeypatch: pytest.MonkeyPatch):
    h.write_card(hub_root, "mindspore/2.10/tiny", card_text(name="Tiny", assets=[]))
    shutil.copytree(hub_root / "mshub_res", server.root / "raw" / "master" / "mshub_res")
    direct = polyhub.info(
        f"mindspore:{server.url}/raw/master/mshub_res/assets/mindspore/2.10/tiny.md"
    )
    assert direct.name == "tiny" and direct.metadata["uid"] == "mindspore/2.10/tiny"
    # The page URL users copy from gitee, through a mirror.
    monkeypatch.setenv("POLYHUB_MIRRORS", f"https://gitee.com/mindspore/hub/raw={server.url}/raw")
    page = polyhub.info(
        "mindspore:https://gitee.com/mindspore/hub/blob/master/mshub_res/assets/mindspore/2.10/tiny.md"
    )
    assert page.metadata["uid"] == "mindspore/2.10/tiny" and page.assets == direct.assets
    local = polyhub.info(f"mindspore:file://{hub_root}/mshub_res/assets/mindspore/2.10/tiny.md")
    assert local.metadata["model-name"] == "Tiny"


def test_a_symlink_out_of_the_hub_is_not_followed(hub_root: Path, tmp_path: Path):
    secret = tmp_path / "secret.md"
    secret.write_text(card_text(name="Secret", assets=[]))
    (hub_root / "mshub_res/assets/mindspore/2.10").mkdir(parents=True)
    (hub_root / "mshub_res/assets/mindspore/2.10/leak.md").symlink_to(secret)
    with pytest.raises(polyhub.ModelNotFoundError, match="outside"):
        polyhub.info("mindspore:mindspore/2.10/leak", hub=str(hub_root))

"""The README's own call, against the REAL MindSpore hub and the REAL model code.

``realhubs`` (the repository's root ``conftest.py``) serves the real hub
repository (every branch) at https://gitee.com/mindspore/hub.git and the real
model code at https://gitee.com/mindspore/models.git, through
``POLYHUB_MIRRORS``; polyhub is called with its default addresses, unchanged.

The legacy uid ``mindspore/ascend/1.0/alexnet_v1_cifar10`` is on the hub's
r1.0.1-r1.6 branches only, not on master; its card links
``models/tree/master/official/cv/alexnet``, a folder that master no longer has
(AlexNet moved to ``research/cv/Alexnet``, whose network takes NHWC input).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import polyhub
import pytest

UID = "mindspore/ascend/1.0/alexnet_v1_cifar10"
CARD_PATH = f"mshub_res/assets/{UID}.md"


def _git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def served(real_ms_hub: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The served real hub (see ``real_ms_hub`` in conftest.py), with this test's mirrors set."""
    monkeypatch.setenv("POLYHUB_MIRRORS", real_ms_hub["realhubs"].mirrors)
    return {**real_ms_hub, **real_ms_hub["models"][UID]}


def test_readme_call_loads_the_legacy_alexnet_from_r16(
    served: dict[str, Any], caplog: pytest.LogCaptureFixture
):
    import mindspore

    with caplog.at_level("WARNING", logger="polyhub"):
        net = polyhub.load("mindspore:ascend/1.0/alexnet_v1_cifar10", num_classes=10)
    messages = [r.getMessage() for r in caplog.records]
    # The linked folder is gone from the models repo's master: the r1.6 code is used, and said so.
    assert any("official/cv/alexnet" in m and "r1.6" in m for m in messages), messages
    assert isinstance(net, mindspore.nn.Cell)
    net.set_train(False)
    out = net(mindspore.Tensor(served["x"])).asnumpy()
    assert out.shape == (1, 10)
    # The checkpoint's weights are in the network (a freshly initialised one differs).
    np.testing.assert_allclose(out, served["y"], rtol=1e-4, atol=1e-5)

    card = polyhub.info("mindspore:ascend/1.0/alexnet_v1_cifar10")
    assert str(card.address) == f"mindspore:{UID}@r1.6"
    assert card.metadata["hub-revision"] == "r1.6"
    assert card.assets[0].sha256 == served["digest"]
    assert polyhub.info(str(card.address)) == card
    # MindSpore's own models repository runs without a trust flag.
    assert card.code is not None and card.code.repo_id == "gitee.com/mindspore/models"
    assert polyhub.make_context().is_trusted(card.code.repo_id, scheme="mindspore")

    # A second load is served from the cache: branch resolutions and files alike.
    requests = served["realhubs"].requests
    before = len(requests)
    again = polyhub.load("mindspore:ascend/1.0/alexnet_v1_cifar10", num_classes=10)
    assert requests[before:] == []
    again.set_train(False)
    np.testing.assert_allclose(again(mindspore.Tensor(served["x"])).asnumpy(), out)


def test_explicit_branch_and_url_forms_name_the_same_card(served: dict[str, Any]):
    card = polyhub.info(f"mindspore:{UID}@r1.6")
    assert str(card.address) == f"mindspore:{UID}@r1.6"
    assert card.assets[0].sha256 == served["digest"]
    site = "https://www.mindspore.cn/resources/hub"
    for url in (
        f"{site}/details?MindSpore/ascend/1.0/alexnet_v1_cifar10",
        f"{site}/details/en?MindSpore/ascend/1.0/alexnet_v1_cifar10",
        "https://mindspore.cn/resources/hub/details?MindSpore/ascend/v1.0/alexnet_v1_cifar10",
    ):
        assert polyhub.info(f"mindspore:{url}") == card, url
    # A blob page of the card on gitee: read from its raw URL, which gitee serves.
    text = _git("--git-dir", str(served["hub"]), "show", f"r1.6:{CARD_PATH}")
    served["realhubs"].put(f"https://gitee.com/mindspore/hub/raw/r1.6/{CARD_PATH}", text.encode())
    blob = polyhub.info(f"mindspore:https://gitee.com/mindspore/hub/blob/r1.6/{CARD_PATH}")
    assert blob.assets == card.assets and blob.code == card.code


def test_legacy_card_loaded_by_its_url_uses_the_code_of_its_branch(served: dict[str, Any]):
    """A card URL on r1.6 loads as its uid does: the models repo's r1.6 code, its weights."""
    import mindspore

    text = _git("--git-dir", str(served["hub"]), "show", f"r1.6:{CARD_PATH}")
    served["realhubs"].put(f"https://gitee.com/mindspore/hub/raw/r1.6/{CARD_PATH}", text.encode())
    raw_hub = {"hub": "https://gitee.com/mindspore/hub/raw/r1.6"}
    for url, options in (
        (f"https://gitee.com/mindspore/hub/blob/r1.6/{CARD_PATH}", {}),
        (f"https://gitee.com/mindspore/hub/raw/r1.6/{CARD_PATH}", {}),
        # An http hub that names the branch in its URL reads the same card.
        (UID, raw_hub),
    ):
        assert polyhub.info(f"mindspore:{url}", **options).metadata["hub-revision"] == "r1.6"
        net = polyhub.load(f"mindspore:{url}", num_classes=10, **options)
        net.set_train(False)
        out = net(mindspore.Tensor(served["x"])).asnumpy()
        np.testing.assert_allclose(out, served["y"], rtol=1e-4, atol=1e-5)


def test_local_clone_resolves_its_origin_branches(served: dict[str, Any], tmp_path: Path):
    clone = tmp_path / "hub"
    _git("clone", "--quiet", str(served["hub"]), str(clone))
    assert _git("branch", "--list", cwd=clone).split() == ["*", "master"]
    pinned = polyhub.info(f"mindspore:{UID}@r1.6", hub=str(clone))
    assert pinned.metadata["hub-revision"] == "r1.6"
    assert pinned.assets[0].sha256 == served["digest"]
    assert polyhub.info(str(pinned.address)) == pinned
    # No revision: the work tree (master) lacks the card, so the clone's origin/r1.6 is read.
    found = polyhub.info(f"mindspore:{UID}", hub=str(clone))
    assert found == pinned
    # The clone's mshub_res folder is the same hub, with and without a revision.
    mshub_res = str(clone / "mshub_res")
    for address in (f"mindspore:{UID}@r1.6", f"mindspore:{UID}"):
        card = polyhub.info(address, hub=mshub_res)
        assert card.metadata["hub-revision"] == "r1.6"
        assert card.assets == pinned.assets and card.code == pinned.code


def test_legacy_uid_on_no_branch_says_where_it_looked(served: dict[str, Any]):
    with pytest.raises(polyhub.ModelNotFoundError) as info:
        polyhub.info("mindspore:mindspore/gpu/0.1/no_such_net_v1")
    message = str(info.value)
    assert "mindspore/gpu/0.1/no_such_net_v1.md" in message
    assert "gitee.com/mindspore/hub" in message
    for branch in ("default branch", "r1.6", "r1.5", "r1.0.1", "r1.0"):
        assert branch in message
    # A current uid (no backend level) is not searched for on the legacy branches.
    with pytest.raises(polyhub.ModelNotFoundError) as info:
        polyhub.info("mindspore:mindspore/1.6/no_such_net")
    assert "r1.5" not in str(info.value)

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

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polyhub
import pytest

HUB_URL = "https://gitee.com/mindspore/hub.git"
MODELS_URL = "https://gitee.com/mindspore/models.git"
UID = "mindspore/ascend/1.0/alexnet_v1_cifar10"
CARD_PATH = f"mshub_res/assets/{UID}.md"
ASSET_URL = (
    "https://download.mindspore.cn/model_zoo/official/cv/alexnet/"
    "alexnet_ascend_1.0_cifar10_official_classification_20201214/alexnet.ckpt"
)

# Run in a child process, in the real AlexNet folder of the models repository's r1.6:
# the test's own process must not import that repository's `src` package itself.
_MAKE_CKPT = """
import sys, numpy as np, mindspore as ms
import mindspore_hub_conf
ms.set_seed(7)
net = mindspore_hub_conf.create_network("alexnet", num_classes=10)
net.set_train(False)
x = np.random.default_rng(0).standard_normal((1, 3, 227, 227)).astype(np.float32)
np.save(sys.argv[2], x)
np.save(sys.argv[3], net(ms.Tensor(x)).asnumpy())
ms.save_checkpoint(net, sys.argv[1])
"""


def _git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="session")
def alexnet(realhubs: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The real hub and models repositories served, and a real AlexNet checkpoint published.

    The real checkpoint (trained on Ascend, at download.mindspore.cn) is not
    here, so a checkpoint of the REAL AlexNet network (models repo r1.6,
    ``official/cv/alexnet``) is made by MindSpore on CPU and served at the
    card's real asset-link path. Its bytes differ from the published ones, so
    the card's ``asset-sha256`` on the served r1.6 branch is changed to match,
    in a commit: without that, polyhub would (rightly) refuse the file.
    Nothing else of the card changes.
    """
    hub = realhubs.serve_repo("mindspore-hub.bundle", HUB_URL)
    models = realhubs.serve_repo("mindspore-models-subset.bundle", MODELS_URL)
    tmp = tmp_path_factory.mktemp("alexnet")
    code = tmp / "code"
    code.mkdir()
    archive = subprocess.run(
        ["git", "--git-dir", str(models), "archive", "r1.6", "official/cv/alexnet"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
    ckpt = realhubs.local_path(ASSET_URL)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-c", _MAKE_CKPT, str(ckpt), str(tmp / "x.npy"), str(tmp / "y.npy")],
        cwd=code / "official/cv/alexnet",
        check=True,
        capture_output=True,
    )
    import hashlib

    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    work = realhubs.worktree(hub, "r1.6", tmp / "hub-r1.6")
    card = work / CARD_PATH
    text = card.read_text(encoding="utf-8")
    old = re.search(r"asset-sha256:\s*([0-9a-f]{64})", text)
    assert old is not None and old.group(1) != digest
    card.write_text(text.replace(old.group(1), digest), encoding="utf-8")
    commit = realhubs.push(work, "tests: asset-sha256 of the AlexNet checkpoint made on CPU")
    return {
        "hub": hub,
        "digest": digest,
        "commit": commit,
        "x": np.load(tmp / "x.npy"),
        "y": np.load(tmp / "y.npy"),
        "realhubs": realhubs,
    }


@pytest.fixture
def served(alexnet: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("POLYHUB_MIRRORS", alexnet["realhubs"].mirrors)
    return alexnet


def test_readme_call_loads_the_legacy_alexnet_from_r16(served: dict[str, Any]):
    import mindspore

    with pytest.warns(polyhub.PolyhubWarning) as caught:
        net = polyhub.load("mindspore:ascend/1.0/alexnet_v1_cifar10", num_classes=10)
    messages = [str(w.message) for w in caught]
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
    assert polyhub.Context.from_environment().is_trusted(card.code.repo_id, scheme="mindspore")

    # A second load is served from the cache: branch resolutions and files alike.
    requests = served["realhubs"].requests
    before = len(requests)
    with pytest.warns(polyhub.PolyhubWarning):
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

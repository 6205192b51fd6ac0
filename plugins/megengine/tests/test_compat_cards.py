"""The real MegEngine Hub cards' own usage code, run unchanged with the shim as ``megengine.hub``.

The snippets are read AT TEST TIME from the real cards in
``../shared/realdata/megengine-hub/models/`` (never copied here) and executed
as written, with :mod:`polyhub_megengine.compat.hub` standing where
``megengine.hub`` stands (``sys.modules["megengine.hub"]`` and the ``hub``
attribute of the installed ``megengine`` package, restored afterwards). The code
and weights come from the real hosts' addresses, sent to loopback by
``POLYHUB_MIRRORS``: the real ``MegEngine/Models`` repository (its bundle) at
``github.com/megengine/models.git``, and at the real ``@hub.pretrained`` URL of
each card's entry (``resnet18``, ``shufflenet_v2_x1_0``) a state dict of that REAL
network (the repository's own code, seeded), since the published weights are not here.

The only thing stubbed is the internet: the cards download ``cat.jpg`` from
``data.megengine.org.cn`` with ``urllib.request.urlretrieve``; that URL is served
on loopback (an opener sends the real host to the mirror, as ``POLYHUB_MIRRORS``
does for polyhub), holding a JPEG made here with cv2 (the real photo is not here).

What does not run as written, and is not the hub client's doing: the sample's
``logits = model(processed_img)`` passes a numpy array, which MegEngine 1.13's
``conv2d`` refuses (``TypeError: py_apply expects tensor as inputs``) for the same
model upstream ``megengine.hub.load`` returns; the test requires exactly that
error at exactly that line, then makes the call with the array as a tensor.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from polyhub_megengine.compat import hub as shim

MODELS_URL = "https://github.com/megengine/models.git"
CAT_URL = "https://data.megengine.org.cn/images/cat.jpg"
# card -> (the entry its code loads, the module of the real repository that defines it)
CARDS = {
    "megengine_vision_resnet.md": ("resnet18", "official/vision/classification/resnet/model.py"),
    "megengine_vision_shufflenet_v2.md": (
        "shufflenet_v2_x1_0",
        "official/vision/classification/shufflenet/model.py",
    ),
}

# Run in a child process: the repository's ``official`` package must not enter this one.
_MAKE_WEIGHTS = """
import importlib, json, sys
import megengine as mge
import numpy as np
sys.path.insert(0, sys.argv[1])
for module, entry, target in json.loads(sys.argv[2]):
    np.random.seed(18)
    net = getattr(importlib.import_module(module), entry)()
    mge.save({k: np.asarray(v) for k, v in net.state_dict().items()}, target)
"""


def python_blocks(card: Path) -> list[str]:
    """The ```python blocks of a real card, in order, exactly as written."""
    return re.findall(r"^```python\n(.*?)^```", card.read_text(encoding="utf-8"), re.M | re.S)


@pytest.fixture(scope="session")
def real_models(realhubs: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The real MegEngine/Models served at github.com, and real resnet18 weights at its URL."""
    bare = realhubs.serve_repo("MegEngine-Models.bundle", MODELS_URL)
    code = tmp_path_factory.mktemp("mge-models-code")
    archive = subprocess.run(
        ["git", "--git-dir", str(bare), "archive", "master", "hubconf.py", "official"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
    jobs, urls = [], {}
    for entry, module in CARDS.values():
        source = (code / module).read_text()
        # The weights URL is the real code's (hubconf.py re-exports the entry from there).
        url = re.search(rf'@hub\.pretrained\(\s*"([^"]+)"\s*\)\s*def {entry}\(', source)
        assert url is not None, f"{entry} is no longer @hub.pretrained in {module}"
        target = realhubs.local_path(url.group(1))
        target.parent.mkdir(parents=True, exist_ok=True)
        jobs.append([module[: -len(".py")].replace("/", "."), entry, str(target)])
        urls[entry] = (url.group(1), target)
    subprocess.run(
        [sys.executable, "-c", _MAKE_WEIGHTS, str(code), json.dumps(jobs)],
        check=True,
        capture_output=True,
    )
    return {"realhubs": realhubs, "weights": urls}


@pytest.fixture
def shim_as_megengine_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``import megengine.hub`` / ``megengine.hub.load`` reach the shim; undone afterwards."""
    import megengine

    monkeypatch.setitem(sys.modules, "megengine.hub", shim)
    monkeypatch.setattr(megengine, "hub", shim)
    yield


@pytest.fixture
def cat_on_loopback(realhubs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``CAT_URL`` served on loopback, reached by ``urllib.request`` through the mirror."""
    import cv2

    rng = np.random.default_rng(3)
    image = (rng.random((300, 400, 3)) * 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", image)
    assert ok
    realhubs.put(CAT_URL, jpeg.tobytes())
    base = realhubs.base

    class Mirror(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> Any:
            url = req.full_url.replace("https://", f"{base}/", 1)
            return urllib.request.urlopen(url, timeout=30)

    monkeypatch.setattr(urllib.request, "_opener", urllib.request.build_opener(Mirror()))
    monkeypatch.chdir(tmp_path)  # the card writes cat.jpg into the working folder
    return tmp_path


@pytest.mark.parametrize("card_name", sorted(CARDS))
def test_card_code_runs_unchanged(
    card_name: str,
    realdata: Path,
    real_models: dict[str, Any],
    shim_as_megengine_hub: None,
    cat_on_loopback: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import megengine as mge

    monkeypatch.setenv("POLYHUB_MIRRORS", real_models["realhubs"].mirrors)
    entry, _ = CARDS[card_name]
    url, weights = real_models["weights"][entry]
    card = realdata / "megengine-hub" / "models" / card_name
    blocks = python_blocks(card)
    # The load block, then the sample in each language section (the same code twice).
    assert len(blocks) == 3 and f"megengine.hub.load('megengine/models', '{entry}'" in blocks[0]
    namespace: dict[str, Any] = {"__name__": "__card__"}
    exec(compile(blocks[0], f"<{card.name} block 1>", "exec"), namespace)
    model = namespace["model"]
    assert not model.training
    # The weights are the served file's, loaded through the shim.
    served = mge.load(io.BytesIO(weights.read_bytes()))
    state = model.state_dict()
    assert set(served) == set(state)
    for key, value in served.items():
        np.testing.assert_array_equal(np.asarray(state[key]), value, err_msg=key)

    # The sample (once per language section) downloads, reads and transforms the image,
    # then calls the model on a numpy array, which MegEngine 1.13's conv2d refuses
    # whichever hub client built the model (upstream returns the same model): the
    # card predates that change. Everything before that line runs as written.
    for number, block in enumerate(blocks[1:], start=2):
        name = f"<{card.name} block {number}>"
        with pytest.raises(TypeError, match="expects tensor") as caught:
            exec(compile(block, name, "exec"), namespace)
        tb, lines = caught.value.__traceback__, []
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == name:
                lines.append(block.splitlines()[tb.tb_lineno - 1])
            tb = tb.tb_next
        assert lines == ["logits = model(processed_img)"]
        assert namespace["processed_img"].shape == (1, 3, 224, 224)
    # The same call with the array as a tensor, which is what the card means.
    logits = model(mge.tensor(namespace["processed_img"]))
    probs = mge.functional.softmax(logits).numpy()
    assert probs.shape == (1, 1000)
    np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-4)
    assert (cat_on_loopback / "cat.jpg").is_file()
    served_paths = real_models["realhubs"].requests
    assert "/data.megengine.org.cn/images/cat.jpg" in served_paths
    assert any(p.startswith("/github.com/megengine/models.git/") for p in served_paths)
    assert "/" + url.removeprefix("https://") in served_paths


def test_every_card_names_the_upstream_call_the_shim_provides(realdata: Path) -> None:
    """Each real card's code goes through ``megengine.hub.load(repo, entry, ...)``: an API the
    shim has under the same name and signature (what the resnet18 test runs for real)."""
    import inspect

    import megengine.hub as upstream

    cards = sorted((realdata / "megengine-hub" / "models").glob("*.md"))
    assert len(cards) == 13
    calls = set()
    for card in cards:
        code = "\n".join(python_blocks(card))
        calls |= set(re.findall(r"megengine\.hub\.(\w+)\(", code))
        calls |= set(re.findall(r"\bhub\.(\w+)\(", code))
    assert calls and calls <= set(shim.__all__)
    for name in calls:
        assert inspect.signature(getattr(shim, name)).parameters.keys() >= (
            inspect.signature(getattr(upstream, name)).parameters.keys()
        ), name


def test_upstream_cannot_load_from_the_real_repository_here(
    real_models: dict[str, Any], tmp_path: Path, h: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The differences table's row on absent packages: the real hubconf.py imports ftfy,
    regex and youtokentome at module level, so upstream ``megengine.hub`` fails every call
    on this repository; the shim lists it statically and loads the entries that import."""
    import importlib.util

    import megengine.hub as upstream

    if importlib.util.find_spec("ftfy") is not None:
        pytest.skip("ftfy is installed here")
    monkeypatch.setenv("POLYHUB_MIRRORS", real_models["realhubs"].mirrors)
    # Upstream's SSH fetcher runs real git; this sends git@127.0.0.1: to the served repository.
    root = real_models["realhubs"].root / "github.com"
    h.git("config", "--global", f"url.{root.as_uri()}/.insteadOf", "git@127.0.0.1:")
    modules, path = set(sys.modules), list(sys.path)
    try:
        with pytest.raises(ModuleNotFoundError, match="ftfy"):
            upstream.list("megengine/models", git_host="127.0.0.1", protocol="SSH")
    finally:  # upstream leaves the repository's modules and its sys.path entry behind
        for name in set(sys.modules) - modules:
            module = sys.modules[name]
            where = getattr(module, "__file__", None) or next(
                iter(getattr(module, "__path__", [])), ""
            )
            if str(where).startswith(str(tmp_path)):  # namespace packages have only __path__
                del sys.modules[name]
        assert not [n for n in sys.modules if n.split(".")[0] == "official"]
        sys.path[:] = path
    names = shim.list("megengine/models")
    assert len(names) == 94 and "resnet18" in names
    assert type(shim.load("megengine/models", "resnet18")).__name__ == "ResNet"

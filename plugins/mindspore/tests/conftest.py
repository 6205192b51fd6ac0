"""Fixtures: tiny real MindSpore models, card trees, code repositories and a loopback server.

Nothing here reaches the internet: hubs are local folders, local git
repositories (``file://``) or a ``http.server`` on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from polyhub.testing import LoopbackHub, git, isolated_home
from polyhub_mindspore.demo import TINY_NET_SOURCE, card_text, make_tiny_models, sha256_of

# shared/ sits next to the repository root: <root>/../shared/realdata.
REALDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata"
MSHUB = REALDATA / "mindspore-hub"


def pytest_configure(config: pytest.Config) -> None:
    # MindSpore's own deprecated calls (threading.getName at exit, numpy aliases, ...).
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:mindspore.*")
    config.addinivalue_line(
        "filterwarnings", "ignore:getName\\(\\) is deprecated:DeprecationWarning"
    )
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:onnx.*")
    config.addinivalue_line("filterwarnings", "ignore::UserWarning:mindspore.*")


@pytest.fixture(autouse=True)
def polyhub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh polyhub home per test, no progress bars, no inherited hub settings."""
    env = {"POLYHUB_RETRIES": "0"}
    with isolated_home(tmp_path / "polyhub-home", env=env, patch=monkeypatch) as home:
        yield home


@pytest.fixture
def realdata() -> Path:
    if not MSHUB.is_dir():
        pytest.skip(
            f"the real MindSpore Hub cards are not here ({MSHUB}); they live in shared/realdata"
        )
    return MSHUB


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """CKPT, MINDIR and ONNX of one tiny network, made by MindSpore on CPU."""
    return make_tiny_models(tmp_path_factory.mktemp("tiny"))


class Server(LoopbackHub):
    """A loopback HTTP server over one folder (``url``, ``root``, ``close()``)."""

    close = LoopbackHub.stop


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    with Server(root) as srv:
        yield srv


def commit_all(repo: Path, message: str = "c") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


CONF = """\
import src
import src.net as net_module

def create_network(name, *args, **kwargs):
    if name == "tinydense":
        net = net_module.TinyDense(*args, **kwargs)
        net.repo_marker = src.MARKER
        return net
    raise NotImplementedError(name)
"""


@pytest.fixture
def make_code_repo(tmp_path: Path) -> Callable[..., Path]:
    """A local git repo with mindspore_hub_conf.py and a src/ package; returns its path.

    ``canary``: a file the conf module creates when it is imported (proof that code ran).
    ``marker``: a constant in src/ that tells two repos' modules apart.
    """

    def make(
        name: str = "models", *, sub: str = "", canary: Path | None = None, marker: str = ""
    ) -> Path:
        repo = tmp_path / "repos" / name
        folder = repo / sub if sub else repo
        (folder / "src").mkdir(parents=True)
        (folder / "src" / "__init__.py").write_text(f"MARKER = {marker!r}\n")
        (folder / "src" / "net.py").write_text(TINY_NET_SOURCE)
        conf = CONF
        if canary is not None:
            conf = f"with open({str(canary)!r}, 'w') as f:\n    f.write('ran')\n" + conf
        (folder / "mindspore_hub_conf.py").write_text(conf)
        git(repo, "init", "-q", "-b", "main")
        commit_all(repo)
        return repo

    return make


@pytest.fixture
def hub_root(tmp_path: Path) -> Path:
    """An empty hub repository tree (``<root>/mshub_res/assets``)."""
    root = tmp_path / "hub"
    (root / "mshub_res" / "assets").mkdir(parents=True)
    return root


def write_card(hub: Path, uid: str, text: str) -> Path:
    path = hub / "mshub_res" / "assets" / f"{uid}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def publish(server: Server, tiny: dict[str, Path]) -> Callable[..., tuple[str, str]]:
    """Copy a tiny model file to the server; return (URL, sha256)."""

    def put(fmt: str, name: str | None = None, data: bytes | None = None) -> tuple[str, str]:
        src = tiny[fmt]
        body = src.read_bytes() if data is None else data
        target = server.root / "files" / (name or src.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        return f"{server.url}/files/{target.name}", sha256_of(target)

    return put


__all__ = ["MSHUB", "Server", "card_text", "commit_all", "git", "write_card"]


@pytest.fixture
def h() -> object:
    """Helpers for tests (pytest's importlib mode keeps conftest out of imports)."""
    import types

    return types.SimpleNamespace(
        write_card=write_card, git=git, commit_all=commit_all, card_text=card_text
    )


# -- the REAL MindSpore hub and model code, served by the root conftest's ``realhubs`` ---------

REAL_HUB_URL = "https://gitee.com/mindspore/hub.git"
REAL_MODELS_URL = "https://gitee.com/mindspore/models.git"

# Cards whose checkpoints the tests publish: uid -> (hub branch of the card, models folder at
# r1.6, network name, create_network positional args, keyword args, input shape, asset-link).
REAL_CKPTS = {
    "mindspore/ascend/1.0/alexnet_v1_cifar10": (
        "r1.6",
        "official/cv/alexnet",
        "alexnet",
        (),
        {"num_classes": 10},
        (1, 3, 227, 227),
        "https://download.mindspore.cn/model_zoo/official/cv/alexnet/"
        "alexnet_ascend_1.0_cifar10_official_classification_20201214/alexnet.ckpt",
    ),
    "mindspore/ascend/0.7/lenet_v1_mnist": (
        "r1.6",
        "official/cv/lenet",
        "lenet",
        (10,),
        {},
        (1, 1, 32, 32),
        "https://download.mindspore.cn/model_zoo/official/cv/lenet/"
        "lenet_ascend_0.5.0_mnist_official_classification_20200716/lenet.ckpt",
    ),
    "mindspore/gpu/1.0/googlenet_v1_cifar10": (
        "r1.6",
        "official/cv/googlenet",
        "googlenet",
        (),
        {"num_classes": 10},
        (1, 3, 224, 224),
        "https://download.mindspore.cn/model_zoo/official/cv/googlenet/"
        "googlenet_gpu_1.0_cifar10_official_classification_20200922/googlenet.ckpt",
    ),
    "mindspore/1.6/lenet_mnist": (
        "master",
        "official/cv/lenet",
        "lenet",
        (10,),
        {},
        (1, 1, 32, 32),
        "https://download.mindspore.cn/models/r1.6/lenet_ascend_v160_mnist_official_cv_acc98.49.ckpt",
    ),
    "mindspore/1.3/googlenet_cifar10": (
        "master",
        "official/cv/googlenet",
        "googlenet",
        (),
        {"num_classes": 10},
        (1, 3, 224, 224),
        "https://download.mindspore.cn/models/r1.3/googlenet_ascend_v130_cifar10_official_cv_acc92.53.ckpt",
    ),
}

# Runs in a child process: each model folder has its own `src` package, and the test
# process must not import any of them itself.
_MAKE_CKPTS = """
import json, shutil, sys
import numpy as np, mindspore as ms
jobs = json.loads(sys.argv[1])
made = {}
for job in jobs:
    key = json.dumps([job[k] for k in ("folder", "name", "args", "kwargs", "shape")])
    if key in made:  # the same network for another card: the same files
        for k in ("ckpt", "x", "y"):
            shutil.copyfile(made[key][k], job[k])
        continue
    made[key] = job
    for name in [m for m in sys.modules if m == "src" or m.startswith("src.")]:
        del sys.modules[name]
    sys.modules.pop("mindspore_hub_conf", None)
    sys.path.insert(0, job["folder"])
    import mindspore_hub_conf
    ms.set_seed(7)
    net = mindspore_hub_conf.create_network(job["name"], *job["args"], **job["kwargs"])
    net.set_train(False)
    x = np.random.default_rng(0).standard_normal(job["shape"]).astype(np.float32)
    np.save(job["x"], x)
    np.save(job["y"], net(ms.Tensor(x)).asnumpy())
    ms.save_checkpoint(net, job["ckpt"])
    sys.path.remove(job["folder"])
"""


@pytest.fixture(scope="session")
def real_ms_hub(realhubs: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The real hub (every branch) and model code served; real checkpoints published.

    The real checkpoints (trained on Ascend/GPU, at download.mindspore.cn) are not
    here, so for each card of :data:`REAL_CKPTS` a checkpoint of the REAL network
    (the models repository's r1.6 code, run by MindSpore on CPU) is served at the
    card's real asset-link path. Its bytes differ from the published ones, so the
    card's ``asset-sha256`` on the served branch (r1.6 or master) is changed to match,
    in one commit per branch: without that, polyhub would (rightly) refuse the file. Nothing else of
    the cards changes. Returns ``hub`` (the served bare repository), ``realhubs``
    and ``models``: uid -> ``digest``, ``x`` (an input) and ``y`` (the network's output).
    """
    import hashlib
    import json
    import re
    import sys

    import numpy as np

    hub = realhubs.serve_repo("mindspore-hub.bundle", REAL_HUB_URL)
    models_repo = realhubs.serve_repo("mindspore-models-subset.bundle", REAL_MODELS_URL)
    tmp = tmp_path_factory.mktemp("real-ms-hub")
    code = tmp / "code"
    code.mkdir()
    folders = sorted({spec[1] for spec in REAL_CKPTS.values()})
    archive = subprocess.run(
        ["git", "--git-dir", str(models_repo), "archive", "r1.6", *folders],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
    jobs = []
    for i, (uid, (branch, folder, name, args, kwargs, shape, url)) in enumerate(REAL_CKPTS.items()):
        ckpt = realhubs.local_path(url)
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        jobs.append(
            {
                "uid": uid,
                "branch": branch,
                "folder": str(code / folder),
                "name": name,
                "args": list(args),
                "kwargs": kwargs,
                "shape": list(shape),
                "ckpt": str(ckpt),
                "x": str(tmp / f"x{i}.npy"),
                "y": str(tmp / f"y{i}.npy"),
            }
        )
    subprocess.run(
        [sys.executable, "-c", _MAKE_CKPTS, json.dumps(jobs)], check=True, capture_output=True
    )
    models: dict[str, Any] = {}
    for branch in sorted({job["branch"] for job in jobs}):
        work = realhubs.worktree(hub, branch, tmp / f"hub-{branch}")
        for job in (j for j in jobs if j["branch"] == branch):
            digest = hashlib.sha256(Path(job["ckpt"]).read_bytes()).hexdigest()
            card = work / "mshub_res" / "assets" / f"{job['uid']}.md"
            text = card.read_text(encoding="utf-8")
            old = re.search(r"asset-sha256:\s*([0-9a-f]{64})", text)
            assert old is not None and old.group(1) != digest
            card.write_text(text.replace(old.group(1), digest), encoding="utf-8")
            models[job["uid"]] = {
                "digest": digest,
                "branch": branch,
                "x": np.load(job["x"]),
                "y": np.load(job["y"]),
            }
        realhubs.push(work, "tests: asset-sha256 of checkpoints of the real networks made on CPU")
    return {"hub": hub, "realhubs": realhubs, "models": models}

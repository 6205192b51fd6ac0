"""``polyhub demo`` for MegEngine: a tiny hubconf repository shaped like MegEngine/Models.

The repository (a local bare git repo, reached over ``file://``) holds a
two-layer perceptron under ``official/vision/classification/tinynet/`` and a
``hubconf.py`` that re-exports it, as MegEngine/Models does. Its factory is
decorated with MegEngine's own ``@hub.pretrained``; the weights file is served
by the demo runner over loopback HTTP. The URL is read from
``POLYHUB_MEGENGINE_DEMO_URL`` when hubconf is imported (the runner puts the
served address there), and carries ``#sha256=`` so the download is verified.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from polyhub import DemoCase, file_sha256

__all__ = ["TINY_NET_SOURCE", "build_demo", "git_commit_all"]

TINY_NET_SOURCE = '''"""A tiny classifier standing in for a real backbone."""
import megengine.functional as F
import megengine.module as M
from megengine import hub


class TinyNet(M.Module):
    """Two linear layers: 8 features in, ``num_classes`` scores out."""

    def __init__(self, in_features=8, hidden=16, num_classes=4):
        super().__init__()
        self.fc1 = M.Linear(in_features, hidden)
        self.fc2 = M.Linear(hidden, num_classes)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
'''

_HUBCONF = """import os

from official.vision.classification.tinynet.model import TinyNet, tinynet  # noqa: F401

dependencies = ["megengine", "numpy"]
"""

_FACTORY = '''

_BASE = os.environ.get("POLYHUB_MEGENGINE_DEMO_URL", "http://127.0.0.1:8000")


@hub.pretrained(_BASE + "/weights/tinynet.pkl#sha256={sha256}")
def tinynet(**kwargs):
    """TinyNet with pretrained weights (8 features in, 4 classes out)."""
    return TinyNet(**kwargs)
'''

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "polyhub demo",
    "GIT_AUTHOR_EMAIL": "demo@polyhub.invalid",
    "GIT_COMMITTER_NAME": "polyhub demo",
    "GIT_COMMITTER_EMAIL": "demo@polyhub.invalid",
}


def _git(args: list[str], cwd: Path) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **_GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def git_commit_all(worktree: Path, message: str, *, branch: str = "master") -> str:
    """Commit every file of ``worktree`` (initialising it on ``branch``); returns the commit."""
    if not (worktree / ".git").exists():
        _git(["init", "--quiet", "-b", branch], worktree)
    _git(["add", "--all"], worktree)
    _git(["commit", "--quiet", "--allow-empty", "-m", message], worktree)
    return _git(["rev-parse", "HEAD"], worktree)


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def build_demo(directory: Path) -> DemoCase:
    """Write the demo repository and its weights under ``directory``."""
    import megengine  # type: ignore[import-untyped]
    import numpy as np

    namespace: dict[str, Any] = {}
    exec(
        compile(TINY_NET_SOURCE, "tinynet-model", "exec"), namespace
    )  # our own source, not a repo's
    net = namespace["TinyNet"]()
    rng = np.random.default_rng(20240611)
    weights = {
        k: rng.standard_normal(v.shape).astype("float32") for k, v in net.state_dict().items()
    }
    (directory / "weights").mkdir(parents=True, exist_ok=True)
    weights_file = directory / "weights" / "tinynet.pkl"
    megengine.save(weights, str(weights_file))
    sha256 = file_sha256(weights_file)

    work = directory / "src" / "models"
    package = "official/vision/classification/tinynet"
    _write(
        work,
        {
            "hubconf.py": _HUBCONF,
            "official/__init__.py": "",
            "official/vision/__init__.py": "",
            "official/vision/classification/__init__.py": "",
            f"{package}/__init__.py": "",
            f"{package}/model.py": TINY_NET_SOURCE.replace(
                "from megengine import hub\n", "import os\n\nfrom megengine import hub\n"
            )
            + _FACTORY.format(sha256=sha256),
        },
    )
    git_commit_all(work, "TinyNet demo model")
    bare = directory / "git" / "models.git"
    bare.parent.mkdir(parents=True, exist_ok=True)
    _git(["clone", "--quiet", "--bare", str(work), str(bare)], directory)
    probe = np.linspace(-1.0, 1.0, 8, dtype="float32").reshape(1, 8)

    def run(model: Any) -> str:
        model.eval()
        # Inputs go where the parameters are (MegEngine compares devices by name).
        device = next(iter(model.parameters())).device
        scores = model(megengine.tensor(probe, device=device)).numpy()
        return (
            f"scores [{', '.join(f'{v:.3f}' for v in scores[0])}] -> class {int(scores.argmax())}"
        )

    return DemoCase(
        address=f"megengine:{bare.as_uri()}/tinynet",
        options={"pretrained": True, "trust_repo": True, "device": "cpu"},
        env={"POLYHUB_MEGENGINE_DEMO_URL": "{base_url}"},
        run=run,
        title="MegEngine hub: hubconf.py repository, @hub.pretrained weights over HTTP",
    )

"""Round trips of models with code: a MindSpore CKPT + mindspore_hub_conf.py, a MegEngine hubconf.

The original code repository is deleted before the registry load: the code
that runs must be the registry's code layer, and trust follows the rule
"the original repository is trusted, or the registry repository is".
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import polyhub
import pytest
from polyhub.publish import push

from .conftest import Registry

CONF = """\
import src.net as net_module

def create_network(name, *args, **kwargs):
    if name == "tinydense":
        return net_module.TinyDense(*args, **kwargs)
    raise NotImplementedError(name)
"""

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **_GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def mindspore_hub(tmp_path: Path) -> tuple[Path, Path]:
    """A MindSpore hub folder with one CKPT card whose network comes from a local code repo."""
    pytest.importorskip("mindspore")
    from polyhub_mindspore.demo import TINY_NET_SOURCE, card_text, make_tiny_models, sha256_of

    files = make_tiny_models(tmp_path / "files", formats=("ckpt",))
    repo = tmp_path / "code-repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "__init__.py").write_text("")
    (repo / "src" / "net.py").write_text(TINY_NET_SOURCE)
    (repo / "mindspore_hub_conf.py").write_text(CONF)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "tiny")
    hub = tmp_path / "hub"
    card = hub / "mshub_res" / "assets" / "mindspore" / "2.10" / "tiny_ckpt.md"
    card.parent.mkdir(parents=True)
    ckpt = files["ckpt"]
    card.write_text(
        card_text(
            name="TinyDense",
            assets=[("ckpt", ckpt.as_uri(), sha256_of(ckpt))],
            repo_link=f"file://{repo}/tree/main",
        ),
        encoding="utf-8",
    )
    return hub, repo


def _run_ms(net: object) -> np.ndarray:
    import mindspore

    return net(mindspore.Tensor(np.ones((1, 4), np.float32))).asnumpy()  # type: ignore[operator]


def test_mindspore_ckpt_with_code(
    registry: Registry,
    mindspore_hub: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub, repo = mindspore_hub
    address = f"mindspore:mindspore/2.10/tiny_ckpt?hub={hub}"
    original = polyhub.load(address, device="cpu", trust_repo=True)
    commit = _git(repo, "rev-parse", "HEAD")
    ref = push(address, f"oci://{registry.host}/ms/tiny-ckpt:v1")

    card = polyhub.info(f"oci:{registry.host}/ms/tiny-ckpt:v1")
    assert card.code is not None and card.code.revision == commit
    assert card.metadata["oci"]["revision"] == commit

    shutil.rmtree(repo)  # the code can now come from the registry only
    polyhub.set_dir(tmp_path / "node")
    # Neither the original repository nor the registry repository is trusted: nothing runs.
    with pytest.raises(polyhub.UntrustedError):
        polyhub.load(f"oci:{registry.host}/ms/tiny-ckpt:v1", device="cpu", trust_repo=False)
    # Trusting the registry repository is enough.
    net = polyhub.load(
        f"oci:{registry.host}/ms/tiny-ckpt@{ref.rsplit('@', 1)[1]}", device="cpu", trust_repo=True
    )
    np.testing.assert_allclose(_run_ms(net), _run_ms(original), rtol=1e-6)

    # In another empty home, trusting the ORIGINAL repository is enough too.
    polyhub.set_dir(tmp_path / "node2")
    monkeypatch.setenv("POLYHUB_TRUSTED_REPOS", f"file://{os.path.realpath(repo)}")
    net = polyhub.load(f"oci:{registry.host}/ms/tiny-ckpt:v1", device="cpu", trust_repo=False)
    np.testing.assert_allclose(_run_ms(net), _run_ms(original), rtol=1e-6)


def test_megengine_hubconf(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("megengine")
    import megengine
    from polyhub.demo import serve_directory
    from polyhub_megengine.demo import build_demo

    demo_dir = tmp_path / "me-demo"
    demo_dir.mkdir()
    case = build_demo(demo_dir)
    probe = np.linspace(-1.0, 1.0, 8, dtype="float32").reshape(1, 8)
    with serve_directory(demo_dir) as base_url:
        for key, value in case.env.items():
            monkeypatch.setenv(key, value.replace("{base_url}", base_url))
        options = dict(case.options)
        original = polyhub.load(case.address, **options)
        original.eval()
        expected = original(megengine.tensor(probe)).numpy()
        ref = push(case.address, f"oci://{registry.host}/me/tinynet:v1")
        assert "@sha256:" in ref

        shutil.rmtree(demo_dir / "git")  # the hubconf repository is gone
        polyhub.set_dir(tmp_path / "node")
        options.pop("trust_repo")
        with pytest.raises(polyhub.UntrustedError):
            polyhub.load(f"oci:{registry.host}/me/tinynet:v1", trust_repo=False, **options)
        model = polyhub.load(f"oci:{registry.host}/me/tinynet:v1", trust_repo=True, **options)
        model.eval()
        np.testing.assert_allclose(model(megengine.tensor(probe)).numpy(), expected, rtol=1e-6)

"""Round trips of models with code: a MindSpore CKPT + mindspore_hub_conf.py, a MegEngine hubconf.

The original code repository is deleted before the registry load: the code
that runs must be the registry's code layer, and trust follows the rule
"the original repository is trusted, or the registry repository is".
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import polyhub
import pytest
from polyhub._publish import push

from .conftest import Registry, _git


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
    from polyhub._demo import serve_directory
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
        # A second pre-warm host (another cache) pushes the very same artifact:
        # nothing of the pushing machine (its cache paths) is in the config.
        polyhub.set_dir(tmp_path / "second-pusher")
        assert push(case.address, f"oci://{registry.host}/me/tinynet:v1") == ref
        config = polyhub.info(f"oci:{registry.host}/me/tinynet:v1")
        for cache in (tmp_path / "home", tmp_path / "second-pusher"):
            assert str(cache) not in str(config.metadata)

        shutil.rmtree(demo_dir / "git")  # the hubconf repository is gone
        polyhub.set_dir(tmp_path / "node")
        options.pop("trust_repo")
        with pytest.raises(polyhub.UntrustedError):
            polyhub.load(f"oci:{registry.host}/me/tinynet:v1", trust_repo=False, **options)
        model = polyhub.load(f"oci:{registry.host}/me/tinynet:v1", trust_repo=True, **options)
        model.eval()
        np.testing.assert_allclose(model(megengine.tensor(probe)).numpy(), expected, rtol=1e-6)

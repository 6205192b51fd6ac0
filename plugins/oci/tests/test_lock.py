"""Lock files and bundles: pin a set of models, carry it to a machine with no network."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import polyhub
import pytest
from polyhub._cli import main
from polyhub._lockfile import LockMismatchError

from .conftest import Hub, _git

ONNX = "onnx:tiny-mlp?opset=17"
MS = "mindspore:mindspore/2.10/tiny_ckpt?hub={hub}"


def _ort(session: object) -> np.ndarray:
    feeds = {
        i.name: np.ones([d if isinstance(d, int) else 1 for d in i.shape], np.float32)
        for i in session.get_inputs()
    }  # type: ignore[attr-defined]
    return session.run(None, feeds)[0]  # type: ignore[attr-defined]


def _ms(net: object) -> np.ndarray:
    import mindspore

    return net(mindspore.Tensor(np.ones((1, 4), np.float32))).asnumpy()  # type: ignore[operator]


def test_lock_bundle_unbundle_offline(
    onnx_hub: Hub,
    mindspore_hub: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub, repo = mindspore_hub
    ms = MS.format(hub=hub)
    lock = tmp_path / "polyhub.lock"
    assert main(["lock", ONNX, ms, "-o", str(lock)]) == 0
    data = json.loads(lock.read_text())
    by_address = {m["address"]: m for m in data["models"]}
    assert by_address[ms]["code"]["commit"] == _git(repo, "rev-parse", "HEAD")
    assert by_address[ms]["code"]["revision"] == "main"
    for model in data["models"]:
        for asset in model["assets"]:
            assert len(asset["sha256"]) == 64 and asset["size"] > 0 and asset["url"]
    expected_onnx = _ort(polyhub.load(ONNX, device="cpu", lock=lock))
    expected_ms = _ms(polyhub.load(ms, device="cpu", trust_repo=True, lock=lock))

    assert main(["sync", str(lock)]) == 0
    bundle = tmp_path / "models.tar"
    assert main(["bundle", str(lock), "-o", str(bundle)]) == 0

    # The air-gapped machine: an empty home, no network at all.
    onnx_hub.server.stop()
    import shutil

    shutil.rmtree(repo)
    polyhub.set_dir(tmp_path / "airgap")
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")

    def no_socket(*args: object, **kwargs: object) -> None:
        raise AssertionError("a socket was opened on the air-gapped machine")

    monkeypatch.setattr(socket.socket, "connect", no_socket)
    capsys.readouterr()
    assert main(["unbundle", str(bundle)]) == 0
    local_lock = Path(capsys.readouterr().out.strip())
    assert local_lock.is_file()
    np.testing.assert_allclose(
        _ort(polyhub.load(ONNX, device="cpu", lock=local_lock)), expected_onnx
    )
    np.testing.assert_allclose(
        _ms(polyhub.load(ms, device="cpu", trust_repo=True, lock=local_lock)),
        expected_ms,
        rtol=1e-6,
    )


def test_lock_refuses_a_changed_model(onnx_hub: Hub, tmp_path: Path) -> None:
    from polyhub_onnx.demo import HubModel, demo_models, tiny_mlp, write_hub

    lock = tmp_path / "polyhub.lock"
    assert main(["lock", ONNX, "-o", str(lock)]) == 0
    # The hub republishes the same name with other weights.
    others = [m for m in demo_models() if m.name != "tiny-mlp"]
    write_hub(onnx_hub.root, [HubModel("tiny-mlp", tiny_mlp(17, seed=5), ("demo",)), *others])
    polyhub.set_dir(tmp_path / "fresh")
    with pytest.raises(LockMismatchError, match="sha256"):
        polyhub.load(ONNX, device="cpu", lock=lock)
    with pytest.raises(LockMismatchError, match="not in the lock file"):
        polyhub.load("onnx:add-relu", device="cpu", lock=lock)
    # Without the lock the new model loads: the refusal is the lock's doing.
    polyhub.load(ONNX, device="cpu")


def test_lock_pins_the_code_commit(mindspore_hub: tuple[Path, Path], tmp_path: Path) -> None:
    hub, repo = mindspore_hub
    ms = MS.format(hub=hub)
    lock = tmp_path / "polyhub.lock"
    assert main(["lock", ms, "-o", str(lock)]) == 0
    locked = json.loads(lock.read_text())["models"][0]["code"]["commit"]
    # The branch moves on: a new commit that breaks the network.
    (repo / "mindspore_hub_conf.py").write_text(
        "def create_network(name, *a, **k):\n    raise RuntimeError('moved')\n"
    )
    _git(repo, "commit", "-qam", "moved")
    polyhub.set_dir(tmp_path / "fresh")
    # The locked commit runs (the moved one would raise RuntimeError('moved')).
    net = polyhub.load(ms, device="cpu", trust_repo=True, lock=lock)
    assert _ms(net).ndim == 2
    with pytest.raises(RuntimeError, match="moved"):
        polyhub.load(ms, device="cpu", trust_repo=True, force_reload=True)
    card = polyhub.info(ms)
    assert card.code is not None
    from polyhub._lockfile import apply_lock, read

    assert apply_lock(card, read(lock), polyhub.make_context(), address=ms).code.revision == locked  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "extra",
    [
        # a blob the lock does not name (bytes unverified), and a member outside the layout
        ("blobs/sha256/47/" + "47" * 32, b"G" * 131),
        ("stat/sha256/47/" + "47" * 32 + ".json", b"{}"),
    ],
)
def test_unbundle_refuses_unlisted_members_and_merges_nothing(
    onnx_hub: Hub, tmp_path: Path, extra: tuple[str, bytes]
) -> None:
    import io
    import tarfile

    from polyhub._errors import UnsafeArchiveError

    lock = tmp_path / "polyhub.lock"
    bundle = tmp_path / "models.tar"
    assert main(["lock", ONNX, "-o", str(lock)]) == 0
    assert main(["bundle", str(lock), "-o", str(bundle)]) == 0
    name, data = extra
    with tarfile.open(bundle, "a") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    home = tmp_path / "airgap"
    polyhub.set_dir(home)
    from polyhub._bundle import extract

    with pytest.raises(UnsafeArchiveError):
        extract(bundle, polyhub.make_context())
    merged = [p for p in home.rglob("*") if p.is_file() and p.name != "CACHEDIR.TAG"]
    assert merged == []


def test_code_changed_in_a_bundle_or_the_cache_never_runs(
    mindspore_hub: tuple[Path, Path], tmp_path: Path
) -> None:
    """A checkout carries no git objects to prove its commit: the lock's content digest does."""
    import io
    import tarfile

    from polyhub import HashMismatchError
    from polyhub._bundle import extract

    hub, _ = mindspore_hub
    ms = MS.format(hub=hub)
    lock = tmp_path / "polyhub.lock"
    bundle = tmp_path / "models.tar"
    assert main(["lock", ms, "-o", str(lock)]) == 0
    assert len(json.loads(lock.read_text())["models"][0]["code"]["tree_sha256"]) == 64
    assert main(["bundle", str(lock), "-o", str(bundle)]) == 0

    # The same bundle with its code edited: what runs at import would be the attacker's.
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(bundle) as src, tarfile.open(tampered, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if member.name.endswith("/mindspore_hub_conf.py") and data is not None:
                data += b"\nopen('/tmp/polyhub-owned', 'w').close()\n"
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    home = tmp_path / "airgap"
    polyhub.set_dir(home)
    with pytest.raises(HashMismatchError, match="code checkout"):
        extract(tampered, polyhub.make_context())
    assert [p for p in home.rglob("*") if p.is_file() and p.name != "CACHEDIR.TAG"] == []

    # The untouched bundle unbundles; then the cached checkout is edited: a locked load refuses it.
    extract(bundle, polyhub.make_context())
    (conf,) = (home / "git" / "checkouts").rglob("mindspore_hub_conf.py")
    conf.chmod(0o644)
    conf.write_text(conf.read_text() + "\nraise SystemExit('owned')\n")
    with pytest.raises(HashMismatchError, match="code checkout"):
        polyhub.load(ms, device="cpu", trust_repo=True, lock=lock, offline=True)

"""Real data: the real MegEngine/Models repository (shared/realdata) pushed through a registry.

``megengine:megengine/models/resnet18`` is a code-only card: its artifact holds
the repository at the pinned commit as a code layer. The test checks that the
layer, read back from the registry into an empty home with the original
repository gone, is byte for byte the commit's tree (namespace packages
without ``__init__.py`` and all), and that the card keeps the real entry.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import polyhub
import pytest
from polyhub._publish import push

from .conftest import Registry

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared"
BUNDLE = SHARED / "realdata" / "repos" / "MegEngine-Models.bundle"


@pytest.fixture
def megengine_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if not BUNDLE.is_file():
        pytest.skip(f"the real MegEngine/Models bundle is not here ({BUNDLE}); see shared/realdata")
    mirror = tmp_path / "mirror" / "github.com"
    bare = mirror / "megengine" / "models.git"
    bare.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--mirror", str(BUNDLE), str(bare)], check=True)
    monkeypatch.setenv("POLYHUB_MIRRORS", f"https://github.com={mirror.as_uri()}")
    return bare


def test_real_megengine_repository_round_trip(
    registry: Registry, megengine_models: Path, tmp_path: Path
) -> None:
    import shutil

    card = polyhub.info("megengine:megengine/models/resnet18")
    assert card.code is not None
    ref = push("megengine:megengine/models/resnet18", f"oci://{registry.host}/real/resnet18:v1")
    commit = subprocess.run(
        ["git", "--git-dir", str(megengine_models), "rev-parse", "master"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tree = {}
    listing = subprocess.run(
        ["git", "--git-dir", str(megengine_models), "ls-tree", "-r", "-z", commit],
        capture_output=True,
        check=True,
    ).stdout
    for entry in filter(None, listing.split(b"\0")):
        meta, path = entry.split(b"\t", 1)
        mode, kind, obj = meta.split()
        if kind == b"blob" and mode != b"120000":
            tree[path.decode()] = obj.decode()
    shutil.rmtree(megengine_models)  # only the registry has the code now

    polyhub.set_dir(tmp_path / "node")
    got = polyhub.info(f"oci:{registry.host}/real/resnet18@{ref.rsplit('@', 1)[1]}")
    assert got.code is not None
    assert got.code.revision == commit and got.code.entry == "resnet18"
    assert got.metadata["oci"]["source"] == str(card.address)

    checkout = polyhub.make_context().checkout(got.code.url, got.code.revision)
    files = {
        str(p.relative_to(checkout.path)): p
        for p in Path(checkout.path).rglob("*")
        if p.is_file() and p.name != ".polyhub-complete"
    }
    assert set(files) == set(tree), "the code layer is not the commit's tree"
    for path, obj in tree.items():
        blob = subprocess.run(
            ["git", "hash-object", str(files[path])], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert blob == obj, f"{path} differs from the commit's blob"
    assert "hubconf.py" in files and not (Path(checkout.path) / "official" / "__init__.py").exists()

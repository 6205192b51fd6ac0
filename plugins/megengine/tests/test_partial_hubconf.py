"""A hubconf.py that cannot be imported whole still yields the entrypoints whose modules import.

The real MegEngine/Models hubconf.py imports every model family at module level;
one family's missing package (youtokentome, which has no wheel) must not make
resnet18 unloadable.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polyhub
import pytest

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
BUNDLE = SHARED / "realdata" / "repos" / "MegEngine-Models.bundle"
# What the real hubconf.py imports at module level that this environment may lack.
OPTIONAL = ("ftfy", "regex", "youtokentome")


def test_the_entry_loads_when_another_family_lacks_a_package(
    tmp_path: Path, h: Any, mge: Any
) -> None:
    repo, _ = h.make_repo(
        tmp_path,
        {
            "hubconf.py": (
                "from official.vision.tiny import tiny\n"
                "from official.text.model import talker as talk\n"
            ),
            "official/vision/__init__.py": "",
            "official/vision/tiny.py": h.TINY_NET.replace("HIDDEN", "8")
            + "\ndef tiny(**kwargs):\n    return TinyNet(**kwargs)\n",
            # official/ and official/text/ are namespace packages, as in the real repo.
            "official/text/model.py": (
                "import polyhub_absent_tokenizer\nimport polyhub_absent_bpe.sub\n"
                "def talker():\n    return 1\n"
            ),
        },
    )
    path = list(sys.path)
    model = polyhub.load(f"megengine:{repo.url}/tiny", trust_repo=True)
    assert type(model).__name__ == "TinyNet"
    with pytest.raises(polyhub.MissingDependencyError) as info:
        polyhub.load(f"megengine:{repo.url}/talk", trust_repo=True)
    assert info.value.missing == ["polyhub_absent_bpe", "polyhub_absent_tokenizer"]
    assert "official/text/model.py:1" in str(info.value)
    assert sys.path == path
    assert not [n for n in sys.modules if n.split(".")[0] == "official"]


@pytest.fixture(scope="module")
def real_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not BUNDLE.is_file():
        pytest.skip(f"the real MegEngine/Models bundle is not at {BUNDLE} (../shared absent)")
    dest = tmp_path_factory.mktemp("real") / "Models"
    subprocess.run(["git", "clone", "-q", str(BUNDLE), str(dest)], check=True, capture_output=True)
    return dest


@pytest.mark.parametrize("form", ["folder", "repo-query"])
def test_real_megengine_models_resnet18_imports(real_models: Path, mge: Any, form: str) -> None:
    address = (
        f"megengine:{real_models}/resnet18"
        if form == "folder"
        else f"megengine:resnet18?repo={real_models.as_uri()}"
    )
    model = polyhub.load(address, pretrained=False, trust_repo=True, device="cpu")
    assert type(model).__name__ == "ResNet"
    model.eval()
    out = model(mge.tensor(np.zeros((1, 3, 224, 224), dtype="float32")))
    assert out.shape == (1, 1000)
    assert not [n for n in sys.modules if n.split(".")[0] == "official"]


def test_real_clip_entry_names_every_missing_package(real_models: Path) -> None:
    absent = [n for n in OPTIONAL if importlib.util.find_spec(n) is None]
    if not absent:
        pytest.skip("ftfy, regex and youtokentome are all installed here")
    with pytest.raises(polyhub.MissingDependencyError) as info:
        polyhub.load(f"megengine:{real_models}/rn50", trust_repo=True)
    assert info.value.missing == absent

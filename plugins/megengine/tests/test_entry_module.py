"""An entry loads when ``hubconf.py`` needs packages only other entries use.

MegEngine/Models' ``hubconf.py`` imports CLIP's tokenizer (ftfy, regex) and
DALL-E's (youtokentome) for every load; resnet18 needs none of them. Here a
small repository of that shape: ``hubconf.py`` re-exports a factory whose
module is fine and one whose module imports a package that does not exist.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import polyhub
import pytest

MISSING = "polyhub_no_such_tokenizer"


def repo_with_a_broken_neighbour(h: Any, root: Path, url: str) -> Any:
    repo, _ = h.make_repo(
        root,
        {
            "hubconf.py": (
                "from official.multimodal.clip import clip_rn50\n"
                "from official.vision.tiny import tiny, tiny as small\n"
            ),
            # official/ and official/vision/ are namespace packages, as upstream.
            "official/vision/tiny.py": (
                "from megengine import hub\n"
                "from official.vision.net import TinyNet\n\n"
                f"@hub.pretrained({url!r})\n"
                "def tiny(**kwargs):\n    return TinyNet(**kwargs)\n"
            ),
            "official/vision/net.py": h.TINY_NET.replace("HIDDEN", "16"),
            "official/multimodal/__init__.py": "",
            "official/multimodal/clip.py": (
                f"import {MISSING}\n\ndef clip_rn50(**kwargs):\n    return None\n"
            ),
        },
    )
    return repo


def test_entry_loads_from_its_own_module_when_hubconf_needs_a_missing_package(
    tmp_path: Path, h: Any, server: Any, weights: Any
) -> None:
    url = server.put("neighbour/tiny.pkl", weights.data)
    repo = repo_with_a_broken_neighbour(h, tmp_path, url)
    before = set(sys.modules)
    model = polyhub.load(f"megengine:{repo.url}/tiny", trust_repo=True, pretrained=True)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), weights.arrays[key])
    # hubconf binds the same function under another name too.
    again = polyhub.load(f"megengine:{repo.url}/small", pretrained=True)
    assert type(again) is type(model)
    assert not {m for m in set(sys.modules) - before if m.partition(".")[0] == "official"}


def test_entry_whose_own_module_needs_the_missing_package_still_fails(
    tmp_path: Path, h: Any, server: Any, weights: Any
) -> None:
    repo = repo_with_a_broken_neighbour(h, tmp_path, server.put("neighbour2/t.pkl", weights.data))
    with pytest.raises(ImportError, match=MISSING):
        polyhub.load(f"megengine:{repo.url}/clip_rn50", trust_repo=True)

"""Loading real tiny MindSpore models through polyhub.load, from hubs on disk, git and HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import polyhub
from polyhub_mindspore.demo import card_text

X = np.arange(4, dtype=np.float32).reshape(1, 4)


def _reference(tiny: dict[str, Path]) -> np.ndarray:
    """The tiny network's output computed straight from its MindIR with MindSpore."""
    import mindspore
    from mindspore import nn

    return nn.GraphCell(mindspore.load(str(tiny["mindir"])))(mindspore.Tensor(X)).asnumpy()


def _run(model: Any) -> np.ndarray:
    import mindspore

    return model(mindspore.Tensor(X)).asnumpy()


def test_mindir_from_local_hub_runs_like_mindspore(hub_root, h, publish, tiny):
    url, sha = publish("mindir")
    h.write_card(hub_root, "mindspore/2.5/tiny_mindir", card_text(name="TinyDense", assets=[("mindir", url, sha)]))
    net = polyhub.load("mindspore:mindspore/2.5/tiny_mindir", hub=str(hub_root), device="cpu")
    from mindspore import nn

    assert isinstance(net, nn.GraphCell)
    np.testing.assert_allclose(_run(net), _reference(tiny), rtol=1e-6)

"""The real MindSpore Hub cards' own usage code, run unchanged with the shim as ``mindspore_hub``.

Each test reads the card's ```python block AT TEST TIME from
``../shared/realdata/mindspore-hub`` (never copied here) and executes it as
written, with ``sys.modules["mindspore_hub"]`` set to
:mod:`polyhub_mindspore.compat.hub` for the duration. The hub, the model code and
checkpoints of the real networks come from ``real_ms_hub`` (conftest.py): the real
hosts, sent to loopback by ``POLYHUB_MIRRORS``.

Stubbed, because this machine lacks it (nothing else is):

* the accelerator: the cards call ``context.set_context(mode=GRAPH_MODE,
  device_target="Ascend"|"GPU", device_id=0)``; MindSpore here is the CPU build,
  which refuses those targets, so for the duration of the snippet
  ``mindspore.context.set_context`` runs the call with ``device_target="CPU"`` and
  without ``device_id`` (the mode and every other argument pass through unchanged);
* ``mindspore.dataset.transforms.py_transforms``, which the legacy (1.0) cards
  import but never use, and which MindSpore 2.x removed: an empty module stands
  there. With upstream ``mindspore_hub`` on MindSpore 2.x those two lines fail the
  same way; neither is the hub client's business.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polyhub_mindspore.compat.hub as mshub
import pytest

# card file (under shared/realdata/mindspore-hub) -> the uid its code loads
CARDS = {
    "assets-legacy/mindspore/ascend/1.0/alexnet_v1_cifar10.md": "mindspore/ascend/1.0/alexnet_v1_cifar10",
    "assets-legacy/mindspore/ascend/0.7/lenet_v1_mnist.md": "mindspore/ascend/0.7/lenet_v1_mnist",
    "assets-legacy/mindspore/gpu/1.0/googlenet_v1_cifar10.md": "mindspore/gpu/1.0/googlenet_v1_cifar10",
    "assets/mindspore/1.6/lenet_mnist.md": "mindspore/1.6/lenet_mnist",
}
# Not run: assets/mindspore/1.3/googlenet_cifar10.md links the models repository's r1.3
# branch, which the models bundle here does not hold (r1.6, r1.10, master); its code
# also calls mshub.load(model) without the num_classes GoogleNet requires in r1.6.


def python_block(card: Path) -> str:
    """The card's one ```python block, exactly as written."""
    (block,) = re.findall(r"^```python\n(.*?)^```", card.read_text(encoding="utf-8"), re.M | re.S)
    return block


@pytest.fixture
def card_world(real_ms_hub: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The served real hub, the shim as ``mindspore_hub``, and the two stubs above.

    Yields the list of ``set_context`` calls the snippet made (as written).
    """
    from mindspore import context

    monkeypatch.setenv("POLYHUB_MIRRORS", real_ms_hub["realhubs"].mirrors)
    monkeypatch.setattr(mshub, "_hub_dir", None, raising=False)
    monkeypatch.setitem(sys.modules, "mindspore_hub", mshub)
    removed = "mindspore.dataset.transforms.py_transforms"
    if removed not in sys.modules:
        monkeypatch.setitem(sys.modules, removed, types.ModuleType(removed))

    calls: list[Any] = []
    real_set_context = context.set_context

    def on_cpu(**kwargs: Any) -> Any:
        calls.append(dict(kwargs))
        kwargs.pop("device_id", None)
        if kwargs.get("device_target") in ("Ascend", "GPU"):
            kwargs["device_target"] = "CPU"
        return real_set_context(**kwargs)

    monkeypatch.setattr(context, "set_context", on_cpu)
    mode = context.get_context("mode")
    try:
        yield calls
    finally:
        real_set_context(mode=mode)


@pytest.mark.parametrize("card_file", sorted(CARDS))
def test_card_code_runs_unchanged(
    card_file: str, realdata: Path, real_ms_hub: dict[str, Any], card_world: list[Any]
) -> None:
    import mindspore
    from mindspore import context

    uid = CARDS[card_file]
    card = realdata / card_file
    code = python_block(card)
    assert "import mindspore_hub as mshub" in code and f'"{uid}"' in code
    namespace: dict[str, Any] = {"__name__": "__card__"}
    # The cards were published for MindSpore 1.x: polyhub notes it in its log, and the
    # suite's warnings-as-errors proves no Python warning reaches the card's code.
    exec(compile(code, f"<{card.name}>", "exec"), namespace)

    assert card_world and card_world[0]["device_target"] in ("Ascend", "GPU")
    network = namespace["network"]
    assert isinstance(network, mindspore.nn.Cell) and not network.training
    # The served checkpoint (at the card's own asset-link) is what the network holds.
    link = re.search(r"asset-link:\s*<?(https://[^>\s]+)", card.read_text(encoding="utf-8"))
    assert link is not None
    served = mindspore.load_checkpoint(str(real_ms_hub["realhubs"].local_path(link.group(1))))
    params = network.parameters_dict()
    weights = [k for k in served if k in params]
    assert weights and len(weights) == len(params)
    for key in weights:
        np.testing.assert_array_equal(params[key].asnumpy(), served[key].asnumpy(), err_msg=key)
    if uid.endswith("lenet_v1_mnist") or uid.endswith("lenet_mnist"):
        # One forward pass on a small one, outside graph mode (compiling is not the point).
        context.set_context(mode=context.PYNATIVE_MODE)
        expected = real_ms_hub["models"][uid]
        out = network(mindspore.Tensor(expected["x"])).asnumpy()
        np.testing.assert_allclose(out, expected["y"], rtol=1e-4, atol=1e-5)

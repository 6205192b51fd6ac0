"""A card published for an older MindSpore loads without a Python warning, with a logged note.

Nearly every real card predates the installed MindSpore (the README's legacy
AlexNet card says 1.0); the suite runs with warnings as errors, as users' may.
"""

from __future__ import annotations

import logging

import polyhub
import pytest
from polyhub_mindspore.demo import card_text


def test_older_card_loads_and_the_note_is_logged(hub_root, h, publish, make_code_repo, caplog):
    repo = make_code_repo()
    url, sha = publish("ckpt")
    h.write_card(
        hub_root,
        "mindspore/1.0/tiny_old",
        card_text(
            name="TinyDense",
            assets=[("ckpt", url, sha)],
            repo_link=f"file://{repo}/tree/main",
            mindspore_version="1.0",
        ),
    )
    with caplog.at_level(logging.WARNING, logger="polyhub"):
        net = polyhub.load(
            "mindspore:mindspore/1.0/tiny_old", hub=str(hub_root), device="cpu", trust_repo=True
        )
    from mindspore import nn

    assert isinstance(net, nn.Cell)
    assert any("published for MindSpore 1.0" in r.getMessage() for r in caplog.records)


def test_unreadable_checkpoint_of_an_older_card_names_the_version(
    hub_root, h, publish, make_code_repo, tiny
):
    repo = make_code_repo()
    whole = tiny["ckpt"].read_bytes()
    url, sha = publish("ckpt", name="broken.ckpt", data=whole[: len(whole) // 2])
    h.write_card(
        hub_root,
        "mindspore/1.0/broken_old",
        card_text(
            name="TinyDense",
            assets=[("ckpt", url, sha)],
            repo_link=f"file://{repo}/tree/main",
            mindspore_version="1.0",
        ),
    )
    with pytest.raises(polyhub.MetadataError) as err:
        polyhub.load(
            "mindspore:mindspore/1.0/broken_old", hub=str(hub_root), device="cpu", trust_repo=True
        )
    assert "broken.ckpt" in str(err.value) and "published for MindSpore 1.0" in str(err.value)

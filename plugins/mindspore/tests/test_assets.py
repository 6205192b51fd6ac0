"""The sha256 prefixes mindcv cards publish, checked by the core; files keep their names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polyhub
import pytest
from polyhub_mindspore.demo import card_text


def test_a_card_prefix_shows_in_info_json(hub_root, h, publish, polyhub_env):
    url, sha = publish("mindir", name="tiny_net-0a1b2c3d.mindir")
    h.write_card(
        hub_root,
        "mindspore/2.5/tiny_prefix",
        card_text(name="TinyDense", assets=[("mindir", url, sha[:8].upper())]),
    )
    done = subprocess.run(
        [sys.executable, "-m", "polyhub", "info", "--json", "mindspore:mindspore/2.5/tiny_prefix"],
        capture_output=True,
        text=True,
        env={**os.environ, "POLYHUB_MINDSPORE_HUB": str(hub_root)},
    )
    assert done.returncode == 0, done.stderr
    (asset,) = json.loads(done.stdout)["assets"]
    assert asset["sha256_prefix"] == sha[:8] and asset["sha256"] is None


def test_a_wrong_prefix_is_refused_and_nothing_is_cached(hub_root, h, publish, polyhub_env):
    url, sha = publish("mindir", name="tiny_net.mindir")
    wrong = "0" * 8 if not sha.startswith("0" * 8) else "1" * 8
    h.write_card(
        hub_root,
        "mindspore/2.5/tiny_bad_prefix",
        card_text(name="TinyDense", assets=[("mindir", url, wrong)]),
    )
    with pytest.raises(polyhub.HashMismatchError) as info:
        polyhub.load("mindspore:mindspore/2.5/tiny_bad_prefix", hub=str(hub_root), device="cpu")
    assert info.value.expected == f"{wrong}…" and info.value.actual == sha
    assert "tiny_net.mindir" in str(info.value) and url in str(info.value)
    for folder in ("blobs", "urls", "names"):
        assert not (polyhub_env / folder).exists(), folder
    assert not [p for p in (polyhub_env / "tmp").rglob("*") if p.is_file()]


def test_a_right_prefix_loads_from_a_file_that_keeps_its_name(
    hub_root, h, publish, tiny, polyhub_env, monkeypatch
):
    # MindSpore opens only files named *.mindir: the cache's path is the asset's own name.
    url, sha = publish("mindir", name="tiny_net-1234.mindir")
    h.write_card(
        hub_root,
        "mindspore/2.5/tiny_good_prefix",
        card_text(name="TinyDense", assets=[("mindir", url, sha[:8])]),
    )
    done = polyhub._api.load_detailed(
        "mindspore:mindspore/2.5/tiny_good_prefix", hub=str(hub_root), device="cpu"
    )
    assert done.path is not None and done.path.name == "tiny_net-1234.mindir"
    import mindspore

    x = np.ones((2, 4), dtype=np.float32)
    assert done.model(mindspore.Tensor(x)).asnumpy().shape[0] == 2
    # A lock file pins the whole sha256 and keeps the prefix the card published.
    from polyhub._lockfile import create

    monkeypatch.setenv("POLYHUB_MINDSPORE_HUB", str(hub_root))
    lock = create(["mindspore:mindspore/2.5/tiny_good_prefix"], polyhub.make_context())
    (locked,) = lock.models[0].assets
    assert locked["sha256"] == sha and locked["sha256_prefix"] == sha[:8]
    # The plugin keeps no links or indexes of its own outside its storage folder.
    assert not (polyhub_env / "mindspore").exists()
    assert not (polyhub_env / "index" / "mindspore").exists()


def test_real_mindcv_cards_keep_their_prefix(realdata: Path):
    from polyhub_mindspore.card import build_card, read_card
    from polyhub_mindspore.uid import uid_from_relpath

    path = realdata / "assets" / "mindspore" / "2.3" / "hrnet_w32_imagenet2012.md"
    uid = uid_from_relpath("mindspore/2.3/hrnet_w32_imagenet2012.md")
    assert uid is not None
    card = build_card(
        read_card(path.read_text(encoding="utf-8"), str(path)),
        uid,
        polyhub.Address("mindspore", str(uid)),
    )
    (asset,) = card.assets
    assert asset.sha256 is None and asset.sha256_prefix == "e616cdcb"
    assert asset.name == "hrnet_w32-e616cdcb-910v2.ckpt"
    # Every real card that publishes 8 digits gets them as the prefix.
    found = 0
    for card_path in sorted((realdata / "assets").rglob("*.md")):
        text = card_path.read_text(encoding="utf-8", errors="replace")
        if "asset-sha256: " not in text:
            continue
        rel = card_path.relative_to(realdata / "assets").as_posix()
        card_uid = uid_from_relpath(rel)
        if card_uid is None or card_uid.is_cn:
            continue
        try:
            parsed = build_card(
                read_card(text, str(card_path)),
                card_uid,
                polyhub.Address("mindspore", str(card_uid)),
            )
        except polyhub.MetadataError:
            continue
        for a in parsed.assets:
            if a.sha256_prefix is not None:
                found += 1
                assert a.sha256 is None and len(a.sha256_prefix) >= 8
    assert found >= 100


def test_a_file_name_mindspore_would_refuse_is_named_in_the_error(hub_root, h, publish):
    # As the real legacy card mass_v1.0_gigaword.md (file-format ckpt, a .tar.gz link):
    # MindSpore opens a graph only by its suffix, and the cache keeps the card's name.
    url, sha = publish("mindir", name="tiny_graph.bin")
    h.write_card(
        hub_root,
        "mindspore/2.5/tiny_misnamed",
        card_text(name="TinyDense", assets=[("mindir", url, sha)]),
    )
    with pytest.raises(polyhub.MetadataError, match=r"\*\.mindir; the asset 'tiny_graph\.bin'"):
        polyhub.load("mindspore:mindspore/2.5/tiny_misnamed", hub=str(hub_root), device="cpu")

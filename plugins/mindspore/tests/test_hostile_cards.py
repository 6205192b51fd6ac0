"""Hostile cards end in a MetadataError naming file, line and key; hashes are read as written.

Each fault stays in its card: the hub still lists and resolves its other cards.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polyhub
import pytest
from polyhub import HashMismatchError, MetadataError
from polyhub_mindspore.card import read_card
from polyhub_mindspore.demo import card_text

HEAD = "# T\n\n---\n\nmodel-name: x\n\n"

HOSTILE = {
    # json/yaml int() of > 4,300 digits raised ValueError.
    "long-number": ("evaluation: " + "1" * 5000, "evaluation"),
    # libyaml's composer recursed in C: RecursionError at 1,000, a crash (SIGSEGV) at 100,000.
    "deep-flow": ("evaluation: " + "[" * 1000 + "]" * 1000, "front matter"),
    "deeper-flow": ("evaluation: " + "[" * 100_000 + "]" * 100_000, "front matter"),
    "deep-block": ("evaluation:\n" + "".join(" " * i + "-\n" for i in range(200)), "front matter"),
    # Aliases expand exponentially when the card is copied into the index.
    "alias-bomb": (
        "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c]",
        "front matter",
    ),
    # A list as a mapping key: TypeError (unhashable) in the constructor.
    "list-key": ("? [a, b]\n: 1", "front matter"),
    "long-number-key": ("? " + "1" * 5000 + "\n: x", "front matter"),
}


def test_a_front_matter_that_is_one_long_number_is_a_metadata_error() -> None:
    with pytest.raises(MetadataError) as info:
        read_card("# T\n---\n" + "7" * 5000 + "\n---\n", "c.md")
    assert info.value.field == "front matter"


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_front_matter_is_a_metadata_error_naming_the_key(case: str) -> None:
    body, field = HOSTILE[case]
    with pytest.raises(MetadataError) as info:
        read_card(HEAD + body + "\n---\n", "hub/c.md")
    assert info.value.file == "hub/c.md"
    assert info.value.field == field
    assert info.value.line is not None and info.value.line >= 7
    assert len(str(info.value)) < 400


def asset_card(sha_line: str, link: str = "https://example.org/m.ckpt") -> str:
    return HEAD + f"asset:\n  - file-format: ckpt\n    asset-link: {link}\n{sha_line}\n---\n"


@pytest.mark.parametrize(
    "written",
    [
        "0" * 64,  # YAML int 0 (falsy): verification used to be switched off
        "1" + "5" * 63,  # YAML int
        "0" + "7" * 63,  # YAML octal int: its decimal text is another number
        "1e" + "5" * 62,  # reads as a float under a YAML 1.1 float resolver
        "0x" + "a" * 62,  # YAML hex int
    ],
)
def test_a_hash_is_read_as_the_text_written(written: str) -> None:
    from polyhub import Address
    from polyhub_mindspore.card import build_card
    from polyhub_mindspore.uid import parse_uid

    raw = read_card(asset_card(f"    asset-sha256: {written}"), "c.md")
    assert raw.metadata["asset"][0]["asset-sha256"] == written
    uid = parse_uid("mindspore/2.5/x")
    if len(written) == 64 and all(c in "0123456789abcdef" for c in written):
        card = build_card(raw, uid, Address("mindspore", str(uid)))
        assert card.assets[0].sha256 == written
    else:
        with pytest.raises(MetadataError) as info:
            build_card(raw, uid, Address("mindspore", str(uid)))
        assert info.value.field == "asset[0].asset-sha256"


@pytest.mark.parametrize("value", ["[1, 2]", "{a: 1}", "true"])
def test_a_hash_that_is_present_but_unusable_is_refused(value: str) -> None:
    from polyhub import Address
    from polyhub_mindspore.card import build_card
    from polyhub_mindspore.uid import parse_uid

    raw = read_card(asset_card(f"    asset-sha256: {value}"), "c.md")
    uid = parse_uid("mindspore/2.5/x")
    with pytest.raises(MetadataError) as info:
        build_card(raw, uid, Address("mindspore", str(uid)))
    assert info.value.field == "asset[0].asset-sha256"


def test_a_hash_of_64_zeros_is_checked_not_dropped(hub_root: Path, h, server) -> None:
    data = b"not the model the card promises" * 10
    (server.root / "m.mindir").write_bytes(data)
    url = f"{server.url}/m.mindir"
    zeros = "0" * 64
    h.write_card(
        hub_root, "mindspore/2.5/zeros", card_text(name="Z", assets=[("mindir", url, zeros)])
    )
    card = polyhub.info("mindspore:mindspore/2.5/zeros", hub=str(hub_root))
    assert card.assets[0].sha256 == zeros
    with pytest.raises(HashMismatchError) as info:
        polyhub.download("mindspore:mindspore/2.5/zeros", hub=str(hub_root))
    assert info.value.expected == zeros
    assert info.value.actual == hashlib.sha256(data).hexdigest()


def test_one_hostile_card_leaves_the_rest_of_the_hub_usable(hub_root: Path, h) -> None:
    good = card_text(name="Good", assets=[("ckpt", "https://example.org/g.ckpt", "a" * 64)])
    h.write_card(hub_root, "mindspore/2.5/good", good)
    bad = good.replace("model-version: 1.0", "model-version: " + "9" * 5000)
    assert bad != good
    bad_file = h.write_card(hub_root, "mindspore/2.5/bad", bad)
    nested = good.replace("model-version: 1.0", "model-version: " + "[" * 50_000 + "]" * 50_000)
    h.write_card(hub_root, "mindspore/2.5/nested", nested)

    cards = polyhub.list_models("mindspore", hub=str(hub_root))
    assert [c.address.path for c in cards] == ["mindspore/2.5/good"]
    assert polyhub.info("mindspore:mindspore/2.5/good", hub=str(hub_root)).name == "good"
    with pytest.raises(MetadataError) as info:
        polyhub.info("mindspore:mindspore/2.5/bad", hub=str(hub_root))
    assert info.value.file == str(bad_file)
    assert info.value.field == "model-version"

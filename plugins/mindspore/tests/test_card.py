"""Card parsing: each quirk of the real cards, broken cards, and every real card."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from polyhub import Address, MetadataError
from polyhub_mindspore.card import build_card, read_card
from polyhub_mindspore.demo import card_text
from polyhub_mindspore.uid import Uid, uid_from_relpath

UID = Uid("mindspore", "1.10", "tiny_synthetic")
ADDR = Address("mindspore", str(UID))


def _card(text: str):
    return build_card(read_card(text, "t.md"), UID, ADDR)


def _base(**changes: str) -> str:
    text = card_text(
        name="Tiny",
        assets=[("ckpt", "https://h.example/x/tiny.ckpt", "A" * 64)],
        mindspore_version="1.10",
    )
    for key, value in changes.items():
        text = re.sub(rf"^{key}:.*$", f"{key}: {value}", text, count=1, flags=re.M)
    return text


def test_versions_and_dates_stay_text():
    card = _card(_base(**{"model-version": "1.10", "update-time": "2022-03-30"}))
    assert card.version == "1.10"
    assert card.metadata["mindspore-version"] == "1.10"
    assert card.metadata["update-time"] == "2022-03-30"


def test_evaluation_dash_reads_as_empty():
    text = _base()
    assert "\nevaluation: -\n" in text
    assert _card(text).metadata["evaluation"] is None


def test_value_with_colon_is_kept_as_text():
    card = _card(_base().replace("author:", "accuracy: resnet50: 81.27\n\nauthor:"))
    assert card.metadata["accuracy"] == "resnet50: 81.27"


def test_links_lose_their_angle_brackets_and_hash_is_lower_case():
    card = _card(
        _base(**{"repo-link": "<https://gitee.com/mindspore/models/tree/r1.6/official/cv/lenet>"})
    )
    assert card.assets[0].url == "https://h.example/x/tiny.ckpt"
    assert card.assets[0].sha256 == "a" * 64
    assert card.code is not None
    assert (card.code.url, card.code.revision, card.code.subdir) == (
        "https://gitee.com/mindspore/models.git",
        "r1.6",
        "official/cv/lenet",
    )
    assert card.code.repo_id == "gitee.com/mindspore/models" and card.code.entry == "tiny"


def test_empty_repo_link_means_no_code_and_unknown_keys_are_kept():
    text = _base().replace("license:", "resnet-repo-link: https://gitee.com/x/y\n\nlicense:")
    card = _card(text)
    assert card.code is None
    assert card.metadata["resnet-repo-link"] == "https://gitee.com/x/y"


def test_crlf_and_bom():
    card = _card("\ufeff" + _base().replace("\n", "\r\n"))
    assert card.metadata["model-name"] == "Tiny"


def test_broken_yaml_names_file_line_and_field():
    text = _base().replace("backbone-name: Tiny", "backbone-name: [unclosed")
    lines = text.splitlines()
    expected_line = next(i for i, ln in enumerate(lines, 1) if ln.startswith("backbone-name"))
    with pytest.raises(MetadataError) as info:
        read_card(text, "broken.md")
    err = info.value
    assert err.file == "broken.md" and err.field == "backbone-name"
    assert err.line is not None and expected_line <= err.line <= expected_line + 2


def test_missing_front_matter_and_missing_model_name():
    with pytest.raises(MetadataError, match="front matter") as info:
        read_card("# no card here\n", "x.md")
    assert info.value.field == "front matter"
    text = re.sub(r"^model-name:.*\n", "", _base(), flags=re.M)
    with pytest.raises(MetadataError) as info2:
        _card(text)
    assert info2.value.field == "model-name"


@pytest.mark.parametrize(
    ("link", "field"),
    [
        ("https://h.example/../x/..", "asset[0].asset-link"),
        ("ftp://h.example/x.ckpt", "asset[0].asset-link"),
    ],
)
def test_bad_asset_links(link: str, field: str):
    text = _base().replace("https://h.example/x/tiny.ckpt", link)
    with pytest.raises(MetadataError) as info:
        _card(text)
    assert info.value.field == field


def test_bad_sha256_and_unknown_format():
    with pytest.raises(MetadataError) as info:
        _card(_base().replace("A" * 64, "z" * 64))
    assert info.value.field == "asset[0].asset-sha256"
    with pytest.raises(MetadataError) as info2:
        _card(_base().replace("file-format: ckpt", "file-format: pickle"))
    assert info2.value.field == "asset[0].file-format"


def test_short_sha256_prefix_is_not_taken_for_a_full_hash():
    card = _card(_base().replace("A" * 64, "77dcaf0f"))
    assert card.assets[0].sha256 is None


def _all_cards(tree: Path) -> tuple[int, list[MetadataError], int]:
    """Parse every card of ``tree``; _cn cards through their English twin when it exists."""
    ok, errors, total = 0, [], 0
    for path in sorted(tree.rglob("*.md")):
        rel = path.relative_to(tree).as_posix()
        uid = uid_from_relpath(rel)
        assert uid is not None, f"{rel} is not at a card depth"
        total += 1
        source, twin = path, None
        if uid.is_cn and (tree / uid.twin().relpath).is_file():
            source, twin = tree / uid.twin().relpath, str(path)
        try:
            card = build_card(
                read_card(source.read_text(encoding="utf-8"), str(source)),
                uid,
                Address("mindspore", str(uid)),
                twin_of=twin,
            )
        except MetadataError as exc:
            assert exc.file and exc.line and exc.field, f"incomplete error: {exc}"
            errors.append(exc)
            continue
        assert card.name == uid.name and card.publisher == uid.publisher
        assert card.metadata["model-name"]
        for key in ("mindspore-version", "model-version", "update-time"):
            assert card.metadata.get(key) is None or isinstance(card.metadata[key], str)
        ok += 1
    return ok, errors, total


@pytest.mark.parametrize("tree", ["assets", "assets-legacy"])
def test_every_real_card_becomes_a_card_or_a_precise_error(realdata: Path, tree: str):
    ok, errors, total = _all_cards(realdata / tree)
    md_files = sum(1 for _ in (realdata / tree).rglob("*.md"))
    assert ok + len(errors) == total == md_files
    print(f"\n{tree}: {ok} cards, {len(errors)} MetadataErrors of {total}")
    for exc in errors:
        print("  ", exc)
    # The quirk-ridden files SOURCES.md lists all parse: the cn cards, noah-cvlab 1.8, 1.10 versions.
    assert ok > len(errors) * 10


def test_real_quirky_cards(realdata: Path):
    ofakd = realdata / "assets/noah-cvlab/gpu/1.8/ofakd_v1.0_imagenet2012.md"
    uid = uid_from_relpath("noah-cvlab/gpu/1.8/ofakd_v1.0_imagenet2012.md")
    assert uid is not None
    card = build_card(read_card(ofakd.read_text(), str(ofakd)), uid, Address("mindspore", str(uid)))
    assert card.metadata["accuracy"] == "resnet50: 81.27"
    assert "gpu" in card.metadata["backends"] and card.code is None
    ten = next((realdata / "assets/mindspore/1.10").glob("*.md"))
    uid10 = uid_from_relpath(ten.relative_to(realdata / "assets").as_posix())
    assert uid10 is not None
    card10 = build_card(
        read_card(ten.read_text(), str(ten)), uid10, Address("mindspore", str(uid10))
    )
    assert card10.metadata["mindspore-version"] == "1.10"

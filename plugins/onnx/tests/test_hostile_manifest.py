"""Hostile and broken manifests: every fault ends in a MetadataError naming file, entry and field.

A fault in one entry stays in that entry: the rest of the hub lists and loads,
the listing warns (PolyhubWarning naming the file, entry and field) and
addressing the broken entry is refused. Faults of the file as a whole (not
JSON, nested too deeply to parse) refuse the file, naming it.
"""

from __future__ import annotations

import json
from pathlib import Path

import polyhub
import pytest
from polyhub import MetadataError, PolyhubWarning
from polyhub_onnx.manifest import parse_manifest

REAL = Path(__file__).parent / "data" / "ONNX_HUB_MANIFEST.json"
LONG = "<a 5000-digit number>"  # written into the JSON text in place of its quoted form


def real_entries() -> list[dict]:
    return json.loads(REAL.read_text(encoding="utf-8"))


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ONNX_HUB_MANIFEST.json").write_text(text, encoding="utf-8")
    return folder


def mnist8(entries: list[dict]) -> int:
    return next(
        i for i, e in enumerate(entries) if e["model"] == "MNIST" and e["opset_version"] == 8
    )


def test_one_traversal_entry_leaves_the_rest_of_the_hub_usable(tmp_path: Path) -> None:
    entries = real_entries()
    bad = mnist8(entries)
    entries[bad]["model_path"] = "../../etc/passwd"
    hub = str(write(tmp_path / "hub", json.dumps(entries, indent=4)))
    file = str(tmp_path / "hub" / "ONNX_HUB_MANIFEST.json")

    with pytest.warns(PolyhubWarning) as record:
        cards = polyhub.list_models("onnx", hub=hub)
    assert len(cards) == len(entries) - 1
    message = str(record[0].message)
    assert file in message and f"#{bad} 'MNIST'" in message and "'model_path'" in message

    # Another model loads (no warning: its entry is sound).
    assert polyhub.info("onnx:ResNet50?opset=7", hub=hub).version == "7"
    # MNIST's other opsets are sound entries and stay loadable by opset.
    assert polyhub.info("onnx:mnist?opset=7", hub=hub).version == "7"
    # Addressing the broken entry, by opset or as "the highest", is refused, naming it.
    for address in ("onnx:mnist?opset=8", "onnx:mnist"):
        with pytest.raises(MetadataError) as info:
            polyhub.info(address, hub=hub)
        assert info.value.file == file
        assert info.value.entry == f"#{bad} 'MNIST'"
        assert info.value.field == "model_path"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        # Python refuses int() of > 4300 digits with a ValueError.
        (lambda e: e["metadata"].update(model_bytes=LONG), "model_bytes"),
        (lambda e: e.update(opset_version=LONG), "opset_version"),
        (lambda e: e["metadata"].update(extra=[1, {"n": LONG}]), "extra"),
        # A lone surrogate: fine in a str, fatal later as a file name or in print().
        (lambda e: e.update(model="MNIST\ud800"), "model"),
        (lambda e: e.update(model_path="validated/\udc80.onnx"), "model_path"),
        (lambda e: e["metadata"].update(tags=["vision", "\ud83d"]), "tags"),
        (lambda e: e["metadata"].update({"\udfff": 1}), "metadata"),
    ],
)
def test_hostile_values_break_only_their_entry(mutate, field: str, tmp_path: Path) -> None:
    entries = real_entries()
    bad = mnist8(entries)
    mutate(entries[bad])
    # ensure_ascii writes the surrogate as a \\ud800 escape, as a hostile server would.
    text = json.dumps(entries, indent=2, ensure_ascii=True)
    if LONG in text:
        text = text.replace(f'"{LONG}"', "9" * 5000)
        with pytest.raises(ValueError, match="4300"):
            json.loads(text)  # what the old parser did with it
    manifest = parse_manifest(text, "hub.json")
    assert len(manifest.entries) == len(entries) - 1
    (broken,) = manifest.broken
    assert broken.index == bad
    assert broken.error.file == "hub.json"
    assert broken.error.field is not None and field in broken.error.field
    # The message is printable and bounded, whatever the value was.
    str(broken.error).encode("utf-8")
    assert len(str(broken.error)) < 400
    # Through the public API: a listing warns and every card's name is printable.
    hub = str(write(tmp_path / "hub", text))
    with pytest.warns(PolyhubWarning, match=f"#{bad}"):
        cards = polyhub.list_models("onnx", hub=hub)
    for card in cards:
        (card.name + str(card.address) + "".join(card.tags)).encode("utf-8")


def test_nesting_too_deep_to_parse_refuses_the_file_naming_it(tmp_path: Path) -> None:
    entries = real_entries()[:3]
    text = json.dumps(entries)[:-1] + "," + "[" * 100_000 + "]" * 100_000 + "]"
    with pytest.raises(RecursionError):
        json.loads(text)  # what the old parser raised
    hub = write(tmp_path / "hub", text)
    with pytest.raises(MetadataError) as info:
        polyhub.list_models("onnx", hub=str(hub))
    assert info.value.file == str(hub / "ONNX_HUB_MANIFEST.json")
    assert "deeply" in str(info.value)


def test_nesting_that_parses_is_walked_without_recursion() -> None:
    entries = real_entries()[:2]
    text = json.dumps(entries)
    deep = "[" * 900 + '"\\ud800"' + "]" * 900
    text = text[:-2] + ', "extra": ' + deep + "}]"
    manifest = parse_manifest(text, "m.json")
    assert [b.index for b in manifest.broken] == [1]
    assert manifest.broken[0].error.field == "extra" + "[0]" * 900


def test_a_hash_field_must_be_text_not_a_json_number() -> None:
    entries = real_entries()[:2]
    entries[1]["metadata"]["model_sha"] = 0
    entries[0]["metadata"]["model_with_data_sha"] = 1e63
    manifest = parse_manifest(json.dumps(entries), "m.json")
    assert manifest.entries == ()
    fields = sorted(b.error.field or "" for b in manifest.broken)
    assert fields == ["metadata.model_sha", "metadata.model_with_data_sha"]


def test_a_non_numeric_opset_filter_is_a_polyhub_error(real_hub: Path) -> None:
    with pytest.raises(polyhub.AddressError, match="not a number"):
        polyhub.list_models("onnx", hub=str(real_hub), opset="eight")
    assert len(polyhub.list_models("onnx", hub=str(real_hub), opset="8")) > 0


def test_an_entry_with_an_unreadable_name_does_not_answer_for_other_names(tmp_path: Path) -> None:
    entries = real_entries()
    entries[3]["model"] = 17  # no name: it cannot be addressed, only listed as broken
    hub = str(write(tmp_path / "hub", json.dumps(entries)))
    with pytest.raises(polyhub.ModelNotFoundError):
        polyhub.info("onnx:no-such-model", hub=hub)
    with pytest.raises(polyhub.ModelNotFoundError):
        polyhub.info("onnx:no-such-model?opset=8", hub=hub)
    with pytest.warns(PolyhubWarning, match="#3"):
        assert len(polyhub.list_models("onnx", hub=hub)) == len(entries) - 1

"""polyhub validate for MindSpore cards: upstream's checks with its bugs fixed."""

from __future__ import annotations

import re
from pathlib import Path

import polyhub
from polyhub_mindspore.demo import card_text
from polyhub_mindspore.validate import validate_path


def _good(hub_root: Path, h, **kw) -> Path:
    text = card_text(
        name="Tiny",
        assets=[("mindir", "https://download.mindspore.cn/x/tiny.mindir", "a" * 64)],
        repo_link="https://gitee.com/mindspore/models/tree/master/official/cv/tiny",
        mindspore_version="2.5",
        **kw,
    )
    return h.write_card(hub_root, "mindspore/2.5/tiny", text)


def test_a_good_card_with_a_mindir_asset_passes(hub_root: Path, h):
    card = _good(hub_root, h)
    assert polyhub.validate(card) == []


def test_problems_name_file_line_and_field(hub_root: Path, h):
    card = _good(hub_root, h)
    text = card.read_text()
    text = text.replace("used-for: inference", "used-for: fun").replace(
        "asset-sha256:", "asset_sha256:"
    )
    text = text.replace("train-backend: cpu", "train-backend: tpu").replace(
        "fine-tunable: True", "fine-tunable: maybe"
    )
    text = re.sub(r"^license:.*\n", "", text, flags=re.M)
    card.write_text(text)
    problems = validate_path(card)
    assert problems is not None
    by_field = {p.field: p for p in problems}
    assert "misspelt" in by_field["asset_sha256"].message
    assert text.splitlines()[by_field["asset_sha256"].line - 1].strip().startswith("asset_sha256:")
    assert "asset[0].asset-sha256" not in by_field  # not also reported as missing
    assert by_field["used-for"].line == next(
        i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("used-for")
    )
    assert {"train-backend", "fine-tunable", "license"} <= set(by_field)
    assert all(p.file == str(card) for p in problems)
    assert str(by_field["used-for"]).startswith(f"{card}:{by_field['used-for'].line}: used-for: ")


def test_location_rules(tmp_path: Path, hub_root: Path, h):
    loose = tmp_path / "tiny.md"
    loose.write_text(card_text(name="Tiny", assets=[]))
    assert any(p.field == "location" for p in validate_path(loose) or [])
    wrong_backend = h.write_card(
        hub_root,
        "mindspore/tpu/2.5/tiny",
        card_text(name="Tiny", assets=[], mindspore_version="2.5"),
    )
    assert any(
        p.field == "location" and "tpu" in p.message for p in validate_path(wrong_backend) or []
    )
    wrong_version = h.write_card(
        hub_root, "mindspore/1.8/tiny", card_text(name="Tiny", assets=[], mindspore_version="2.5")
    )
    assert any(p.field == "mindspore-version" for p in validate_path(wrong_version) or [])


def test_template_and_foreign_files(realdata: Path, tmp_path: Path):
    problems = validate_path(realdata / "examples" / "commit_example.md")
    assert problems, "the template is full of placeholders"
    lines = (realdata / "examples" / "commit_example.md").read_text().splitlines()
    misspelt = [p for p in problems if p.field == "asset_sha256"]
    assert misspelt and all("asset_sha256" in lines[p.line - 1] for p in misspelt if p.line)
    assert len(misspelt) == sum("asset_sha256" in ln for ln in lines)
    other = tmp_path / "notes.md"
    other.write_text("# notes\n\nnothing here\n")
    assert validate_path(other) is None
    assert validate_path(tmp_path / "x.onnx") is None


def test_real_tree_validates_without_crashing(realdata: Path):
    problems = validate_path(realdata / "assets" / "noah-cvlab")
    assert problems is not None
    files = {p.file for p in problems}
    assert all(Path(f).is_file() for f in files)

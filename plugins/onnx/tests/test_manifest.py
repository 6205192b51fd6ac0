"""Manifest parsing and publishing checks, on the real ONNX Model Zoo manifest and broken copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from polyhub import MetadataError
from polyhub_onnx.manifest import (
    check_relative_path,
    entry_lines,
    parse_manifest,
    validate_manifest,
)

REAL = Path(__file__).parent / "data" / "ONNX_HUB_MANIFEST.json"


def real_entries() -> list[dict]:
    return json.loads(REAL.read_text(encoding="utf-8"))


def test_every_real_entry_parses_and_agrees_with_the_file() -> None:
    raw = real_entries()
    manifest = parse_manifest(REAL.read_bytes(), str(REAL))
    assert len(manifest.entries) == len(raw) == 184
    assert len({e.model for e in manifest.entries}) == 116
    assert {e.opset for e in manifest.entries} <= set(range(1, 19))
    assert min(e.opset for e in manifest.entries) == 1
    assert max(e.opset for e in manifest.entries) == 18
    for entry, source in zip(manifest.entries, raw, strict=True):
        meta = source["metadata"]
        assert entry.model == source["model"]
        assert entry.model_path == source["model_path"]
        assert entry.opset == source["opset_version"]
        assert entry.model_sha == meta["model_sha"]
        assert entry.model_bytes == meta["model_bytes"]
        assert entry.data_path == meta["model_with_data_path"]
        assert entry.data_sha == meta["model_with_data_sha"]
        assert list(entry.tags) == meta["tags"]
        ports = meta.get("io_ports") or {}
        assert [p.name for p in entry.inputs] == [p["name"] for p in ports.get("inputs", [])]
        assert [p.shape for p in entry.outputs] == [
            tuple(p["shape"]) for p in ports.get("outputs", [])
        ]


def test_name_lookup_is_case_insensitive_and_exact() -> None:
    manifest = parse_manifest(REAL.read_bytes(), str(REAL))
    assert sorted(e.opset for e in manifest.named("mnist")) == [1, 7, 8]
    assert manifest.named("MNIST") == manifest.named("mnist")
    assert manifest.named("mnis") == []


def test_real_manifest_passes_the_publishing_checks() -> None:
    assert validate_manifest(REAL) == []


def test_entry_lines_point_at_each_entry() -> None:
    text = REAL.read_text(encoding="utf-8")
    lines = text.splitlines()
    starts = entry_lines(text)
    assert len(starts) == 184
    for index, line in enumerate(starts):
        # In this file each entry opens with "{" and names its model on the next line.
        assert lines[line - 1].strip() == "{"
        assert (
            json.loads("{" + lines[line].strip().rstrip(",") + "}")["model"]
            == real_entries()[index]["model"]
        )


def test_not_json_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "ONNX_HUB_MANIFEST.json"
    bad.write_text('[\n  {"model": "a",\n  oops\n]')
    with pytest.raises(MetadataError) as info:
        parse_manifest(bad.read_bytes(), str(bad))
    assert info.value.file == str(bad)
    assert info.value.line == 3
    assert "not valid JSON" in str(info.value)


def test_a_manifest_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(MetadataError, match="must be a JSON list"):
        parse_manifest(b'{"model": "x"}', "m.json")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("model_path"), "model_path"),
        (lambda e: e.pop("model"), "model"),
        (lambda e: e.update(opset_version="8"), "opset_version"),
        (lambda e: e.pop("metadata"), "metadata"),
        (lambda e: e["metadata"].update(model_sha="abc"), "metadata.model_sha"),
        (lambda e: e["metadata"].update(model_bytes=-1), "metadata.model_bytes"),
        (lambda e: e["metadata"].update(tags="vision"), "metadata.tags"),
        (
            lambda e: e["metadata"]["io_ports"]["inputs"][0].pop("name"),
            "metadata.io_ports.inputs[0].name",
        ),
        (
            lambda e: e["metadata"].update(model_with_data_path="/tmp/x.tar.gz"),
            "metadata.model_with_data_path",
        ),
    ],
)
def test_a_broken_entry_names_file_entry_line_and_field(mutate, field: str) -> None:
    raw = real_entries()
    index = 40
    mutate(raw[index])
    text = json.dumps(raw, indent=4)
    manifest = parse_manifest(text, "hub/ONNX_HUB_MANIFEST.json")
    # The fault stays in its entry: the other 183 are usable.
    assert len(manifest.entries) == len(raw) - 1
    assert [b.index for b in manifest.broken] == [index]
    error = manifest.broken[0].error
    assert error.file == "hub/ONNX_HUB_MANIFEST.json"
    assert error.field == field
    assert error.entry is not None and error.entry.startswith(f"#{index}")
    if "model" in raw[index]:
        assert raw[index]["model"] in error.entry
    assert text.splitlines()[error.line - 1].strip() == "{"
    assert field in str(error) and f"#{index}" in str(error)


UNSAFE_PATHS = [
    "../secret.onnx",
    "validated/../../secret.onnx",
    "/etc/passwd",
    "C:/Windows/system.ini",
    "c:relative.onnx",
    "validated\\..\\x.onnx",
    "\\\\server\\share\\x.onnx",
    "validated/a\x00b.onnx",
    "validated/./x.onnx",
    "validated//x.onnx",
    "%2e%2e/x.onnx",
    "%2e%2e%2fx.onnx",
    "%252e%252e%252fx.onnx",
    "validated/x.onnx.",
    "",
]


@pytest.mark.parametrize("path", UNSAFE_PATHS)
def test_unsafe_model_paths_are_refused(path: str) -> None:
    assert check_relative_path(path) is not None
    raw = real_entries()[:3]
    raw[1]["model_path"] = path
    manifest = parse_manifest(json.dumps(raw), "m.json")
    assert [e.index for e in manifest.entries] == [0, 2]
    (broken,) = manifest.broken
    assert broken.error.field == "model_path"
    assert broken.error.entry == f"#1 {raw[1]['model']!r}"


@pytest.mark.parametrize(
    "path", ["validated/vision/mnist-8.onnx", "a b/c.onnx", ".well-known/x.onnx", "x"]
)
def test_safe_paths_pass(path: str) -> None:
    assert check_relative_path(path) is None


def test_validate_collects_every_problem_with_lines(tmp_path: Path) -> None:
    raw = real_entries()[:6]
    raw[1]["model_path"] = "../x.onnx"
    raw[2]["metadata"].pop("model_sha")
    raw[4]["opset_version"] = "ten"
    raw.append(dict(raw[0]))  # a duplicate of entry 0: same model, same opset
    path = tmp_path / "ONNX_HUB_MANIFEST.json"
    path.write_text(json.dumps(raw, indent=2))
    problems = validate_manifest(path)
    found = {(p.field, p.message.split(":")[0]) for p in problems}
    assert found == {
        ("model_path", f"entry #1 {raw[1]['model']!r}"),
        ("metadata.model_sha", f"entry #2 {raw[2]['model']!r}"),
        ("opset_version", f"entry #4 {raw[4]['model']!r}"),
        ("opset_version", f"entry #6 {raw[0]['model']!r}"),
    }
    lines = entry_lines(path.read_text())
    assert sorted(p.line for p in problems) == sorted([lines[1], lines[2], lines[4], lines[6]])


def test_validate_checks_published_files_and_lfs_pointers(hub_dir: Path) -> None:
    manifest = hub_dir / "ONNX_HUB_MANIFEST.json"
    assert validate_manifest(manifest) == []
    entries = json.loads(manifest.read_text())
    model = hub_dir / entries[0]["model_path"]
    model.write_bytes(model.read_bytes() + b"\0")
    pointer_sha = entries[1]["metadata"]["model_sha"]
    (hub_dir / entries[1]["model_path"]).write_text(
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{pointer_sha}\nsize {entries[1]['metadata']['model_bytes']}\n"
    )
    (hub_dir / entries[2]["model_path"]).write_text(
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{'0' * 64}\nsize {entries[2]['metadata']['model_bytes']}\n"
    )
    problems = validate_manifest(manifest)
    assert [(p.field, p.message.split(":")[0]) for p in problems] == [
        ("model_path", "entry #0 'tiny-mlp'"),
        ("model_path", "entry #2 'add-relu'"),
    ]
    assert "bytes" in problems[0].message and "sha256" in problems[1].message

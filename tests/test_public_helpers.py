"""The helpers the core lends its plugins: one public copy each, behaving as documented."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path, PurePosixPath

import polyhub
import pytest

# -- file_sha256 ----------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7])
def test_file_sha256_matches_hashlib_across_block_edges(tmp_path: Path, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert polyhub.file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert polyhub.file_sha256(str(path)) == hashlib.sha256(data).hexdigest()


def test_file_sha256_of_a_missing_file_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        polyhub.file_sha256(tmp_path / "absent")


def test_the_old_home_of_file_sha256_is_the_same_function() -> None:
    import polyhub._cache

    assert polyhub._cache.file_sha256 is polyhub.file_sha256


# -- parse_bool -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        (" Yes ", True),
        ("ON", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off\n", False),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
    ],
)
def test_parse_bool_reads_the_words_and_values(value: object, expected: bool) -> None:
    assert polyhub.parse_bool(value) is expected


@pytest.mark.parametrize("value", ["", "  ", "maybe", "2", 2, None, 0.0, "tru"])
def test_parse_bool_refuses_anything_else_naming_it(value: object) -> None:
    with pytest.raises(polyhub.PolyhubError, match=r"option 'pretrained' .* is not a boolean"):
        polyhub.parse_bool(value, what="option 'pretrained'")
    assert polyhub.parse_bool(value, default=True) is True
    assert polyhub.parse_bool(value, default=False) is False


def test_env_flag_keeps_its_own_rules_on_top_of_parse_bool(monkeypatch: pytest.MonkeyPatch) -> None:
    from polyhub._config import env_flag

    monkeypatch.delenv("POLYHUB_X_FLAG", raising=False)
    assert env_flag("POLYHUB_X_FLAG", default=True) is True
    monkeypatch.setenv("POLYHUB_X_FLAG", "")  # set but empty: false, as before
    assert env_flag("POLYHUB_X_FLAG", default=True) is False
    monkeypatch.setenv("POLYHUB_X_FLAG", "sure")
    with pytest.raises(polyhub.PolyhubError, match=r"POLYHUB_X_FLAG='sure' is not a boolean"):
        env_flag("POLYHUB_X_FLAG")


# -- read_varint ------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 16383, 16384, 2**32 - 1, 2**63, 2**64 - 1])
def test_read_varint_reads_what_protobuf_writes(value: int) -> None:
    from google.protobuf.internal.encoder import _VarintBytes  # the reference encoder

    encoded = _VarintBytes(value)
    buf = b"\xff" + encoded + b"\x01"  # not at the start, and followed by more
    assert polyhub.read_varint(buf, 1) == (value, 1 + len(encoded))
    assert polyhub.read_varint(memoryview(buf), 1) == (value, 1 + len(encoded))


def test_read_varint_reads_a_real_onnx_model_header(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [])
    graph.output.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, [1]))
    model = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 13)])
    data = model.SerializeToString()
    tag, pos = polyhub.read_varint(data)
    assert (tag >> 3, tag & 7) == (1, 0)  # ir_version, a varint
    assert polyhub.read_varint(data, pos)[0] == onnx.load_from_string(data).ir_version == 8


@pytest.mark.parametrize(
    ("buf", "message"),
    [(b"", "truncated"), (b"\x80", "truncated"), (b"\x80" * 10 + b"\x01", "longer than 10")],
)
def test_read_varint_refuses_a_broken_varint_as_metadata_error(buf: bytes, message: str) -> None:
    with pytest.raises(polyhub.MetadataError, match=message) as caught:
        polyhub.read_varint(buf)
    assert isinstance(caught.value, ValueError)  # what format sniffers already catch


def test_a_non_minimal_varint_reads_as_its_value() -> None:
    assert polyhub.read_varint(b"\x81\x80\x00") == (1, 3)


# -- safe_relpath / safe_join ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a", "a"), ("a/b.onnx", "a/b.onnx"), ("./a//b/./c", "a/b/c"), ("a..b/c", "a..b/c")],
)
def test_safe_relpath_normalises_a_harmless_path(name: str, expected: str) -> None:
    assert polyhub.safe_relpath(name) == PurePosixPath(expected)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("a\x00b", "contains a NUL character"),
        ("a\\..\\b", "contains a backslash"),
        ("/etc/passwd", "is absolute"),
        ("C:x", "is absolute"),
        ("//host/share", "is absolute"),
        (".", "names no file"),
        ("./", "names no file"),
        ("a/../../b", "climbs out with '..'"),
        ("..", "climbs out with '..'"),
    ],
)
def test_safe_relpath_refuses_with_a_reason(name: str, reason: str) -> None:
    with pytest.raises(polyhub.UnsafePathError) as caught:
        polyhub.safe_relpath(name)
    assert caught.value.reason == reason
    assert isinstance(caught.value, polyhub.PolyhubError) and isinstance(caught.value, ValueError)
    assert repr(name) in str(caught.value)


def test_safe_join_refuses_a_link_out_of_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "out").symlink_to(tmp_path)
    assert polyhub.safe_join(root, "a/b") == root / "a" / "b"
    with pytest.raises(polyhub.UnsafePathError, match="resolves outside"):
        polyhub.safe_join(root, "out/x")


# -- the rest of the plugin helpers are the core's own, under their public names ---


def test_atomic_write_and_folder_and_extract_tar(tmp_path: Path) -> None:
    polyhub.atomic_write(tmp_path / "d" / "f.txt", b"hello")
    assert (tmp_path / "d" / "f.txt").read_bytes() == b"hello"
    with tarfile.open(tmp_path / "a.tar", "w") as tar:
        tar.add(tmp_path / "d" / "f.txt", arcname="m/f.txt")
    out = polyhub.extract_tar(tmp_path / "a.tar", tmp_path / "x")
    assert (out / "m" / "f.txt").read_bytes() == b"hello"
    made = polyhub.atomic_folder(tmp_path / "y", lambda tmp: (tmp / "g").write_text("1"))
    assert (made / "g").read_text() == "1"


def test_is_local() -> None:
    assert polyhub.is_local("/x/y") and polyhub.is_local("file:///x")
    assert not polyhub.is_local("https://example.com/x")


def test_helpers_are_public_names_importable_from_the_package() -> None:
    names = [
        "file_sha256",
        "safe_relpath",
        "safe_join",
        "UnsafePathError",
        "parse_bool",
        "read_varint",
        "atomic_write",
        "atomic_folder",
        "extract_tar",
        "is_local",
        "framework_output",
        "GitLfsPointerError",
        "SourceRegistry",
        "FormatRegistry",
        "RuntimeRegistry",
        "repo_id_from_url",
    ]
    assert set(names) <= set(polyhub.__all__)
    for name in names:
        assert getattr(polyhub, name).__doc__, name

"""Git LFS pointers where a file was expected: recognised at once, never taken for the file.

The pointers here are the real ones: the 368 that onnx/models holds at its
model paths, which is what GitHub serves for those paths since the zoo's LFS
downloads ended (see ``../shared/realdata/SOURCES.md``).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from polyhub import DownloadError
from polyhub._cache import Cache
from polyhub._config import read_config
from polyhub._lfs import GitLfsPointerError, check_body_head, parse_pointer

MNIST_8 = "validated/vision/classification/mnist/model/mnist-8.onnx"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_every_real_pointer_parses_to_the_manifest_sha_and_size(onnx_models: Path) -> None:
    entries = json.loads((onnx_models / "ONNX_HUB_MANIFEST.json").read_bytes())
    seen = 0
    for entry in entries:
        meta = entry["metadata"]
        for path, sha_key, size_key in (
            (entry["model_path"], "model_sha", "model_bytes"),
            (meta["model_with_data_path"], "model_with_data_sha", "model_with_data_bytes"),
        ):
            pointer = parse_pointer((onnx_models / path).read_bytes())
            assert pointer is not None, path
            assert (pointer.oid, pointer.size) == (meta[sha_key], meta[size_key]), path
            seen += 1
    assert seen == 368


@pytest.mark.parametrize(
    "body",
    [
        b"version https://git-lfs.github.com/spec/v1",  # the header alone, no newline
        b"version https://git-lfs.github.com/spec/v1\n",  # no oid, no size
        b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 3\n",  # short oid
        b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize ten\n",
        b"version https://git-lfs.github.com/spec/v1\noid sha256:"
        + b"a" * 64
        + b"\nsize 10\nThis README explains the pointer format.\n",
        b"version https://git-lfs.github.com/spec/v2\noid sha256:" + b"a" * 64 + b"\nsize 10\n",
        b"Version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 10\n",
        b"\x08\x07\x12\x07pytorch",  # a tiny ONNX-like protobuf
        b"",
    ],
)
def test_tiny_files_that_are_not_pointers_are_left_alone(body: bytes) -> None:
    assert parse_pointer(body) is None
    assert check_body_head("http://x/f", body, None, lambda: b"") == body


def test_a_pointer_split_over_many_reads_is_seen_whole(onnx_models: Path) -> None:
    data = (onnx_models / MNIST_8).read_bytes()
    pieces = [data[i : i + 7] for i in range(7, len(data), 7)]
    with pytest.raises(GitLfsPointerError) as caught:
        check_body_head("http://x/m.onnx", data[:7], None, lambda: pieces.pop(0) if pieces else b"")
    assert caught.value.pointer.size == 26454


def test_a_pointer_that_is_the_expected_file_is_a_file(home: Path, hub, onnx_models: Path) -> None:
    """Someone may publish a pointer text on purpose: its own size and sha256 say so."""
    data = (onnx_models / MNIST_8).read_bytes()
    url = hub.add("pointer.txt", data)
    path = Cache(read_config()).fetch(url, sha256=sha(data), size=len(data))
    assert path.read_bytes() == data


def _assert_pointer_error(exc: DownloadError, url: str) -> None:
    text = str(exc)
    assert "Git LFS pointer" in text
    assert url in text
    assert "sha256:2f06e72de813a8635c9bc0397ac447a601bdbfa7df4bebc278723b958831c9bf" in text
    assert "26454" in text


def test_a_served_pointer_fails_at_once_and_leaves_nothing(
    home: Path, hub, sleeps: list[float], leftovers, onnx_models: Path
) -> None:
    url = hub.add(MNIST_8, (onnx_models / MNIST_8).read_bytes())
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        Cache(read_config()).fetch(
            url,
            sha256="2f06e72de813a8635c9bc0397ac447a601bdbfa7df4bebc278723b958831c9bf",
            size=26454,
        )
    assert time.monotonic() - started < 1.0
    _assert_pointer_error(caught.value, url)
    assert len(hub.gets(MNIST_8)) == 1 and sleeps == []
    assert leftovers(home) == []
    assert not (home / "blobs").exists()


def test_a_served_pointer_without_a_known_hash_is_not_recorded(
    home: Path, hub, sleeps: list[float], leftovers, onnx_models: Path
) -> None:
    url = hub.add(MNIST_8, (onnx_models / MNIST_8).read_bytes())
    with pytest.raises(GitLfsPointerError):
        Cache(read_config()).fetch(url, sha256=None)
    assert leftovers(home) == [] and not (home / "urls").exists()
    assert not (home / "blobs").exists()


def test_a_pointer_left_as_a_partial_by_an_older_run_is_not_resumed(
    home: Path, hub, sleeps: list[float], leftovers, onnx_models: Path
) -> None:
    """Before, the partial was resumed at byte 130 and the server's 416 ended the download."""
    pointer = (onnx_models / MNIST_8).read_bytes()
    digest = "2f06e72de813a8635c9bc0397ac447a601bdbfa7df4bebc278723b958831c9bf"
    url = hub.add(MNIST_8, pointer)
    (home / "tmp").mkdir(parents=True)
    (home / "tmp" / f"{digest}.part").write_bytes(pointer)
    with pytest.raises(DownloadError) as caught:
        Cache(read_config()).fetch(url, sha256=digest, size=26454)
    _assert_pointer_error(caught.value, url)
    assert [g.get("Range") for g in hub.gets(MNIST_8)] == [None]
    assert leftovers(home) == []


def test_a_checkout_without_lfs_objects_is_refused_by_name(
    home: Path, leftovers, onnx_models: Path
) -> None:
    source = onnx_models / MNIST_8
    with pytest.raises(GitLfsPointerError) as caught:
        Cache(read_config()).fetch(str(source), sha256=None)
    _assert_pointer_error(caught.value, str(source))
    assert leftovers(home) == []

"""``download --local-dir DIR`` when DIR is not a folder it can write into."""

from __future__ import annotations

from pathlib import Path

import polyhub
import pytest
from polyhub._localdir import place


@pytest.fixture
def src(tmp_path: Path) -> Path:
    f = tmp_path / "model.onnx"
    f.write_bytes(b"bytes")
    return f


def test_a_file_in_the_folders_place_is_named(src: Path, tmp_path: Path) -> None:
    # It used to fail on DIR/model.onnx with "File exists", a file that does not exist.
    taken = tmp_path / "models"
    taken.write_text("not a folder")
    with pytest.raises(polyhub.PolyhubError, match="models: it is a file, not a folder"):
        list(place(src, taken))
    assert taken.read_text() == "not a folder"


def test_a_dangling_link_in_the_folders_place_is_named(src: Path, tmp_path: Path) -> None:
    link = tmp_path / "models"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(polyhub.PolyhubError, match="models: it is a link to a missing folder"):
        list(place(src, link))


def test_a_new_folder_is_made(src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "with space" / "models"
    assert list(place(src, dest)) == [dest / "model.onnx"]
    assert (dest / "model.onnx").read_bytes() == b"bytes"

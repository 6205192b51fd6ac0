"""A hostile or broken repository read statically: MetadataErrors, and faults stay in their entry."""

from __future__ import annotations

from pathlib import Path

import polyhub
import pytest
from polyhub import MetadataError, PolyhubWarning
from polyhub_megengine.hubconf import Hubconf

HUBCONF = """\
from models.good import good_net
from models.bad import bad_net

def local_net(pretrained=False):
    '''A net defined in hubconf itself.'''
"""


def repo_with_one_broken_module(root: Path, bad_source: bytes) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "__init__.py").write_text("")
    (root / "models" / "good.py").write_text("def good_net(pretrained=False):\n    pass\n")
    (root / "models" / "bad.py").write_bytes(bad_source)
    (root / "hubconf.py").write_text(HUBCONF)
    return root


BAD_SOURCES = {
    "syntax": b"def bad_net(:\n",
    # ast.parse raised ValueError on a NUL byte (Python 3.10).
    "nul-byte": b"def bad_net():\n    return '\x00'\n\x00",
    # The parser gives up on deep nesting (SyntaxError or RecursionError/MemoryError).
    "deep": b"x = " + b"(" * 5000 + b")" * 5000 + b"\ndef bad_net(): pass\n",
}


@pytest.mark.parametrize("case", sorted(BAD_SOURCES))
def test_one_unparsable_module_breaks_only_its_entrypoint(tmp_path: Path, case: str) -> None:
    root = repo_with_one_broken_module(tmp_path / "repo", BAD_SOURCES[case])
    conf = Hubconf(root)
    assert sorted(conf.entries()) == ["good_net", "local_net"]
    assert sorted(conf.broken) == ["bad_net"]
    assert conf.entry("good_net") is not None
    with pytest.raises(MetadataError) as info:
        conf.entry("bad_net")
    assert info.value.entry == "bad_net"
    assert info.value.file is not None and info.value.file.endswith("bad.py")

    with pytest.warns(PolyhubWarning, match="bad_net"):
        cards = polyhub.list_models("megengine", repo=str(root))
    assert sorted(c.name for c in cards) == ["good_net", "local_net"]
    assert polyhub.info(f"megengine:{root}/good_net").name == "good_net"
    with pytest.raises(MetadataError):
        polyhub.info(f"megengine:{root}/bad_net")


@pytest.mark.parametrize(
    "literal",
    [
        "{[1]: 'x'}",  # TypeError: unhashable key
        "{'u': " + "[" * 3000 + "]" * 3000 + "}",  # nesting
        "5",  # not a mapping
    ],
)
def test_hostile_weights_sha256_literal_is_a_metadata_error(tmp_path: Path, literal: str) -> None:
    (tmp_path / "hubconf.py").write_text(f"weights_sha256 = {literal}\n")
    try:
        conf = Hubconf(tmp_path)
    except MetadataError as exc:  # the parser may refuse the nesting already
        assert exc.file == "hubconf.py"
        return
    with pytest.raises(MetadataError) as info:
        _ = conf.weights_sha256
    assert info.value.field == "weights_sha256"


def test_hostile_all_falls_back_to_public_names(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("__all__ = {[1]: 2}\ndef net():\n    pass\n")
    (tmp_path / "hubconf.py").write_text("from pkg import *\n")
    assert list(Hubconf(tmp_path).entries()) == ["net"]


@pytest.mark.parametrize("sha256", [0, 10**63, "", "0" * 63, b"0" * 64])
def test_a_weights_hash_that_is_given_but_unusable_is_refused(sha256: object) -> None:
    from polyhub_megengine.weights import pretrained

    with pytest.raises(MetadataError) as info:
        pretrained("https://data.example.org/w_78a63ca6.pkl", sha256=sha256)  # type: ignore[arg-type]
    assert info.value.field == "sha256"

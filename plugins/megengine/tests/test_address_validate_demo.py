"""Address grammar, publishing checks, and the demo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import polyhub
import pytest
from polyhub import parse_address
from polyhub_megengine.address import split_address
from polyhub_megengine.errors import InvalidGitHost, InvalidProtocol, InvalidRepo
from polyhub_megengine.validate import validate


@pytest.mark.parametrize(
    ("text", "url", "repo_id", "revision"),
    # repo ids as the core's trust store computes them: a protocol's default port is dropped.
    [
        (
            "megengine:megengine/models/resnet18",
            "https://github.com/megengine/models.git",
            "github.com/megengine/models",
            "master",
        ),
        (
            "megengine:MegEngine/Models/resnet18@dev",
            "https://github.com/MegEngine/Models.git",
            "github.com/megengine/models",
            "dev",
        ),
        (
            "megengine:o/r/e?git_host=Git.Example.COM:2222&protocol=ssh",
            "ssh://git@git.example.com:2222/o/r.git",
            "git.example.com:2222/o/r",
            "master",
        ),
        (
            "megengine:o/r/e?git_host=10.0.0.7&protocol=SSH",
            "git@10.0.0.7:o/r.git",
            "10.0.0.7/o/r",
            "master",
        ),
        (
            "megengine:o/r/e?git_host=[::1]:8443",
            "https://[::1]:8443/o/r.git",
            "[::1]:8443/o/r",
            "master",
        ),
        (
            "megengine:o/r/e?git_host=localhost:9418&protocol=git",
            "git://localhost:9418/o/r.git",
            "localhost/o/r",
            "master",
        ),
        (
            "megengine:o/r/e@feature/x?commit=feature/x",
            "https://github.com/o/r.git",
            "github.com/o/r",
            "feature/x",
        ),
        (
            "megengine:git://127.0.0.1:9418/team/models.git/tiny@v1",
            "git://127.0.0.1:9418/team/models.git",
            "127.0.0.1/team/models",
            "v1",
        ),
        (
            "megengine:e?repo=o/r&git_host=h.example",
            "https://h.example/o/r.git",
            "h.example/o/r",
            "master",
        ),
    ],
)
def test_address_forms(text: str, url: str, repo_id: str, revision: str) -> None:
    spec, entry = split_address(parse_address(text))
    assert (spec.url, spec.repo_id, spec.revision) == (url, repo_id, revision)
    assert entry in ("resnet18", "e", "tiny")


def test_file_and_folder_forms(tmp_path: Path) -> None:
    spec, entry = split_address(parse_address(f"megengine:{tmp_path.as_uri()}/repo.git/net"))
    assert (spec.url, entry, spec.revision, spec.local) == (
        f"{tmp_path.as_uri()}/repo.git",
        "net",
        None,
        False,
    )
    spec, _ = split_address(parse_address(f"megengine:{tmp_path}/repo/net"))
    assert spec.local and spec.url == str(tmp_path / "repo")
    assert spec.repo_id == f"file://{os.path.realpath(tmp_path / 'repo')}"
    spec, _ = split_address(parse_address(f"megengine:{tmp_path}/repo/net@v2"))
    assert not spec.local and spec.url == (tmp_path / "repo").as_uri() and spec.revision == "v2"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("megengine:o/r/e?git_host=-oProxyCommand=x", InvalidGitHost),
        ("megengine:o/r/e?git_host=a b", InvalidGitHost),
        ("megengine:o/r/e?git_host=h:99999", InvalidGitHost),
        ("megengine:o/r/e?protocol=ftp", InvalidProtocol),
        ("megengine:resnet18", InvalidRepo),
        ("megengine:a/b/c/d", InvalidRepo),
        ("megengine:o/r/not-an-identifier", InvalidRepo),
        ("megengine:o/r/e@dev?commit=abc", InvalidRepo),
        ("megengine:git://h/x.git/e?git_host=other", InvalidRepo),
    ],
)
def test_bad_addresses(text: str, error: type[Exception]) -> None:
    with pytest.raises(error) as err:
        split_address(parse_address(text))
    assert isinstance(err.value, polyhub.PolyhubError) and isinstance(err.value, ValueError)


def test_validate_reports_unhashed_weights_and_missing_docs(tmp_path: Path, h: Any) -> None:
    h.write_files(
        tmp_path / "good",
        {
            "hubconf.py": (
                "from megengine import hub\nweights_sha256 = {'w.pkl': '" + "a" * 64 + "'}\n"
                "@hub.pretrained('https://example.org/w.pkl')\ndef net(**kw):\n    '''A net.'''\n"
            )
        },
    )
    assert validate(tmp_path / "good") == []
    assert polyhub.validate(tmp_path / "good" / "hubconf.py") == []
    h.write_files(tmp_path / "models", h.models_shaped_files())
    problems = validate(tmp_path / "models")
    assert problems is not None
    unhashed = [p for p in problems if "has no sha256" in p.message]
    assert len(unhashed) == 71
    h.write_files(
        tmp_path / "bad",
        {
            "hubconf.py": (
                "from megengine import hub\nimport os\ndependencies = os.environ\n"
                "@hub.pretrained('http://example.org/w.pkl#sha256="
                + "b" * 64
                + "')\ndef net(**kw):\n    pass\n"
            )
        },
    )
    messages = [str(p) for p in validate(tmp_path / "bad") or []]
    assert any("dependencies" in m for m in messages)
    assert any("not https" in m for m in messages)
    assert any("no docstring" in m for m in messages)
    assert validate(tmp_path) is None


def test_demo_builds_and_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mge: Any) -> None:
    from polyhub._demo import serve_directory
    from polyhub_megengine.demo import build_demo

    directory = tmp_path / "megengine"
    directory.mkdir()
    case = build_demo(directory)
    with serve_directory(directory) as base:
        for key, value in case.env.items():
            monkeypatch.setenv(key, value.format(base_url=base, directory=directory))
        model = polyhub.load(case.address, **case.options)
        line = case.run(model)
    assert "-> class" in line
    again = polyhub.load(case.address, **case.options)  # from the cache, hash verified
    assert case.run(again) == line

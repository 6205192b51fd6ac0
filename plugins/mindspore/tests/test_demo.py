"""The demo hub: a real MindIR served over loopback, loaded the way `polyhub demo` does."""

from __future__ import annotations

from pathlib import Path

import polyhub
import pytest
from polyhub_mindspore.demo import build_demo


def test_demo_loads_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, h):
    from polyhub._demo import serve_directory

    directory = tmp_path / "demo"
    directory.mkdir()
    case = build_demo(directory)
    with serve_directory(directory) as base:
        for key, value in case.env.items():
            monkeypatch.setenv(key, value.format(base_url=base, directory=directory))
        model = polyhub.load(case.address, **case.options)
        line = case.run(model)
    assert "output (1, 3)" in line
    # The demo card itself passes the publishing checks.
    card = next((directory / "mshub_res").rglob("*.md"))
    assert [p for p in polyhub.validate(card) if p.field != "repo-link"] == []

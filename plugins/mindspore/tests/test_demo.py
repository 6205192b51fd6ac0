"""The demo hub: a real MindIR served over loopback, loaded the way `polyhub demo` does."""

from __future__ import annotations

from pathlib import Path

import polyhub
import pytest
from polyhub_mindspore.demo import build_demo


def test_demo_loads_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, h):
    import functools
    import http.server
    import threading

    directory = tmp_path / "demo"
    directory.mkdir()
    case = build_demo(directory)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        for key, value in case.env.items():
            monkeypatch.setenv(
                key, value.replace("{base_url}", base).replace("{directory}", str(directory))
            )
        model = polyhub.load(case.address, **case.options)
        line = case.run(model)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "output (1, 3)" in line
    # The demo card itself passes the publishing checks.
    card = next((directory / "mshub_res").rglob("*.md"))
    assert [p for p in polyhub.validate(card) if p.field != "repo-link"] == []

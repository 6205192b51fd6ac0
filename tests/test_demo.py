"""``polyhub demo``: every installed plugin's embedded hub is served on 127.0.0.1 and loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata


def test_demo_loads_a_model_from_every_plugin(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYHUB_")}
    env["POLYHUB_HOME"] = str(tmp_path / "user-home")  # the demo must leave it alone
    env["POLYHUB_MIRRORS"] = (
        "https://=http://127.0.0.1:9/unreachable/"  # nothing may leave loopback
    )
    done = subprocess.run(
        [sys.executable, "-m", "polyhub", "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr[-3000:]
    assert "demo finished: all loads succeeded" in out
    plugins = {ep.name for ep in metadata.entry_points(group="polyhub")}
    titles = {"onnx": "== ONNX", "mindspore": "== MindSpore", "megengine": "== MegEngine"}
    for name, title in titles.items():
        if name in plugins:
            assert title in out
    assert out.count("  output  :") == len(plugins & set(titles))
    assert "(verified)" in out
    assert not (tmp_path / "user-home").exists()

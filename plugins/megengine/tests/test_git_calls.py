"""How many times a MegEngine load runs git: counted by a ``git`` first on ``PATH`` that logs its argv.

The source checks the repository out to read ``hubconf.py`` statically and pins
the card to that commit; the core's materialisation reuses that checkout. So a
cold load fetches once, and a second load in the same process runs no git at
all (the branch resolution, the checkout and whether the commit is published
are all known).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = """
import json, os, sys
import polyhub

log = os.environ["GIT_ARGV_LOG"]

def calls():
    return open(log).read().splitlines() if os.path.exists(log) else []

polyhub.load("megengine:megengine/models/resnet18", pretrained=True, device="cpu")
first = calls()
polyhub.load("megengine:megengine/models/resnet18", pretrained=True, device="cpu")
print(json.dumps({"first": first, "both": calls()}))
"""


def test_a_load_fetches_once_and_a_second_load_runs_no_git(
    github_models: Any, mge: Any, tmp_path: Path
) -> None:
    real = shutil.which("git")
    if real is None:
        pytest.skip("git is not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(f'#!/bin/sh\nprintf \'%s\\n\' "$*" >> "$GIT_ARGV_LOG"\nexec {real} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "GIT_ARGV_LOG": str(tmp_path / "git-argv.log"),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    first, both = seen["first"], seen["both"]
    fetches = [c for c in first if " fetch " in f" {c} " or " clone " in f" {c} "]
    assert len(fetches) == 1, first
    # The core's materialisation reused the source's checkout: one tree written.
    assert sum(" checkout-index " in f" {c} " for c in first) == 1, first
    assert both == first, f"the second load ran git: {both[len(first) :]}"

"""The ``polyhub`` command: exit codes 0 ok, 1 check failed, 2 usage error."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from polyhub._cache import Cache
from polyhub._cli import main
from polyhub._config import read_config


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_help_runs_as_a_program():
    out = subprocess.run(
        [sys.executable, "-m", "polyhub", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in (
        "list",
        "info",
        "download",
        "load",
        "cache",
        "trust",
        "plugins",
        "validate",
        "sha256",
        "demo",
    ):
        assert command in out


def test_sha256(tmp_path, capsys):
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc")
    assert main(["sha256", str(f)]) == 0
    assert capsys.readouterr().out.split()[0] == hashlib.sha256(b"abc").hexdigest()


def test_cache_ls_verify_rm(home, hub, capsys):
    data = b"model bytes" * 100
    digest = hashlib.sha256(data).hexdigest()
    path = Cache(read_config()).fetch(
        hub.add("m.bin", data), sha256=digest, size=len(data), view="t/m/m.bin"
    )
    assert main(["cache", "ls"]) == 0
    out = capsys.readouterr().out
    assert digest[:16] in out and "t/m/m.bin" in out
    assert main(["cache", "verify"]) == 0
    os.chmod(path, 0o644)
    path.write_bytes(b"X" + data[1:])
    assert main(["cache", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"CORRUPT {path}" in out and digest in out
    assert main(["cache", "rm", digest[:8], "--yes"]) == 0 and not path.exists()
    assert main(["cache", "rm", digest[:8], "--yes"]) == 1


def test_cache_prune(home, capsys):
    (home / "tmp").mkdir(parents=True)
    stale = home / "tmp" / ("a" * 64 + ".part")
    stale.write_bytes(b"x")
    os.utime(stale, (0, 0))
    assert main(["cache", "prune", "--dry-run"]) == 0 and stale.exists()
    assert f"would remove {stale}" in capsys.readouterr().out
    assert main(["cache", "prune"]) == 0 and not stale.exists()


def test_trust_commands(home, capsys):
    assert main(["trust", "add", "https://github.com/Acme/Models.git"]) == 0
    assert main(["trust", "ls"]) == 0
    rows = [line.split()[:3] for line in capsys.readouterr().out.splitlines()]
    assert ["github.com/acme/models", "trust", "list"] in rows
    assert main(["trust", "rm", "github.com/acme/models"]) == 0
    assert main(["trust", "rm", "github.com/acme/models"]) == 1


def test_errors_exit_1_with_the_error_class(home, capsys):
    assert main(["info", "nohub:whatever"]) == 1
    err = capsys.readouterr().err
    assert "ModelNotFoundError" in err and "installed schemes" in err


def test_plugins_lists_installed_and_builtin(home, capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "polyhub.builtin (builtin)" in out


def test_load_says_what_was_loaded_where(home, tmp_path, capsys):
    demo = pytest.importorskip("polyhub_onnx.demo", reason="polyhub-onnx is not installed")
    demo.build_demo(tmp_path / "hub")
    assert main(["load", "onnx:tiny-mlp", "-O", f"hub={tmp_path / 'hub'}", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "runtime : onnxruntime" in out and "device  : cpu" in out
    assert "plan    : chose tiny-mlp" in out and f"file    : {home}" in out
    assert "InferenceSession" in out

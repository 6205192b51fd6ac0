"""The installed ``polyhub`` console script, run as users run it: a real process each time.

Usage errors exit 2 with one line and no traceback, failures exit 1, a closed pipe
ends the command quietly; the cache, trust and download commands do what their
help says on real files, a real loopback hub and real git repositories.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import filelock
import pytest

POLYHUB = str(Path(sys.executable).parent / "polyhub")


def run(
    *args: str, env: dict[str, str], input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POLYHUB, *args],
        env=env,
        capture_output=True,
        text=True,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


def usage_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(("polyhub: error:", "usage:")), done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("POLYHUB_")}
    clean["POLYHUB_HOME"] = str(tmp_path / "home")
    clean["POLYHUB_DISABLE_PROGRESS_BARS"] = "1"
    return clean


@pytest.fixture
def onnx_hub(tmp_path: Path, env: dict[str, str]) -> Path:
    demo = pytest.importorskip("polyhub_onnx.demo", reason="polyhub-onnx is not installed")
    folder = tmp_path / "onnxhub"
    demo.write_hub(folder, demo.demo_models())
    env["POLYHUB_ONNX_HUB"] = str(folder)
    return folder


@pytest.fixture
def served_onnx_hub(onnx_hub: Path, hub: Any, env: dict[str, str]) -> Any:
    """The demo ONNX hub on the loopback fault-injecting server, so files go through the cache."""
    for path in onnx_hub.rglob("*"):
        if path.is_file():
            hub.add(path.relative_to(onnx_hub).as_posix(), path.read_bytes())
    env["POLYHUB_ONNX_HUB"] = hub.base
    return hub


# -- version, usage errors, pipes ---------------------------------------------


def test_version(env: dict[str, str]) -> None:
    from importlib import metadata

    done = run("--version", env=env)
    assert done.returncode == 0
    assert done.stdout.startswith(f"polyhub {metadata.version('polyhub')} ")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("info", "onnx:"), ("empty path",)),
        (("sha256",), ("FILE",)),
        (("sha256", "/no/such/file"), ("/no/such/file", "no such file")),
        (("sha256", "/"), ("is a folder",)),
        (("info", "onnx:tiny-mlp", "-O", "novalue"), ("KEY=VALUE",)),
        (("list", "onnx", "-O", "=3"), ("KEY=VALUE",)),
        (("list", "onnx", "-O", "colour=red"), ("colour", "unknown filter")),
        (("list", "onnx", "-O", "opset=eight"), ("opset 'eight' is not a number",)),
        (("load", "onnx:tiny-mlp", "--device", "tpu"), ("unknown device 'tpu'",)),
        (("cache", "prune", "--older-than", "soon"), ("--older-than", "30d")),
        (("frobnicate",), ("invalid choice",)),
        # Used to exit 1 with "no installed plugin knows how to validate ...".
        (("validate", "/no/such/card.yaml"), ("/no/such/card.yaml: no such file",)),
    ],
)
def test_usage_errors_exit_2_in_one_line(
    args: tuple[str, ...], words: tuple[str, ...], env: dict[str, str], onnx_hub: Path
) -> None:
    usage_error(run(*args, env=env), *words)


def test_failures_exit_1_without_traceback(env: dict[str, str], onnx_hub: Path) -> None:
    done = run("info", "onnx:no-such-model", env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("polyhub: ModelNotFoundError:")


def test_bad_log_level_is_a_usage_error(env: dict[str, str]) -> None:
    usage_error(run("cache", "ls", env={**env, "POLYHUB_LOG_LEVEL": "LOUD"}), "LOUD")


def test_closed_pipe_ends_quietly(env: dict[str, str], onnx_hub: Path) -> None:
    proc = subprocess.Popen(
        [POLYHUB, "list", "onnx"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_sha256_into_closed_pipe_blames_no_file(env: dict[str, str], tmp_path: Path) -> None:
    # A closed stdout used to be caught as a read error of each file in turn:
    # one "cannot read FILE: Broken pipe" line per file and exit 1.
    f = tmp_path / "x.bin"
    f.write_bytes(b"x")
    proc = subprocess.Popen(
        [POLYHUB, "sha256", *[str(f)] * 50],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert "cannot read" not in err and "Traceback" not in err, err


def test_list_into_head(env: dict[str, str], onnx_hub: Path) -> None:
    done = subprocess.run(
        f"{POLYHUB} list onnx | head -1",
        shell=True,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.stdout.count("\n") == 1 and done.stdout.startswith("onnx:")
    assert "Traceback" not in done.stderr


# -- logging ----------------------------------------------------------------------


def test_retries_show_at_the_default_level_and_q_hides_them(
    env: dict[str, str], served_onnx_hub: Any
) -> None:
    model = "demo/tiny-mlp/model/tiny-mlp-17.onnx"
    served_onnx_hub.script(model, ("status", 503))
    done = run("download", "onnx:tiny-mlp", env=env)
    assert done.returncode == 0, done.stderr
    assert f"polyhub: GET {served_onnx_hub.url(model)}: HTTP 503, retry 1" in done.stderr

    served_onnx_hub.script(model, ("status", 503))
    done = run("download", "onnx:tiny-mlp", "--force-reload", "-q", env=env)
    assert done.returncode == 0 and "retry" not in done.stderr, done.stderr
    served_onnx_hub.script(model, ("status", 503))
    quiet_env = {**env, "POLYHUB_LOG_LEVEL": "warning"}
    done = run("download", "onnx:tiny-mlp", "--force-reload", env=quiet_env)
    assert done.returncode == 0 and "retry" not in done.stderr, done.stderr


def test_lock_wait_is_announced(env: dict[str, str], served_onnx_hub: Any, tmp_path: Path) -> None:
    data = served_onnx_hub.files["/demo/tiny-mlp/model/tiny-mlp-17.onnx"]
    locks = tmp_path / "home" / "locks"
    locks.mkdir(parents=True)
    held = filelock.FileLock(str(locks / f"{hashlib.sha256(data).hexdigest()}.lock"))
    with held:
        done = run("download", "onnx:tiny-mlp", env={**env, "POLYHUB_LOCK_TIMEOUT": "1"})
    assert done.returncode == 1
    assert "waiting for another process to finish downloading http://" in done.stderr
    assert "tiny-mlp-17.onnx" in done.stderr and "DownloadError" in done.stderr


def test_qq_keeps_errors_only(env: dict[str, str], served_onnx_hub: Any) -> None:
    # A PolyhubWarning (here: the hub is down, its cached index is used) went through
    # the warnings printer, which ignored -qq ("only errors").
    env = {**env, "POLYHUB_INDEX_TTL": "0"}
    assert run("list", "onnx", env=env).returncode == 0  # the index is cached
    served_onnx_hub.script("ONNX_HUB_MANIFEST.json", ("status", 503), ("status", 503))
    loud = run("list", "onnx", env=env)
    assert loud.returncode == 0 and "polyhub: warning:" in loud.stderr, loud.stderr
    quiet = run("-qq", "list", "onnx", env=env)
    assert quiet.returncode == 0 and "warning" not in quiet.stderr, quiet.stderr


def test_library_is_silent_unless_asked(env: dict[str, str]) -> None:
    code = (
        "import logging, polyhub\n"
        "logging.getLogger('polyhub._cache').warning('careful')\n"
        "logging.getLogger('polyhub._downloader').info('retrying')\n"
    )
    silent = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert silent.stderr == ""
    loud = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "POLYHUB_LOG_LEVEL": "INFO"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert loud.stderr.splitlines() == ["polyhub: warning: careful", "polyhub: retrying"]


# -- cache ------------------------------------------------------------------------


def _git(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _repo(root: Path, files: dict[str, str]) -> str:
    work = root / "work"
    work.mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=work)
    for name, text in files.items():
        (work / name).write_text(text)
    _git("add", "-A", cwd=work)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x", cwd=work)
    bare = root / "repo.git"
    _git("clone", "-q", "--bare", str(work), str(bare))
    return bare.as_uri()


def _fill_home(tmp_path: Path, env: dict[str, str]) -> dict[str, Any]:
    """A home holding one of everything polyhub writes, made by polyhub itself."""
    from polyhub._cache import Cache
    from polyhub._config import Config
    from polyhub._git import checkout

    home = Path(env["POLYHUB_HOME"])
    config = Config(home=home, progress=False)
    cache = Cache(config)
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(10_000))
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    blob = cache.fetch(src.as_uri(), sha256=digest, view="t/m/src.bin")
    got = checkout(_repo(tmp_path / "g", {"hubconf.py": "x = 1\n"}), None, config)
    (home / "extracted" / "k1").mkdir(parents=True)
    (home / "extracted" / "k1" / "data.pb").write_bytes(b"d" * 5000)
    (home / "index").mkdir()
    (home / "index" / "abc.body").write_bytes(b"{}")
    (home / "tmp").mkdir(exist_ok=True)
    (home / "tmp" / f"{'e' * 64}.part").write_bytes(b"p" * 3000)
    (home / "mindspore" / "links").mkdir(parents=True)
    (home / "mindspore" / "links" / "m.ckpt").write_bytes(b"c" * 100)
    return {"blob": blob, "digest": digest, "checkout": got.path, "home": home}


def test_cache_ls_accounts_for_everything_as_du(tmp_path: Path, env: dict[str, str]) -> None:
    if shutil.which("du") is None:
        pytest.skip("du is not installed")
    made = _fill_home(tmp_path, env)
    done = run("cache", "ls", "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    du = subprocess.run(
        ["du", "-sB1", str(made["home"])], capture_output=True, text=True, check=True
    )
    assert report["total"] == int(du.stdout.split()[0])
    kinds = {i["kind"] for i in report["items"]}
    assert {"blob", "checkout", "repo", "extracted", "index", "temporary", "plugin"} <= kinds
    paths = {i["path"] for i in report["items"]}
    assert str(made["blob"]) in paths and str(made["checkout"]) in paths
    assert all(i["last_used"] > time.time() - 3600 for i in report["items"])

    text = run("cache", "ls", env=env)
    assert made["digest"][:16] in text.stdout and "t/m/src.bin" in text.stdout
    assert f"({report['total']} bytes on disk" in text.stderr


def _age(path: Path, days: float) -> None:
    when = time.time() - days * 86400
    for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
        os.utime(p, (when, when), follow_symlinks=False)


def test_cache_prune_older_than_removes_unused_items(tmp_path: Path, env: dict[str, str]) -> None:
    from polyhub._config import Config
    from polyhub._git import checkout

    made = _fill_home(tmp_path, env)
    home = made["home"]
    repo_dir = next((home / "git" / "repos").iterdir())
    for path in (made["blob"], made["checkout"], home / "extracted" / "k1", repo_dir):
        _age(path, 40)
    fresh = home / "extracted" / "k2"
    fresh.mkdir()
    (fresh / "f").write_bytes(b"new")

    dry = run("cache", "prune", "--older-than", "30d", "--dry-run", env=env)
    assert dry.returncode == 0 and made["blob"].exists() and made["checkout"].exists()
    assert f"would remove checkout {made['checkout']}" in dry.stdout

    done = run("cache", "prune", "--older-than", "30d", env=env)
    assert done.returncode == 0, done.stderr
    for gone in (made["blob"], made["checkout"], home / "extracted" / "k1", repo_dir):
        assert not gone.exists(), gone
        assert str(gone) in done.stdout
    assert fresh.exists() and (home / "index" / "abc.body").exists()
    assert not (home / "views" / "t" / "m" / "src.bin").is_symlink()  # no dangling view
    # With its repository and branch record gone, the code is fetched afresh.
    again = checkout(
        (tmp_path / "g" / "repo.git").as_uri(), None, Config(home=home, progress=False)
    )
    assert (again.path / "hubconf.py").read_text() == "x = 1\n"


def test_cache_rm_guards(tmp_path: Path, env: dict[str, str]) -> None:
    made = _fill_home(tmp_path, env)
    digest, blob = made["digest"], made["blob"]
    usage_error(run("cache", "rm", "", env=env), "8 hex digits")
    usage_error(run("cache", "rm", digest[:7], env=env), "8 hex digits")
    usage_error(run("cache", "rm", digest[:8], env=env), "--yes", "not a terminal")
    assert blob.exists()
    done = run("cache", "rm", digest[:8], "--yes", env=env)
    assert done.returncode == 0 and digest in done.stdout and not blob.exists()
    assert run("cache", "rm", digest[:8], "--yes", env=env).returncode == 1


def _on_a_terminal(args: list[str], env: dict[str, str], answer: bytes) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [POLYHUB, *args], env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in out and time.monotonic() < deadline:
        try:
            out += os.read(master, 4096)
        except OSError:
            break
    os.write(master, answer)
    rc = proc.wait(timeout=60)
    try:
        while chunk := os.read(master, 4096):
            out += chunk
    except OSError:
        pass
    os.close(master)
    return rc, out.decode(errors="replace")


def test_cache_rm_asks_on_a_terminal(tmp_path: Path, env: dict[str, str]) -> None:
    made = _fill_home(tmp_path, env)
    rc, out = _on_a_terminal(["cache", "rm", made["digest"][:12]], env, b"n\n")
    assert rc == 1 and "Remove 1 file(s)" in out and made["blob"].exists(), out
    assert "t/m/src.bin" in out  # it showed what it would remove
    rc, out = _on_a_terminal(["cache", "rm", made["digest"][:12]], env, b"y\n")
    assert rc == 0 and not made["blob"].exists(), out


# -- download --local-dir -----------------------------------------------------------


def test_download_local_dir_copies_files_under_their_names(
    tmp_path: Path, env: dict[str, str], served_onnx_hub: Any
) -> None:
    dest = tmp_path / "out"
    done = run("download", "onnx:tiny-mlp", "--local-dir", str(dest), env=env)
    assert done.returncode == 0, done.stderr
    placed = dest / "tiny-mlp-17.onnx"
    assert done.stdout.strip() == str(placed)
    assert not placed.is_symlink()
    data = served_onnx_hub.files["/demo/tiny-mlp/model/tiny-mlp-17.onnx"]
    assert placed.read_bytes() == data
    blob = Path(env["POLYHUB_HOME"]) / "blobs" / "sha256"
    blob = blob / hashlib.sha256(data).hexdigest()[:2] / hashlib.sha256(data).hexdigest()
    assert blob.exists() and blob.stat().st_ino != placed.stat().st_ino  # a copy, not a link
    assert [p.name for p in dest.iterdir()] == ["tiny-mlp-17.onnx"]  # no temporary left

    done = run("download", "onnx:tiny-mlp", "--with-test-data", "--local-dir", str(dest), env=env)
    assert done.returncode == 0, done.stderr
    assert (dest / "tiny-mlp-17" / "test_data_set_0" / "input_0.pb").is_file()
    assert not list(dest.rglob(".polyhub-complete"))


def test_progress_bar_names_the_file(
    tmp_path: Path, env: dict[str, str], served_onnx_hub: Any
) -> None:
    env = {k: v for k, v in env.items() if k != "POLYHUB_DISABLE_PROGRESS_BARS"}
    master, slave = pty.openpty()
    # A terminal 100 columns wide: in one of 0 columns a bar has no room for its label.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [POLYHUB, "download", "onnx:tiny-mlp"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    out = b""
    try:
        while chunk := os.read(master, 4096):
            out += chunk
    except OSError:
        pass
    assert proc.wait(timeout=120) == 0
    assert b"tiny-mlp-17.onnx" in out, out


# -- trust --------------------------------------------------------------------------


def test_trust_add_validates_and_says_what_it_matches(env: dict[str, str]) -> None:
    usage_error(run("trust", "add", "acme/models", env=env), "github.com/acme/models")
    usage_error(run("trust", "add", "", env=env), "host/owner/name")
    usage_error(run("trust", "add", "github.com", env=env), "host/owner/name")
    done = run("trust", "add", "https://GitHub.com/Acme/Models.git", env=env)
    assert done.returncode == 0
    assert done.stdout.startswith("trusted github.com/acme/models: ")
    done = run("trust", "add", "gitee.com/acme/", env=env)
    assert "every repository under gitee.com/acme/" in done.stdout
    commit = "A" * 40  # one commit only, the form a refusal for a commit on no branch names
    done = run("trust", "add", f"github.com/Acme/Other@{commit}", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"trusted github.com/acme/other@{commit.lower()}: ")
    usage_error(run("trust", "add", "github.com/acme/other@abc1234", env=env), "40-digit")


def test_trust_ls_labels_every_origin(env: dict[str, str]) -> None:
    assert run("trust", "add", "github.com/acme/models", env=env).returncode == 0
    done = run("trust", "ls", env={**env, "POLYHUB_TRUSTED_REPOS": "example.org/team/"}, timeout=60)
    lines = [line.split() for line in done.stdout.splitlines()]
    assert lines[0][:3] == ["github.com/acme/models", "trust", "list"]
    assert ["example.org/team/", "POLYHUB_TRUSTED_REPOS"] in lines
    try:
        import polyhub_megengine  # noqa: F401
    except ImportError:
        return
    assert ["github.com/megengine/", "default", "of", "the", "megengine", "source"] in lines


def test_untrusted_refusal_names_the_flag(tmp_path: Path, env: dict[str, str]) -> None:
    pytest.importorskip("polyhub_megengine", reason="polyhub-megengine is not installed")
    url = _repo(tmp_path / "g", {"hubconf.py": "def tiny():\n    return None\n"})
    done = run("load", f"megengine:{url}/tiny", env=env, timeout=240)
    assert done.returncode == 1, done.stderr
    assert "UntrustedError" in done.stderr and "pass --trust-repo" in done.stderr
    assert "trust_repo=True" not in done.stderr and "Traceback" not in done.stderr


# -- framework noise -------------------------------------------------------------------


def test_native_stderr_goes_to_the_debug_log(env: dict[str, str]) -> None:
    code = (
        "import logging, os, sys\n"
        "from polyhub._logs import capture_framework_output, configure, framework_output\n"
        "configure(int(sys.argv[1]))\n"
        "capture_framework_output(True)\n"
        "with framework_output('polyhub.fake'):\n"
        "    os.write(2, b'info: + banner from C +\\n')\n"
        "print('done')\n"
    )
    for level, shown in ((20, False), (10, True)):
        done = subprocess.run(
            [sys.executable, "-c", code, str(level)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.stdout == "done\n"
        expected = "polyhub: debug: [polyhub.fake] info: + banner from C +\n" if shown else ""
        assert done.stderr == expected


@pytest.mark.slow
def test_megengine_load_keeps_framework_chatter_out(tmp_path: Path, env: dict[str, str]) -> None:
    # Without a CUDA driver MegEngine prints "debug: failed to load cuda func: ..." again
    # at the first tensor it makes, after the device probe: 'polyhub load' of a hubconf
    # model showed three such lines at the default level.
    pytest.importorskip("polyhub_megengine", reason="polyhub-megengine is not installed")
    pytest.importorskip("megengine", reason="MegEngine is not installed")
    code = (
        "import sys; from pathlib import Path; from polyhub_megengine.demo import build_demo; "
        "print(build_demo(Path(sys.argv[1])).address)"
    )
    made = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "repo")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    address = made.stdout.strip().splitlines()[-1]
    quiet = run("load", address, "--trust-repo", "--device", "cpu", env=env, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "", quiet.stderr
    loud = run("-v", "load", address, "--trust-repo", "--device", "cpu", env=env, timeout=300)
    assert loud.returncode == 0 and "polyhub: debug:" in loud.stderr


@pytest.mark.slow
def test_demo_keeps_framework_chatter_out(tmp_path: Path, env: dict[str, str]) -> None:
    # Without a CUDA driver MegEngine prints a five-line banner from C++ at its first
    # device probe (`polyhub -v demo` shows it); a plain run's stderr stays empty.
    pytest.importorskip("polyhub_megengine", reason="polyhub-megengine is not installed")
    pytest.importorskip("megengine", reason="MegEngine is not installed")
    quiet = run("demo", env={**env, "POLYHUB_HOME": str(tmp_path / "b")}, timeout=300)
    assert quiet.returncode == 0 and "all loads succeeded" in quiet.stdout
    assert quiet.stderr == "", quiet.stderr

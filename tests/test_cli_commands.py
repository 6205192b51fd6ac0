"""Commands other packages add to ``polyhub`` through the ``polyhub.commands`` entry points.

The core's CLI imports no other package: ``polyhub conformance`` comes from the
kit's entry point, loaded only when asked for. A throwaway distribution (a
``.dist-info`` folder on ``PYTHONPATH``, as an installer leaves it) checks the
contract itself: listed by ``--help`` without being imported, loaded and run by
its name, never loaded by a builtin command, left out when broken.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from polyhub._cli import build_parser, iter_commands

COMMAND = """
import argparse, sys

sys.modules[__name__].LOADED = True

def add(commands):
    s = commands.add_parser("hello", help="say hello to NAME")
    s.add_argument("name")
    s.add_argument("-v", action="store_true", help="its own -v, not polyhub's")
    return run

def run(args):
    print(f"hello {args.name}{'!' if args.v else ''}")
    return 3

def broken(commands):
    commands.add_parser("broken", help="half added, then fails")
    raise RuntimeError("this command cannot load")
"""


@pytest.fixture
def extra(tmp_path: Path) -> Path:
    """A folder with the module ``hello_cmd`` and its distribution's metadata."""
    (tmp_path / "hello_cmd.py").write_text(COMMAND)
    info = tmp_path / "polyhub_hello-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: polyhub-hello\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[polyhub.commands]\nhello = hello_cmd:add\nbroken = hello_cmd:broken\n"
    )
    return tmp_path


def _polyhub(extra: Path, *args: str, probe: str = "") -> subprocess.CompletedProcess[str]:
    code = (
        "import sys, json\nfrom polyhub._cli import main\n"
        f"status = main({list(args)!r})\n"
        "sys.stdout.flush()\n"
        f"{probe}\n"
        "sys.exit(status)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(extra), *sys.path])}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )


MODULES = (
    "print(json.dumps(sorted(m for m in sys.modules if 'hello' in m or m.startswith('polyhub_'))))"
)


def test_help_lists_a_contributed_command_without_importing_it(extra: Path) -> None:
    code = (
        "import sys, json\nsys.argv = ['polyhub', '--help']\nfrom polyhub._cli import main\n"
        "try:\n main()\nexcept SystemExit: pass\n" + MODULES
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(extra), *sys.path])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "hello" in done.stdout and "polyhub-hello" in done.stdout, done.stdout
    assert "conformance" in done.stdout  # the kit's, installed in this environment
    assert json.loads(done.stdout.splitlines()[-1]) == []  # listed, none imported


def test_a_contributed_command_runs_with_its_own_options(extra: Path) -> None:
    done = _polyhub(extra, "hello", "world", "-v", probe=MODULES)
    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines()[0] == "hello world!"
    assert json.loads(done.stdout.splitlines()[-1]) == ["hello_cmd"]  # not the kit


def test_a_builtin_command_loads_no_contributed_one(extra: Path) -> None:
    done = _polyhub(extra, "sha256", str(extra / "hello_cmd.py"), probe=MODULES)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_a_broken_command_is_unknown_and_breaks_nothing_else(extra: Path) -> None:
    done = _polyhub(extra, "broken")
    assert done.returncode == 2
    assert "invalid choice: 'broken'" in done.stderr, done.stderr
    assert _polyhub(extra, "hello", "x").stdout == "hello x\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(extra), *sys.path])}
    code = (
        "import argparse\nfrom polyhub._cli import add_contributed\n"
        "p = argparse.ArgumentParser(prog='polyhub'); sub = p.add_subparsers()\n"
        "print(add_contributed(sub)); print(p.format_help())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.splitlines()[0] == "['conformance', 'hello']", done.stderr
    assert "half added" not in done.stdout  # the broken one is not listed either


def test_the_full_parser_holds_the_kits_command_for_the_reference() -> None:
    commands = dict(iter_commands(build_parser()))
    assert "conformance" in commands
    assert "run the conformance kit" in build_parser().format_help()
    assert "conformance" not in dict(iter_commands(build_parser(commands=False)))


def test_polyhub_conformance_without_the_kit_says_what_to_install(tmp_path: Path) -> None:
    # The core alone: a copy of its sources, no distribution of the kit on the path.
    core = Path(__import__("polyhub").__file__).parent
    code = "import sys\nfrom polyhub._cli import main\nsys.exit(main(['conformance']))"
    env = {**os.environ, "PYTHONPATH": str(core.parent)}
    done = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "pip install polyhub-conformance" in done.stderr

"""Git checkouts pinned to commits, and isolated imports of repository code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from polyhub import DownloadError, OfflineError, RevisionNotFoundError
from polyhub._config import read_config
from polyhub._git import checkout, repo_id_from_url
from polyhub._isolation import RepoImporter
from polyhub.testing import git


def make_repo(path: Path, files: dict[str, str], branch: str = "master") -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", branch)
    commit_files(path, files, "initial")
    return path


def commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def test_branch_resolves_to_commit_and_moves(home, tmp_path):
    repo = make_repo(tmp_path / "r", {"hubconf.py": "V = 1\n"})
    first = git(repo, "rev-parse", "HEAD")
    co = checkout(repo.as_uri(), "master", read_config())
    assert co.commit == first and (co.path / "hubconf.py").read_text() == "V = 1\n"
    assert co.path.name == first
    second = commit_files(repo, {"hubconf.py": "V = 2\n"}, "second")
    # until a refresh, the branch keeps giving the code it gave (no network needed)
    assert checkout(repo.as_uri(), "master", read_config()).commit == first
    co2 = checkout(repo.as_uri(), "master", read_config(force_reload=True))
    assert co2.commit == second and (co2.path / "hubconf.py").read_text() == "V = 2\n"
    assert checkout(repo.as_uri(), "master", read_config()).commit == second
    # the pinned commit never changes
    pinned = checkout(repo.as_uri(), first, read_config())
    assert pinned.path == co.path and (pinned.path / "hubconf.py").read_text() == "V = 1\n"


def test_default_branch_tags_and_slashes(home, tmp_path):
    repo = make_repo(tmp_path / "r", {"a.txt": "main\n"}, branch="main")
    git(repo, "tag", "v1")
    git(repo, "checkout", "-q", "-b", "feature/x")
    commit_files(repo, {"a.txt": "feature\n"}, "feature")
    git(repo, "checkout", "-q", "main")
    config = read_config()
    assert (checkout(repo.as_uri(), None, config).path / "a.txt").read_text() == "main\n"
    assert (checkout(repo.as_uri(), "v1", config).path / "a.txt").read_text() == "main\n"
    assert (checkout(repo.as_uri(), "feature/x", config).path / "a.txt").read_text() == "feature\n"


def test_unknown_revision_lists_what_exists(home, tmp_path):
    repo = make_repo(tmp_path / "r", {"a.txt": "x"})
    with pytest.raises(RevisionNotFoundError, match="master"):
        checkout(repo.as_uri(), "no-such-branch", read_config())
    with pytest.raises(RevisionNotFoundError):
        checkout(repo.as_uri(), "deadbeef" * 5, read_config())


def test_local_clone_resolves_its_remote_tracking_branches(home, tmp_path):
    # A plain `git clone` keeps only its default branch under refs/heads; the others
    # (the MindSpore hub's r1.6) are origin/*, and must resolve like branches.
    upstream = make_repo(tmp_path / "up", {"a.txt": "master\n"})
    git(upstream, "checkout", "-q", "-b", "r1.6")
    r16 = commit_files(upstream, {"a.txt": "r1.6\n"}, "r1.6")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    git(clone, "checkout", "-q", "master")
    git(clone, "branch", "-q", "-D", "r1.6")
    co = checkout(clone.as_uri(), "r1.6", read_config())
    assert co.commit == r16 and (co.path / "a.txt").read_text() == "r1.6\n"
    # An unknown branch's error lists the clone's origin/* branches among what exists.
    with pytest.raises(RevisionNotFoundError, match=r"polyhub/origin/r1\.6"):
        checkout(clone.as_uri(), "r1.7", read_config())


def test_unreachable_repo_is_a_download_error(home, tmp_path):
    with pytest.raises(DownloadError, match="could not fetch"):
        checkout((tmp_path / "nothing-here").as_uri(), "master", read_config())


def test_offline_uses_the_last_resolution(home, tmp_path, monkeypatch):
    repo = make_repo(tmp_path / "r", {"a.txt": "x"})
    online = checkout(repo.as_uri(), "master", read_config())
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    repo.rename(tmp_path / "gone")  # the remote is unreachable now
    assert checkout(repo.as_uri(), "master", read_config()).path == online.path
    with pytest.raises(OfflineError, match="never fetched"):
        checkout(repo.as_uri(), "other", read_config())


def test_mirror_applies_to_git(home, tmp_path, monkeypatch):
    make_repo(tmp_path / "mirror" / "owner" / "name", {"a.txt": "mirrored"})
    monkeypatch.setenv("POLYHUB_MIRRORS", f"https://github.com={(tmp_path / 'mirror').as_uri()}")
    from polyhub._plugins import get_plugin_manager

    ctx = get_plugin_manager(load_entry_points=False).context(read_config())
    co = ctx.checkout("https://github.com/owner/name", "master")
    assert (co.path / "a.txt").read_text() == "mirrored"
    assert co.url == "https://github.com/owner/name"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/MegEngine/Models.git", "github.com/megengine/models"),
        ("git@github.com:MegEngine/Models.git", "github.com/megengine/models"),
        ("ssh://git@Git.Example.com:2222/a/b", "git.example.com:2222/a/b"),
        ("https://10.0.0.1:8443/a/b/", "10.0.0.1:8443/a/b"),
        (
            "https://gitee.com/mindspore/models/tree/master/x",
            "gitee.com/mindspore/models/tree/master/x",
        ),
    ],
)
def test_repo_ids(url, expected):
    assert repo_id_from_url(url) == expected


def _pkg(root: Path, value: str) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "__init__.py").write_text("")
    (root / "src" / "net.py").write_text(f"VALUE = {value!r}\n")
    (root / "hubconf.py").write_text(
        "from src.net import VALUE\n"
        "def entry():\n"
        "    import src.net\n"
        "    return VALUE, src.net.VALUE\n"
    )
    return root


def test_two_repos_with_a_src_package_do_not_collide(tmp_path):
    a = RepoImporter(_pkg(tmp_path / "a", "A"))
    b = RepoImporter(_pkg(tmp_path / "b", "B"))
    path_before, modules_before = list(sys.path), set(sys.modules)
    cwd = os.getcwd()
    ma, mb = a.load("hubconf.py"), b.load("hubconf.py")
    with a.active():
        assert ma.entry() == ("A", "A")
    with b.active():
        assert mb.entry() == ("B", "B")
    with a.active():
        assert ma.entry() == ("A", "A")
    assert sys.path == path_before and set(sys.modules) == modules_before and os.getcwd() == cwd
    assert "src" not in sys.modules


def test_repo_module_shadows_a_global_module_of_the_same_name(tmp_path, monkeypatch):
    import types

    monkeypatch.setitem(sys.modules, "src", types.ModuleType("src"))
    repo = RepoImporter(_pkg(tmp_path / "a", "A"))
    module = repo.load("hubconf.py")
    with repo.active():
        assert module.entry() == ("A", "A")
    assert not hasattr(sys.modules["src"], "net")


@pytest.mark.parametrize(
    ("url", "revision"),
    [
        ("--upload-pack=touch /tmp/polyhub-pwned", "master"),
        ("ext::sh -c touch% /tmp/polyhub-pwned", "master"),
        ("REPO", "--output=/tmp/polyhub-pwned"),
    ],
)
def test_hostile_urls_and_revisions_run_nothing(home, tmp_path, url, revision):
    repo = make_repo(tmp_path / "r", {"a.txt": "x"})
    url = url.replace("REPO", repo.as_uri())
    with pytest.raises((DownloadError, RevisionNotFoundError)):
        checkout(url, revision, read_config())
    assert not Path("/tmp/polyhub-pwned").exists()


def test_a_second_branch_of_a_repository_just_fetched_needs_no_second_fetch(
    home, tmp_path, monkeypatch
):
    # A fetch brings every branch: a cold MindSpore load asked the network twice per
    # repository (hub: HEAD then r1.6; models: master then its fallback branch).
    repo = make_repo(tmp_path / "r", {"a.py": "A = 1\n"})
    git(repo, "checkout", "-q", "-b", "r1.6")
    old = commit_files(repo, {"a.py": "A = 2\n"}, "era")
    git(repo, "checkout", "-q", "master")
    real = subprocess.run(["which", "git"], capture_output=True, text=True).stdout.strip()
    bin_dir, log = tmp_path / "bin", tmp_path / "git.log"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    (bin_dir / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def fetches() -> int:
        return sum(" fetch " in line for line in log.read_text().splitlines())

    assert checkout(repo.as_uri(), None, read_config()).path.joinpath("a.py").read_text() == (
        "A = 1\n"
    )
    assert checkout(repo.as_uri(), "r1.6", read_config()).commit == old
    assert fetches() == 1
    # A branch the fetch did not bring is still asked for, and a refresh always fetches.
    git(repo, "branch", "late")
    assert checkout(repo.as_uri(), "late", read_config()).commit == git(repo, "rev-parse", "HEAD")
    assert fetches() == 2
    new = commit_files(repo, {"a.py": "A = 3\n"}, "moved")
    assert checkout(repo.as_uri(), "master", read_config(force_reload=True)).commit == new
    assert fetches() == 3

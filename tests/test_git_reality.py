"""Git as real repositories use it: submodules, default branches, unpublished commits.

Every repository here is a real one made with git in ``tmp_path``: bare
repositories reached over ``file://`` and through ``POLYHUB_MIRRORS`` from
the ``https://github.com`` addresses a hub would give.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from polyhub import DownloadError, RevisionNotFoundError, UntrustedError
from polyhub._config import Config, read_config
from polyhub._git import Checkout, is_published
from polyhub._git import checkout as core_checkout
from polyhub.testing import git


def publish(root: Path, name: str, files: dict[str, str], branch: str = "master") -> Path:
    """A work tree ``root/name-work`` pushed to the bare ``root/name.git``; returns the work tree."""
    work = root / f"{name}-work"
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", branch)
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", f"{name} initial")
    git(root, "init", "-q", "--bare", "-b", branch, f"{name}.git")
    git(work, "push", "-q", str(root / f"{name}.git"), f"{branch}:{branch}")
    return work


def checkout(url: str, revision: str | None, config: Config) -> Checkout:
    """As ``Context.checkout`` does it: mirrors applied, the original URL kept."""
    return core_checkout(config.rewrite_url(url), revision, config, original_url=url)


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "github" / "acme"
    root.mkdir(parents=True)
    monkeypatch.setenv("POLYHUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POLYHUB_MIRRORS", f"https://github.com/acme/={root.as_uri()}/")
    return root


def add_submodule(work: Path, url: str, path: str) -> str:
    git(work, "submodule", "add", "-q", url, path)
    git(work, "commit", "-q", "-m", f"add {path}")
    git(work, "push", "-q", "origin", "HEAD")
    return git(work, "rev-parse", "HEAD")


def test_submodules_are_checked_out_recursively_pinned_through_mirrors(github: Path) -> None:
    leaf = publish(github, "leaf", {"leaf.py": "LEAF = 1\n"})
    mid = publish(github, "mid", {"mid.py": "MID = 1\n"})
    top = publish(github, "top", {"hubconf.py": "from layers.mid import MID\n"})
    for work, name in ((mid, "mid"), (top, "top")):
        git(work, "remote", "add", "origin", str(github / f"{name}.git"))
    # Relative URLs, as GitHub projects write them: resolved against the superproject.
    add_submodule(mid, "../leaf.git", "deps/leaf")
    pinned_mid = git(mid, "rev-parse", "HEAD")
    top_commit = add_submodule(top, "../mid.git", "layers")
    # Later commits of the submodules are not what the superproject pinned.
    (leaf / "leaf.py").write_text("LEAF = 2\n")
    git(leaf, "commit", "-qam", "moved on")
    git(leaf, "push", "-q", str(github / "leaf.git"), "master")

    co = checkout("https://github.com/acme/top.git", None, read_config())
    assert co.commit == top_commit
    assert (co.path / "layers" / "mid.py").read_text() == "MID = 1\n"
    assert (co.path / "layers" / "deps" / "leaf" / "leaf.py").read_text() == "LEAF = 1\n"
    assert not (co.path / "layers" / ".git").exists()
    assert git(mid, "rev-parse", "HEAD") == pinned_mid

    # Offline, the pinned tree (submodules included) comes from the cache.
    again = checkout("https://github.com/acme/top.git", top_commit, read_config(offline=True))
    assert (again.path / "layers" / "deps" / "leaf" / "leaf.py").read_text() == "LEAF = 1\n"


def test_a_submodule_that_cannot_be_had_is_an_error_naming_it(github: Path) -> None:
    publish(github, "dep", {"dep.py": "X = 1\n"})
    top = publish(github, "top", {"hubconf.py": "\n"})
    git(top, "remote", "add", "origin", str(github / "top.git"))
    add_submodule(top, "../dep.git", "vendor/dep")
    # The submodule repository disappears (deleted, renamed, private).
    (github / "dep.git").rename(github / "gone.git")
    with pytest.raises(DownloadError) as info:
        checkout("https://github.com/acme/top.git", None, read_config())
    assert "submodule 'vendor/dep'" in str(info.value)
    assert "https://github.com/acme/dep.git" in str(info.value)
    home = Path(os.environ["POLYHUB_HOME"]) / "git" / "checkouts"
    # Nothing half-checked-out is left behind.
    assert not [p for p in home.rglob("*") if p.is_dir() and p.parent.parent == home]


def test_a_network_repository_may_not_name_a_local_submodule(github: Path, tmp_path: Path) -> None:
    secret = publish(tmp_path / "local", "secret", {"key.txt": "secret\n"})
    top = publish(github, "top", {"hubconf.py": "\n"})
    git(top, "remote", "add", "origin", str(github / "top.git"))
    add_submodule(top, str(secret), "vendor/secret")
    with pytest.raises(UntrustedError) as info:
        checkout("https://github.com/acme/top.git", None, read_config())
    assert "submodule 'vendor/secret'" in str(info.value)


def test_a_pinned_submodule_commit_the_remote_lacks_is_named(github: Path) -> None:
    dep = publish(github, "dep", {"dep.py": "X = 1\n"})
    top = publish(github, "top", {"hubconf.py": "\n"})
    git(top, "remote", "add", "origin", str(github / "top.git"))
    add_submodule(top, "../dep.git", "dep")
    # The pinned commit is force-pushed away upstream (history rewritten).
    git(dep, "commit", "-q", "--amend", "-m", "rewritten")
    git(dep, "push", "-q", "--force", str(github / "dep.git"), "master")
    git(github / "dep.git", "reflog", "expire", "--expire=now", "--all")
    git(github / "dep.git", "gc", "-q", "--prune=now")
    with pytest.raises(RevisionNotFoundError) as info:
        checkout("https://github.com/acme/top.git", None, read_config())
    assert "submodule 'dep'" in str(info.value)


def test_a_main_only_repository_checks_out_at_its_default_branch(github: Path) -> None:
    work = publish(github, "nets", {"hubconf.py": "\n"}, branch="main")
    co = checkout("https://github.com/acme/nets.git", None, read_config())
    assert co.commit == git(work, "rev-parse", "HEAD")


def test_is_published_tells_branch_and_tag_commits_from_pull_request_refs(github: Path) -> None:
    work = publish(github, "nets", {"hubconf.py": "V = 1\n"})
    on_master = git(work, "rev-parse", "HEAD")
    (work / "hubconf.py").write_text("V = 2\n")
    git(work, "commit", "-qam", "fork change")
    pr = git(work, "rev-parse", "HEAD")
    git(work, "push", "-q", str(github / "nets.git"), "HEAD:refs/pull/1/head")
    url = "https://github.com/acme/nets.git"
    config = read_config()
    assert checkout(url, pr, config).commit == pr  # fetchable by id, as on GitHub
    assert is_published(url, on_master, config) is True
    assert is_published(url, pr, config) is False
    # No git history of a repository here (its code came in a bundle or a registry
    # layer): unknown, which is not the same as "only on a pull-request ref".
    assert is_published("https://github.com/acme/elsewhere.git", on_master, config) is None
    git(work, "tag", "v2")
    git(work, "push", "-q", str(github / "nets.git"), "v2")
    checkout(url, "v2", read_config(force_reload=True))
    assert is_published(url, pr, config)  # now on a tag

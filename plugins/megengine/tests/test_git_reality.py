"""Real git repositories as they are: default branches other than master, and pull-request refs.

Repositories are real bare repos on disk, reached through ``POLYHUB_MIRRORS``
with the default ``github.com`` addresses unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polyhub
import pytest
from polyhub import RevisionNotFoundError, UntrustedError


def hubconf(canary: Path, value: int) -> dict[str, str]:
    return {
        "hubconf.py": (
            f"with open({str(canary)!r}, 'a') as f:\n    f.write('{value}')\n\n"
            f"def net(**kwargs):\n    '''Returns {value}.'''\n    return {value}\n"
        )
    }


def bare_repo(h: Any, root: Path, files: dict[str, str], branch: str) -> tuple[Path, Path, str]:
    work, bare = root / "nets-work", root / "nets.git"
    work.mkdir(parents=True)
    h.git("init", "--quiet", "-b", branch, cwd=work)
    h.git("init", "--quiet", "--bare", "-b", branch, str(bare))
    h.write_files(work, files)
    h.git("add", "--all", cwd=work)
    h.git("commit", "--quiet", "-m", "initial", cwd=work)
    h.git("push", "--quiet", str(bare), f"{branch}:{branch}", cwd=work)
    return work, bare, h.git("rev-parse", "HEAD", cwd=work)


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "github" / "acme"
    root.mkdir(parents=True)
    monkeypatch.setenv("POLYHUB_MIRRORS", f"https://github.com/acme/={root.as_uri()}/")
    return root


def test_a_repository_whose_only_branch_is_main_loads_without_naming_it(
    acme: Path, tmp_path: Path, h: Any
) -> None:
    canary = tmp_path / "canary"
    _, _, commit = bare_repo(h, acme, hubconf(canary, 7), "main")
    card = polyhub.info("megengine:acme/nets/net")
    assert card.version == commit  # the remote's default branch (main) was read
    assert [c.name for c in polyhub.list_models("megengine", repo="acme/nets")] == ["net"]
    # Naming a branch that does not exist is still an error.
    with pytest.raises(RevisionNotFoundError):
        polyhub.info("megengine:acme/nets/net@master")
    assert not canary.exists()  # reading never ran the code


def test_a_commit_only_on_a_pull_request_ref_does_not_run_under_the_repos_trust(
    acme: Path, tmp_path: Path, h: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = tmp_path / "canary"
    work, bare, published = bare_repo(h, acme, hubconf(canary, 1), "master")
    # A fork's change, as GitHub exposes it on the parent: refs/pull/1/head only.
    h.write_files(work, hubconf(canary, 2))
    h.git("commit", "--quiet", "-am", "fork change", cwd=work)
    pr = h.git("rev-parse", "HEAD", cwd=work)
    h.git("push", "--quiet", str(bare), "HEAD:refs/pull/1/head", cwd=work)
    monkeypatch.setenv("POLYHUB_TRUSTED_REPOS", "github.com/acme/nets")

    # The published commit, pinned by id, runs under the repository's trust.
    assert polyhub.load(f"megengine:acme/nets/net@{published}") == 1
    assert canary.read_text() == "1"
    # The pull-request commit does not, even with trust_repo=True.
    for trust in (None, True):
        with pytest.raises(UntrustedError) as info:
            polyhub.load(f"megengine:acme/nets/net@{pr}", trust_repo=trust)
        assert pr in str(info.value) and "github.com/acme/nets@" in str(info.value)
    assert canary.read_text() == "1"  # its code never ran
    # Trust for that exact commit lets it run.
    monkeypatch.setenv("POLYHUB_TRUSTED_REPOS", f"github.com/acme/nets,github.com/acme/nets@{pr}")
    assert polyhub.load(f"megengine:acme/nets/net@{pr}") == 2

"""Trust: who may run repository code, and that nothing prompts without a terminal."""

from __future__ import annotations

import builtins

import pytest
from polyhub import UntrustedError
from polyhub._config import read_config
from polyhub._trust import TrustStore


def store(**kw):
    return TrustStore(read_config(**kw))


@pytest.fixture(autouse=True)
def no_input(monkeypatch):
    def refuse(*args):
        raise AssertionError("input() was called")

    monkeypatch.setattr(builtins, "input", refuse)


def test_untrusted_by_default_and_message_says_how(home):
    with pytest.raises(UntrustedError) as info:
        store().check("github.com/someone/repo", purpose="run hubconf.py")
    text = str(info.value)
    assert (
        "github.com/someone/repo" in text
        and "trust_repo=True" in text
        and "polyhub trust add" in text
    )


def test_check_mode_never_prompts_without_a_tty(home):
    with pytest.raises(UntrustedError):
        store(trust_repo="check").check("github.com/someone/repo")


def test_trust_repo_true_remembers(home):
    store(trust_repo=True).check("github.com/Someone/Repo")
    assert (home / "trusted_repos").read_text().split() == ["github.com/someone/repo"]
    store().check("github.com/someone/repo")
    with pytest.raises(UntrustedError):
        store(trust_repo=False).check("github.com/someone/other")


def test_env_list_and_owner_prefixes(home, monkeypatch):
    monkeypatch.setenv("POLYHUB_TRUSTED_REPOS", "github.com/acme/, gitlab.com/x/y")
    s = store()
    assert s.is_trusted("github.com/acme/anything")
    assert s.is_trusted("gitlab.com/x/y")
    assert not s.is_trusted("gitlab.com/x/y2")
    assert not s.is_trusted("github.com/acme-evil/repo")


def test_env_entries_are_read_as_trust_add_reads_them(home, monkeypatch):
    # A URL in POLYHUB_TRUSTED_REPOS was compared as written and trusted nothing.
    monkeypatch.setenv(
        "POLYHUB_TRUSTED_REPOS", "https://github.com/Acme/Models.git, git@gitlab.com:x/y.git, junk"
    )
    s = store()
    assert s.is_trusted("github.com/acme/models")
    assert s.is_trusted("gitlab.com/x/y")
    assert not s.is_trusted("junk")
    (junk,) = [(e, p) for e, p in s.env_entries() if p]
    assert junk[0] == "junk" and "names no host" in junk[1]


def test_defaults_from_the_source(home):
    assert store().is_trusted("github.com/megengine/models", defaults=("github.com/megengine/",))
    assert not store().is_trusted(
        "github.com/megengine-fork/models", defaults=("github.com/megengine/",)
    )


def test_remove(home):
    s = store()
    s.add("a/b/c")
    assert s.remove("a/b/c") and not s.remove("a/b/c")
    assert s.entries() == []


def test_file_repo_ids_keep_case(home):
    s = store()
    s.add("file:///tmp/Repo")
    assert s.is_trusted("file:///tmp/Repo") and not s.is_trusted("file:///tmp/repo")

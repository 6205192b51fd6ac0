"""A fault found by review 10: a card from a remote git hub naming a file of this machine.

The core refused an asset that names a local file only when ``card.file``
started with ``http(s)://``; a MindSpore card read from a REMOTE git hub has,
as ``file``, its path in the local checkout, so ``asset-link: file:///...``
made polyhub read and cache a file of this machine. The core now judges
remoteness by what the call itself read (an index or a repository by URL).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import polyhub
import pytest
from polyhub.testing import LoopbackHub

from .conftest import card_text, write_card


@pytest.fixture
def remote_hub_stealing(
    tmp_path: Path, tiny: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A remote git hub whose card names a file of this machine; yields its address."""
    private = tiny["mindir"]  # stands for a model file that was never published
    work = tmp_path / "hub"
    write_card(
        work,
        "mindspore/2.5/steal",
        card_text(name="T", assets=[("mindir", private.as_uri(), None)], mindspore_version="2.5"),
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "master"], cwd=work, check=True)
    subprocess.run([*git, "add", "-A"], cwd=work, check=True)
    subprocess.run([*git, "commit", "-qm", "card"], cwd=work, check=True)
    served = tmp_path / "www"
    bare = served / "hub.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    subprocess.run(["git", "--git-dir", str(bare), "update-server-info"], check=True)
    with LoopbackHub(served) as hub:
        monkeypatch.setenv("POLYHUB_MINDSPORE_HUB", f"{hub.url}/hub.git")
        yield "mindspore:mindspore/2.5/steal"


def test_a_card_from_a_remote_git_hub_may_not_name_a_local_file(remote_hub_stealing: str) -> None:
    with pytest.raises(polyhub.UntrustedError):
        polyhub.download(remote_hub_stealing)


def test_the_card_keeps_its_remoteness_into_another_call(remote_hub_stealing: str) -> None:
    # mindspore_hub's load_weights shim resolves with info() and fetches with fetch(): two
    # calls, two contexts. The card itself must carry where it was read from.
    card = polyhub.info(remote_hub_stealing)
    with pytest.raises(polyhub.UntrustedError):
        polyhub.fetch(card, card.assets[0])

"""A fault found by review 10: a forged code layer seeded as a repository's commit.

``Context.seed_checkout(url, commit, archive)`` took any tar as the checkout of
``url`` at ``commit`` without checking that the tree is that commit's, and the
OCI plugin called it with the ORIGINAL repository's URL read from a registry
artifact's annotations: a forged artifact stayed in the git cache as that
repository's commit, so a later plain load of the repository ran it. Now only
URLs git cannot fetch (``oci://REGISTRY/REPO``) may be seeded, and the OCI
plugin seeds under the registry repository. Still open (docs/fleet.md): a
forged layer runs under the original repository's trust when that one is
trusted, since nothing carries the commit object to verify the tree.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import polyhub
import pytest
from polyhub import CodeRef
from polyhub._git import repo_id_from_url
from polyhub.testing import git as _git

pytestmark = pytest.mark.usefixtures("home")


def test_a_forged_code_layer_does_not_become_the_repositorys_commit(tmp_path: Path) -> None:
    repo = tmp_path / "upstream"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "master")
    (repo / "hubconf.py").write_text("def net():\n    return 'genuine'\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "genuine")
    commit = _git(repo, "rev-parse", "HEAD")
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / "hubconf.py").write_text("def net():\n    return 'forged'\n")
    archive = tmp_path / "layer.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(forged / "hubconf.py", arcname="hubconf.py")

    url = repo.as_uri()
    context = polyhub.make_context(trust_repo=True)
    try:
        context.seed_checkout(url, commit, archive)
    except polyhub.PolyhubError:
        return  # refused: what a fix may do
    code = CodeRef(
        url=url, revision=commit, entry="net", file="hubconf.py", repo_id=repo_id_from_url(url)
    )
    imported = context.import_code(code, scheme="t", purpose="test")
    assert imported.function() == "genuine"

"""``megengine.hub``'s own behaviour, asserted on the shim and on upstream side by side.

MegEngine's hub test file (``python_module/test/unit/hub/test_hub.py``, deleted
in 2020) loaded an entry by branch and by commit id and checked ``list``, ``help``
and ``load``; its documented functions are ``list``, ``help``, ``load``,
``import_module``, ``load_serialized_obj_from_url`` and ``pretrained``. Each
scenario below runs against upstream ``megengine.hub`` (installed with
MegEngine) and against :mod:`polyhub_megengine.compat.hub` on the same local
world: a bare repository reached as ``git@127.0.0.1:team/models.git`` (git's
``insteadOf`` sends it to a ``file://`` path, so upstream's SSH fetcher runs real
git) and weights on a loopback HTTP server. Anything that is not in the
differences table of ``docs/megengine.md`` must come out the same: the value,
its type, or the name of the exception class.
"""

from __future__ import annotations

import gc
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polyhub
import pytest
from polyhub_megengine.compat import hub as shim

HOST = "127.0.0.1"
REPO = "team/models"


@pytest.fixture(autouse=True)
def _undo_upstream_side_effects(tmp_path: Path) -> Iterator[None]:
    """Upstream imports hubconf through ``sys.path`` and leaves the repository's modules
    (``official.*``) in ``sys.modules``, and its downloader (megfile over requests) leaves
    its connections to the garbage collector: undo both, or they break later tests."""
    import sys

    modules = set(sys.modules)
    path = list(sys.path)
    yield
    for name in set(sys.modules) - modules:
        module = sys.modules[name]
        where = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "")
        if str(where).startswith(str(tmp_path)):  # the repository's, not MegEngine's own
            del sys.modules[name]
    sys.path[:] = path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture
def world(
    tmp_path: Path, h: Any, server: Any, weights: Any, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """The shared world; returns a namespace with the repo, its commits and the weights URL."""
    url = server.put(f"compat-upstream/{tmp_path.name}/tiny.pkl", weights.data)
    missing = f"{server.base}/compat-upstream/{tmp_path.name}/missing.pkl"
    files = {
        "hubconf.py": (
            "from megengine import hub\n"
            "from official.tiny import TinyNet\n\n"
            "dependencies = ['numpy']\n\n\n"
            f"@hub.pretrained({url!r})\n"
            "def tiny(**kwargs):\n"
            "    '''A tiny network with pretrained weights.'''\n"
            "    return TinyNet(**kwargs)\n\n\n"
            "def nodoc(**kwargs):\n"
            "    return TinyNet(**kwargs)\n\n\n"
            f"@hub.pretrained({missing!r})\n"
            "def gone(**kwargs):\n"
            "    '''Its weights are not on the server.'''\n"
            "    return TinyNet(**kwargs)\n"
        ),
        "official/__init__.py": "",
        "official/tiny.py": h.TINY_NET.replace("HIDDEN", "16"),
    }
    repo, first = h.make_repo(tmp_path / "srv" / "team", files)
    later = repo.commit({"official/extra.py": "X = 1\n"}, "a later commit")
    repo.commit({"official/extra.py": "X = 2\n"}, "on a branch", branch="dev")
    h.make_repo(
        tmp_path / "srv" / "team",
        {"hubconf.py": "dependencies = ['no_such_module_xyz']\n\ndef net():\n    '''n'''\n"},
        name="needs",
    )
    # Both clients run real git; this sends their SSH URLs to the local bare repos.
    h.git("config", "--global", f"url.{(tmp_path / 'srv').as_uri()}/.insteadOf", f"git@{HOST}:")
    # polyhub runs repository code only from trusted repositories (the differences table).
    monkeypatch.setenv("POLYHUB_TRUSTED_REPOS", f"{HOST}/team/")
    return types.SimpleNamespace(
        repo=repo, first=first, later=later, url=url, missing=missing, weights=weights
    )


def _upstream() -> Any:
    import megengine.hub as upstream

    return upstream


def both(call: Callable[[Any], Any]) -> tuple[Any, Any]:
    """``call(upstream)`` and ``call(shim)``: each a value, or the exception it raised."""
    results = []
    for module in (_upstream(), shim):
        try:
            results.append(call(module))
        except BaseException as exc:  # upstream's HTTPDownloadError is a BaseException
            results.append(exc)
    return results[0], results[1]


def same_error(call: Callable[[Any], Any]) -> BaseException:
    theirs, ours = both(call)
    assert isinstance(theirs, BaseException), f"upstream returned {theirs!r}"
    assert isinstance(ours, BaseException), f"the shim returned {ours!r}"
    if type(theirs).__module__ == "builtins":
        # The shim raises a polyhub error that is also upstream's built-in class.
        assert isinstance(ours, type(theirs)), (theirs, ours)
    else:
        assert type(ours).__name__ == type(theirs).__name__, (theirs, ours)
    return ours


def kw(**extra: Any) -> dict[str, Any]:
    return {"git_host": HOST, "protocol": "SSH", **extra}


def state(model: Any) -> dict[str, Any]:
    return {k: np.asarray(v) for k, v in model.state_dict().items()}


def test_list_is_the_same(world: Any) -> None:
    theirs, ours = both(lambda hub: hub.list(REPO, **kw()))
    assert ours == theirs
    assert type(ours) is type(theirs) is list
    assert {"tiny", "nodoc", "gone"} <= set(ours)


def test_help_returns_the_docstring_or_none(world: Any) -> None:
    theirs, ours = both(lambda hub: hub.help(REPO, "tiny", **kw()))
    assert ours == theirs == "A tiny network with pretrained weights."
    theirs, ours = both(lambda hub: hub.help(REPO, "nodoc", **kw()))
    assert ours is None and theirs is None


def test_load_with_and_without_weights(world: Any) -> None:
    theirs, ours = both(lambda hub: hub.load(REPO, "tiny", pretrained=True, **kw()))
    assert type(ours).__name__ == type(theirs).__name__ == "TinyNet"
    for name, array in world.weights.arrays.items():
        np.testing.assert_array_equal(state(ours)[name], array)
        np.testing.assert_array_equal(state(theirs)[name], array)
    theirs, ours = both(lambda hub: hub.load(REPO, "nodoc", **kw()))
    assert type(ours).__name__ == type(theirs).__name__ == "TinyNet"


def test_load_by_commit_id_and_by_branch(world: Any) -> None:
    # The deleted upstream test: hub.load(repo, entry, commit=<id>).
    theirs, ours = both(lambda hub: hub.load(REPO, "nodoc", commit=world.first, **kw()))
    assert type(ours).__name__ == type(theirs).__name__ == "TinyNet"
    theirs, ours = both(lambda hub: hub.list(f"{REPO}:dev", **kw()))
    assert ours == theirs


def test_import_module_gives_the_hubconf_functions(world: Any) -> None:
    theirs, ours = both(lambda hub: hub.import_module(REPO, **kw()))
    for module in (theirs, ours):
        assert isinstance(module, types.ModuleType)
        model = module.tiny(pretrained=True)
        np.testing.assert_array_equal(
            state(model)["fc1.weight"], world.weights.arrays["fc1.weight"]
        )


def test_load_serialized_obj_from_url(world: Any) -> None:
    theirs, ours = both(lambda hub: hub.load_serialized_obj_from_url(world.url))
    assert type(ours) is type(theirs) is dict
    assert sorted(ours) == sorted(theirs)
    for name in theirs:
        np.testing.assert_array_equal(ours[name], theirs[name])


def test_pretrained_decorates_a_local_function(world: Any) -> None:
    def make(hub: Any) -> Any:
        @hub.pretrained(world.url)
        def net(**kwargs: Any) -> Any:
            """doc"""
            return _tiny_net()

        return net

    theirs, ours = both(lambda hub: make(hub)(pretrained=True))
    np.testing.assert_array_equal(state(ours)["fc2.bias"], state(theirs)["fc2.bias"])
    theirs, ours = both(lambda hub: make(hub).__doc__)
    assert ours == theirs == "doc"


def _tiny_net() -> Any:
    from megengine import module as M

    class TinyNet(M.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = M.Linear(8, 16)
            self.fc2 = M.Linear(16, 4)

        def forward(self, x: Any) -> Any:
            return self.fc2(self.fc1(x))

    return TinyNet()


def test_use_cache_false_fetches_the_code_again_but_not_the_weights(
    world: Any, server: Any
) -> None:
    for hub in (_upstream(), shim):
        hub.load(REPO, "tiny", pretrained=True, **kw())
    weights_file = server.root / world.url.removeprefix(server.base + "/")
    weights_file.unlink()
    world.repo.commit({"official/extra.py": "X = 3\n"}, "new code")
    theirs, ours = both(
        lambda hub: hub.load(REPO, "tiny", pretrained=True, use_cache=False, **kw())
    )
    assert type(ours).__name__ == type(theirs).__name__ == "TinyNet"
    np.testing.assert_array_equal(state(ours)["fc1.bias"], world.weights.arrays["fc1.bias"])


@pytest.mark.parametrize(
    "repo_info",
    [f"{REPO}:dev:x", "team/models/extra", "justaname", "a:b:c"],
)
def test_malformed_repo_info_is_invalid_repo_before_any_fetch(
    world: Any, repo_info: str, h: Any
) -> None:
    # No repository answers at these names: a fetch would fail with GitPullError instead.
    error = same_error(lambda hub: hub.list(repo_info, **kw()))
    assert isinstance(error, shim.InvalidRepo) and isinstance(error, polyhub.PolyhubError)


def test_argument_and_fetch_errors_have_upstream_class_names(world: Any) -> None:
    assert isinstance(
        same_error(lambda hub: hub.list(REPO, git_host="bad host!")), shim.InvalidGitHost
    )
    assert isinstance(same_error(lambda hub: hub.list(REPO, protocol="FTP")), shim.InvalidProtocol)
    assert isinstance(same_error(lambda hub: hub.list("team/nothing", **kw())), shim.GitPullError)
    assert isinstance(
        same_error(lambda hub: hub.load(REPO, "nodoc", commit="0" * 40, **kw())),
        shim.GitCheckoutError,
    )
    error = same_error(lambda hub: hub.load(REPO, "nosuchentry", **kw()))
    assert isinstance(error, RuntimeError) and "nosuchentry" in str(error)
    error = same_error(lambda hub: hub.help(REPO, "nosuchentry", **kw()))
    assert isinstance(error, RuntimeError)
    error = same_error(lambda hub: hub.load("team/needs", "net", **kw()))
    assert isinstance(error, RuntimeError) and "no_such_module_xyz" in str(error)


def test_missing_weights_inside_load_is_a_download_error(world: Any) -> None:
    theirs, ours = both(lambda hub: hub.load(REPO, "gone", pretrained=True, **kw()))
    assert isinstance(theirs, BaseException) and isinstance(ours, BaseException)
    assert isinstance(ours, shim.HTTPDownloadError), repr(ours)
    assert isinstance(ours, polyhub.DownloadError) and not isinstance(ours, shim.GitPullError)
    assert world.missing in str(ours)
    # Upstream's downloader (megfile) raises HttpFileNotFoundError, a FileNotFoundError.
    assert isinstance(theirs, FileNotFoundError) and isinstance(ours, FileNotFoundError)


def test_missing_branch_over_ssh_is_a_pull_error(world: Any) -> None:
    # Upstream runs `git clone -b nobranch`, which fails: GitPullError, not GitCheckoutError.
    theirs, ours = both(lambda hub: hub.list(f"{REPO}:nobranch", **kw()))
    assert type(theirs).__name__ == "GitPullError", repr(theirs)
    assert isinstance(ours, shim.GitPullError), repr(ours)
    assert isinstance(ours, shim.GitCheckoutError)  # what the shim raised before: kept
    assert "nobranch" in str(ours)


# Upstream's HTTPS fetcher (requests, through megfile) leaves its socket to the garbage
# collector, which may run during fixture teardown: its ResourceWarning is upstream's.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_fetch_failures_over_https_are_download_errors(
    world: Any, h: Any, server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``protocol="HTTPS"`` (the default) upstream downloads an archive of the branch
    or commit; a missing repository, branch or commit is its ``HTTPDownloadError``."""
    from megengine.hub.fetcher import GitHTTPSFetcher

    def archive(cls: Any, host: str, owner: str, name: str, branch: str, commit: Any) -> str:
        return f"{server.base}/archive/{owner}/{name}/{commit or branch}.zip"  # never served

    monkeypatch.setattr(GitHTTPSFetcher, "_git_archive_link", classmethod(archive))
    h.git("config", "--global", f"url.{(tmp_path / 'srv').as_uri()}/.insteadOf", f"https://{HOST}/")
    https = {"git_host": HOST, "protocol": "HTTPS"}
    assert "tiny" in shim.list(REPO, **https)  # the shim fetches over HTTPS here
    for call in (
        lambda hub: hub.list("team/nothing", **https),
        lambda hub: hub.list(f"{REPO}:nobranch", **https),
        lambda hub: hub.list(REPO, commit="0" * 40, **https),
    ):
        theirs, ours = both(call)
        assert type(theirs).__name__ == "HTTPDownloadError", repr(theirs)
        assert isinstance(ours, shim.HTTPDownloadError), repr(ours)
        assert isinstance(ours, shim.FetcherError) and isinstance(ours, polyhub.PolyhubError)


def test_a_name_bound_to_a_value_is_not_an_entry_once_run(
    world: Any, h: Any, tmp_path: Path
) -> None:
    # Statically `SETTING = dict(...)` may be a callable; once run it is a dict.
    h.make_repo(
        tmp_path / "srv" / "team",
        {"hubconf.py": "SETTING = dict(depth=18)\n\n\ndef net():\n    '''n'''\n    return 1\n"},
        name="bound",
    )
    error = same_error(lambda hub: hub.load("team/bound", "SETTING", **kw()))
    assert isinstance(error, RuntimeError) and isinstance(error, polyhub.PolyhubError)
    assert "SETTING" in str(error)


def test_a_repository_without_hubconf_is_file_not_found(world: Any, h: Any, tmp_path: Path) -> None:
    # Upstream opens <checkout>/hubconf.py and fails with FileNotFoundError.
    h.make_repo(tmp_path / "srv" / "team", {"README.md": "no hub here\n"}, name="plain")
    for call in (
        lambda hub: hub.list("team/plain", **kw()),
        lambda hub: hub.load("team/plain", "net", **kw()),
    ):
        error = same_error(call)
        assert isinstance(error, FileNotFoundError) and isinstance(error, polyhub.PolyhubError)
        assert "hubconf.py" in str(error)

"""polyhub_megengine.compat.hub against megengine.hub's API, with upstream's bugs fixed."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import polyhub
import pytest
from polyhub_megengine.compat import hub


def test_same_signatures_as_upstream(mge: Any) -> None:
    import megengine.hub as upstream

    for name in ("list", "help", "load", "load_serialized_obj_from_url"):
        ours = [
            (p.name, p.default) for p in inspect.signature(getattr(hub, name)).parameters.values()
        ]
        theirs = [
            (p.name, p.default)
            for p in inspect.signature(getattr(upstream, name)).parameters.values()
        ]
        assert ours[: len(theirs)] == theirs, name
    ours = inspect.signature(hub.import_module).parameters
    assert ours["git_host"].default == "github.com"  # upstream has no default here (a bug)
    assert (
        inspect.signature(hub.pretrained).parameters["url"].kind
        is inspect.Parameter.POSITIONAL_OR_KEYWORD
    )


def test_list_help_load(github_models: Any, weights: Any, h: Any) -> None:
    names = hub.list("megengine/models")
    assert names == sorted(e["name"] for e in h.SHAPE)
    assert hub.help("megengine/models", "resnet18").startswith("resnet18 from official")
    model = hub.load("megengine/models", "resnet18", pretrained=True)
    np.testing.assert_array_equal(model.state_dict()["fc1.weight"], weights.arrays["fc1.weight"])
    with pytest.raises(RuntimeError) as err:  # upstream raised RuntimeError too
        hub.load("megengine/models", "resnet19")
    assert isinstance(err.value, polyhub.ModelNotFoundError) and "resnet18" in str(err.value)


def test_import_module_defaults_and_runs_in_the_repo(github_models: Any, weights: Any) -> None:
    module = hub.import_module("megengine/models")
    model = module.resnet18(pretrained=True)
    np.testing.assert_array_equal(model.state_dict()["fc2.bias"], weights.arrays["fc2.bias"])


def test_works_when_it_stands_in_for_megengine_hub(
    github_models: Any, weights: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drop-in use: the shim at ``sys.modules["megengine.hub"]`` and ``megengine.hub``, so
    the repository's own ``from megengine import hub`` / ``@hub.pretrained`` reach it too."""
    import sys

    import megengine

    upstream_impl = sys.modules["megengine.hub.hub"]
    original = upstream_impl.load_serialized_obj_from_url
    monkeypatch.setitem(sys.modules, "megengine.hub", hub)
    monkeypatch.setattr(megengine, "hub", hub)
    model = hub.load("megengine/models", "resnet18", pretrained=True)
    np.testing.assert_array_equal(model.state_dict()["fc1.weight"], weights.arrays["fc1.weight"])
    module = hub.import_module("megengine/models")
    model = module.resnet18(pretrained=True)
    np.testing.assert_array_equal(model.state_dict()["fc2.bias"], weights.arrays["fc2.bias"])
    # Nothing of upstream's is left patched, and the shim keeps its own function.
    assert upstream_impl.load_serialized_obj_from_url is original
    assert hub.load_serialized_obj_from_url.__module__ == hub.__name__


def test_ssh_branch_with_slash(tmp_path: Path, h: Any, server: Any, weights: Any) -> None:
    url = server.put("compat-ssh/tiny.pkl", weights.data)
    files = {
        "hubconf.py": (
            "from megengine import hub\nfrom official.tiny import TinyNet\n\n"
            f"@hub.pretrained({url!r})\ndef tiny(**kwargs):\n    '''tiny'''\n    return TinyNet(**kwargs)\n"
        ),
        "official/__init__.py": "",
        "official/tiny.py": h.TINY_NET.replace("HIDDEN", "16"),
    }
    repo, _ = h.make_repo(tmp_path / "srv" / "team", files)
    repo.commit({"official/new.py": "Z = 3\n"}, "on a slashed branch", branch="release/v2")
    h.git(
        "config",
        "--global",
        f"url.{(tmp_path / 'srv').as_uri()}/.insteadOf",
        "git@git.internal.example:",
    )
    assert "tiny" in hub.list(
        "team/models:release/v2", git_host="git.internal.example", protocol="SSH"
    )
    with pytest.raises(polyhub.UntrustedError):
        hub.load("team/models:release/v2", "tiny", git_host="git.internal.example", protocol="SSH")
    model = hub.load(
        "team/models:release/v2",
        "tiny",
        git_host="git.internal.example",
        protocol="SSH",
        pretrained=True,
        trust_repo=True,
    )
    np.testing.assert_array_equal(model.state_dict()["fc1.bias"], weights.arrays["fc1.bias"])
    with pytest.raises(hub.GitCheckoutError):
        hub.list("team/models:no/such", git_host="git.internal.example", protocol="SSH")


def test_errors_derive_from_exception(server: Any, weights: Any) -> None:
    with pytest.raises(hub.HTTPDownloadError) as err:
        hub.load_serialized_obj_from_url(f"{server.base}/nowhere/x.pkl")
    assert isinstance(err.value, Exception) and isinstance(err.value, polyhub.DownloadError)
    with pytest.raises(hub.InvalidGitHost):
        hub.list("megengine/models", git_host="-oProxyCommand=touch x")
    with pytest.raises(hub.InvalidProtocol):
        hub.list("megengine/models", protocol="FTP")
    with pytest.raises(hub.InvalidRepo):
        hub.list("just-a-name")
    url = server.put("compat/w.pkl", weights.data)
    state = hub.load_serialized_obj_from_url(url)
    np.testing.assert_array_equal(state["fc2.weight"], weights.arrays["fc2.weight"])

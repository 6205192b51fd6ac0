"""End-to-end loads from git repositories: trust, pinning, offline, verified weights, isolation."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polyhub
import pytest


def params(model: Any) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in model.state_dict().items()}


def small_repo(
    h: Any,
    root: Path,
    *,
    url: str,
    hidden: int = 16,
    extra: str = "",
    deco: str = "@hub.pretrained({url!r})",
) -> tuple[Any, str]:
    hubconf = (
        "from megengine import hub\nimport polyhub_megengine\n"
        "from official.tiny import TinyNet\n"
        + extra
        + "\n\n"
        + deco.format(url=url)
        + '\ndef tiny(**kwargs):\n    """Tiny net for tests."""\n    return TinyNet(**kwargs)\n'
    )
    return h.make_repo(
        root,
        {
            "hubconf.py": hubconf,
            "official/__init__.py": "",
            "official/tiny.py": h.TINY_NET.replace("HIDDEN", str(hidden)),
        },
    )


def test_headline_load_with_pretrained_weights(github_models: Any, weights: Any, mge: Any) -> None:
    path, modules, cwd = list(sys.path), set(sys.modules), os.getcwd()
    model = polyhub.load("megengine:megengine/models/resnet18", pretrained=True, device="cpu")
    assert type(model).__name__ == "TinyNet"
    for key, value in params(model).items():
        np.testing.assert_array_equal(value, weights.arrays[key])
    assert sys.path == path and os.getcwd() == cwd
    assert not {m for m in set(sys.modules) - modules if m.split(".")[0] in ("official", "hubconf")}
    # Runs on inputs created the default way (device names must agree in MegEngine).
    out = model(mge.tensor(np.ones((1, 8), "float32")))
    assert out.shape == (1, 4)
    fresh = polyhub.load("megengine:megengine/models/resnet18", device="cpu")
    assert not np.array_equal(params(fresh)["fc1.weight"], weights.arrays["fc1.weight"])


def test_info_card_pins_the_commit(github_models: Any) -> None:
    _, commit = github_models
    card = polyhub.info("megengine:megengine/models/resnet18")
    assert card.code is not None
    assert (card.code.kind, card.code.revision, card.code.entry) == (
        "megengine-hubconf",
        commit,
        "resnet18",
    )
    assert card.code.repo_id == "github.com/megengine/models" and card.assets == ()
    assert card.metadata["pretrained_url"].endswith("resnet18_naiveaug_70312_78a63ca6.pkl")
    assert "pretrained" in card.tags
    text = polyhub.help("megengine:megengine/models/resnet18")
    assert text.startswith("resnet18(pretrained=False, **kwargs)")
    plan = polyhub.plan("megengine:megengine/models/resnet18", device="cpu")
    assert (plan.runtime, plan.format) == ("megengine", "megengine-hubconf")


def test_offline_after_first_fetch(
    github_models: Any, server: Any, monkeypatch: pytest.MonkeyPatch, weights: Any
) -> None:
    polyhub.load("megengine:megengine/models/resnet18", pretrained=True)
    # Every remote now unreachable: offline must not need them.
    monkeypatch.setenv(
        "POLYHUB_MIRRORS",
        "https://github.com/=file:///nonexistent/,https://data.megengine.org.cn/=http://127.0.0.1:9/",
    )
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    before = len(server.hits)
    model = polyhub.load("megengine:megengine/models/resnet18", pretrained=True)
    np.testing.assert_array_equal(params(model)["fc2.weight"], weights.arrays["fc2.weight"])
    assert len(polyhub.list_models("megengine")) == 94
    assert len(server.hits) == before
    monkeypatch.setenv("POLYHUB_HOME", str(Path(os.environ["POLYHUB_HOME"]) / "cold"))
    with pytest.raises(polyhub.OfflineError):
        polyhub.load("megengine:megengine/models/resnet18")


def test_list_models_filters(github_models: Any, h: Any) -> None:
    names = [c.name for c in polyhub.list_models("megengine", model="resnet", pretrained=True)]
    expected = sorted(e["name"] for e in h.SHAPE if "resnet" in e["name"] and e["pretrained_url"])
    assert names == expected and "resnet18" in names and "ResNet" not in names
    classes = polyhub.list_models("megengine", repo="megengine/models", kind="class")
    assert len(classes) == 22 and all(c.tags[0] == "class" for c in classes)
    assert str(classes[0].address).startswith("megengine:megengine/models/")
    with pytest.raises(TypeError):
        polyhub.list_models("megengine", colour="red")


def test_a_repeated_listing_reuses_the_cards_of_its_commit(github_models: Any, h: Any) -> None:
    first = polyhub.list_models("megengine", repo="megengine/models")
    again = polyhub.list_models("megengine", repo="megengine/models")
    assert len(first) == 94 and all(a is b for a, b in zip(first, again, strict=True))
    # Filters still apply to the reused cards, and a different spelling of the
    # repository (its own addresses) gets cards of its own.
    pretrained = polyhub.list_models("megengine", repo="megengine/models", pretrained=True)
    assert 0 < len(pretrained) < 94 and all("pretrained" in c.tags for c in pretrained)
    other = polyhub.list_models("megengine", repo="https://github.com/megengine/models.git")
    assert len(other) == 94 and other[0] is not first[0]


def test_unknown_entry_lists_the_entries(github_models: Any) -> None:
    with pytest.raises(polyhub.ModelNotFoundError) as err:
        polyhub.load("megengine:megengine/models/resnet19")
    assert "resnet18" in str(err.value) and "94" in str(err.value)


def test_unknown_commit_and_branch(github_models: Any) -> None:
    with pytest.raises(polyhub.RevisionNotFoundError):
        polyhub.info("megengine:megengine/models/resnet18@" + "0" * 40)
    with pytest.raises(polyhub.RevisionNotFoundError) as err:
        polyhub.info("megengine:megengine/models/resnet18@no-such-branch")
    assert "master" in str(err.value)


def test_branch_moves_and_pins(tmp_path: Path, h: Any, server: Any, weights: Any) -> None:
    url = server.put("moves/tiny.pkl", weights.data)
    repo, first = small_repo(h, tmp_path, url=url)
    address = f"megengine:{repo.url}/tiny"
    assert polyhub.info(address).version == first
    second = repo.commit({"official/extra.py": "X = 1\n"}, "move master")
    assert polyhub.info(address).version == first  # cached until a refresh
    assert polyhub.info(address, force_reload=True).version == second
    assert polyhub.info(address).version == second
    assert polyhub.info(f"{address}@{first}").version == first
    assert polyhub.info(address, commit=first[:12]).version == first
    with pytest.raises(polyhub.AddressError):
        polyhub.info(f"{address}@master", commit=first)


def test_untrusted_repo_never_runs_even_when_cached(
    tmp_path: Path, h: Any, server: Any, weights: Any
) -> None:
    canary = tmp_path / "RAN"
    url = server.put("untrusted/tiny.pkl", weights.data)
    repo, _ = small_repo(h, tmp_path, url=url, extra=f"open({str(canary)!r}, 'w').close()")
    address = f"megengine:{repo.url}/tiny"
    polyhub.info(address)  # now cached
    with pytest.raises(polyhub.UntrustedError) as err:
        polyhub.load(address)
    assert "file://" in str(err.value)
    with pytest.raises(polyhub.UntrustedError):
        polyhub.load(address, trust_repo=False)
    assert not canary.exists()
    model = polyhub.load(address, trust_repo=True, pretrained=True)
    assert canary.exists()
    np.testing.assert_array_equal(params(model)["fc1.bias"], weights.arrays["fc1.bias"])
    polyhub.load(address)  # trust was remembered


def test_missing_dependencies_are_all_named_before_any_code_runs(tmp_path: Path, h: Any) -> None:
    canary = tmp_path / "RAN"
    repo, _ = small_repo(
        h,
        tmp_path,
        url="http://127.0.0.1:9/x.pkl",
        extra=f"open({str(canary)!r}, 'w').close()\ndependencies = ['numpy', 'no_such_pkg_one', 'no_such_pkg_two']",
    )
    with pytest.raises(polyhub.UnsupportedError) as err:
        polyhub.load(f"megengine:{repo.url}/tiny", trust_repo=True)
    assert (
        "no_such_pkg_one, no_such_pkg_two" in str(err.value)
        and "numpy" not in str(err.value).split("needs")[1]
    )
    assert not canary.exists()


def test_weights_404(tmp_path: Path, h: Any, server: Any) -> None:
    repo, _ = small_repo(h, tmp_path, url=f"{server.base}/missing/nothing.pkl")
    with pytest.raises(polyhub.DownloadError) as err:
        polyhub.load(f"megengine:{repo.url}/tiny", trust_repo=True, pretrained=True)
    assert "nothing.pkl" in str(err.value)


def test_changed_weight_bytes_are_refused(
    tmp_path: Path, h: Any, server: Any, weights: Any, mge: Any
) -> None:
    url = server.put("tofu/tiny.pkl", weights.data)
    repo, _ = small_repo(h, tmp_path, url=url)
    address = f"megengine:{repo.url}/tiny"
    polyhub.load(address, trust_repo=True, pretrained=True)
    server.put("tofu/tiny.pkl", h.tiny_weights(mge, seed=99).data)
    with pytest.raises(polyhub.HashMismatchError) as err:
        polyhub.load(address, pretrained=True, force_reload=True)
    assert weights.sha256 in str(err.value)


@pytest.mark.parametrize("how", ["fragment", "polyhub-decorator", "repo-metadata"])
def test_published_hashes_are_enforced(
    tmp_path: Path, h: Any, server: Any, weights: Any, how: str
) -> None:
    url = server.put(f"hashed-{how}/tiny.pkl", weights.data)
    wrong = hashlib.sha256(b"something else").hexdigest()
    if how == "fragment":
        make = lambda sha: small_repo(h, tmp_path / sha[:6], url=f"{url}#sha256={sha}")  # noqa: E731
    elif how == "polyhub-decorator":
        make = (  # noqa: E731
            lambda sha: small_repo(
                h,
                tmp_path / sha[:6],
                url=url,
                deco="@polyhub_megengine.pretrained({url!r}, sha256=" + repr(sha) + ")",
            )
        )
    else:
        make = (  # noqa: E731
            lambda sha: small_repo(
                h, tmp_path / sha[:6], url=url, extra=f"weights_sha256 = {{'tiny.pkl': {sha!r}}}"
            )
        )
    bad, _ = make(wrong)
    with pytest.raises(polyhub.HashMismatchError) as err:
        polyhub.load(f"megengine:{bad.url}/tiny", trust_repo=True, pretrained=True)
    assert wrong in str(err.value)
    good, _ = make(weights.sha256)
    model = polyhub.load(f"megengine:{good.url}/tiny", trust_repo=True, pretrained=True)
    np.testing.assert_array_equal(params(model)["fc2.bias"], weights.arrays["fc2.bias"])


def test_require_hashes_refuses_unhashed_weights_before_any_request(
    tmp_path: Path, h: Any, server: Any, weights: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server.put("strict/tiny.pkl", weights.data)
    repo, _ = small_repo(h, tmp_path, url=url)
    monkeypatch.setenv("POLYHUB_REQUIRE_HASHES", "1")
    before = [p for p in server.hits if p.startswith("/strict/")]
    with pytest.raises(polyhub.PolyhubError) as err:
        polyhub.load(f"megengine:{repo.url}/tiny", trust_repo=True, pretrained=True)
    assert "sha256" in str(err.value)
    assert [p for p in server.hits if p.startswith("/strict/")] == before


def test_malicious_weights_never_run(tmp_path: Path, h: Any, server: Any) -> None:
    import pickle

    canary = tmp_path / "PWNED"

    class Evil:
        def __reduce__(self) -> Any:
            return (os.open, (str(canary), os.O_CREAT | os.O_WRONLY))

    url = server.put("evil/tiny.pkl", pickle.dumps({"fc1.weight": Evil()}, protocol=4))
    repo, _ = small_repo(h, tmp_path, url=url)
    with pytest.raises(polyhub.UntrustedError) as err:
        polyhub.load(f"megengine:{repo.url}/tiny", trust_repo=True, pretrained=True)
    assert "posix.open" in str(err.value)
    assert not canary.exists()


def test_query_options_are_typed(tmp_path: Path, h: Any, server: Any, weights: Any) -> None:
    url = server.put("query/tiny.pkl", weights.data)
    repo, _ = small_repo(h, tmp_path, url=url)
    off = polyhub.load(f"megengine:{repo.url}/tiny?pretrained=false&num_classes=4", trust_repo=True)
    assert not np.array_equal(params(off)["fc1.weight"], weights.arrays["fc1.weight"])
    on = polyhub.load(f"megengine:{repo.url}/tiny?pretrained=true", trust_repo=True)
    np.testing.assert_array_equal(params(on)["fc1.weight"], weights.arrays["fc1.weight"])


def test_two_repos_with_the_same_packages_do_not_collide(
    tmp_path: Path, h: Any, server: Any, weights: Any
) -> None:
    url = server.put("two/tiny.pkl", weights.data)
    one, _ = small_repo(h, tmp_path / "one", url=url, hidden=16)
    two, _ = small_repo(h, tmp_path / "two", url=url, hidden=32)
    a = polyhub.load(f"megengine:{one.url}/tiny", trust_repo=True)
    b = polyhub.load(f"megengine:{two.url}/tiny", trust_repo=True)
    c = polyhub.load(f"megengine:{one.url}/tiny", trust_repo=True)
    assert params(a)["fc1.weight"].shape == params(c)["fc1.weight"].shape == (16, 8)
    assert params(b)["fc1.weight"].shape == (32, 8)
    assert "official" not in sys.modules


def test_local_folder_repository(
    tmp_path: Path, h: Any, server: Any, weights: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server.put("local/tiny.pkl", weights.data)
    repo, _ = small_repo(h, tmp_path, url=url)
    monkeypatch.chdir(tmp_path)
    model = polyhub.load(f"megengine:./{repo.work.name}/tiny", trust_repo=True, pretrained=True)
    np.testing.assert_array_equal(params(model)["fc2.weight"], weights.arrays["fc2.weight"])
    card = polyhub.info(f"megengine:tiny?repo={repo.work}")
    assert card.code is not None and card.code.repo_id == f"file://{os.path.realpath(repo.work)}"


def test_git_daemon_with_host_port(git_daemon: Any, h: Any, server: Any, weights: Any) -> None:
    base, port = git_daemon
    url = server.put("daemon/tiny.pkl", weights.data)
    _, commit = small_repo(h, base / "owner", url=url)
    address = f"megengine:owner/models/tiny?git_host=127.0.0.1:{port}&protocol=git"
    card = polyhub.info(address)
    assert card.version == commit and card.code is not None
    assert card.code.url == f"git://127.0.0.1:{port}/owner/models.git"
    with pytest.raises(polyhub.UntrustedError):
        polyhub.load(address)
    model = polyhub.load(address, trust_repo=True, pretrained=True)
    np.testing.assert_array_equal(params(model)["fc1.weight"], weights.arrays["fc1.weight"])


@pytest.mark.parametrize("host", ["GIT.Example.com:2222", "git.example.com"])
def test_ssh_with_a_slash_branch(
    tmp_path: Path, h: Any, host: str, server: Any, weights: Any
) -> None:
    url = server.put("ssh/tiny.pkl", weights.data)
    repo, _ = small_repo(h, tmp_path / "srv" / "megengine", url=url)
    assert repo.bare.name == "models.git"
    feature = repo.commit({"official/feature.py": "Y = 2\n"}, "feature", branch="feature/x")
    prefix = "ssh://git@git.example.com:2222/" if ":" in host else "git@git.example.com:"
    h.git("config", "--global", f"url.{(tmp_path / 'srv').as_uri()}/.insteadOf", prefix)
    address = f"megengine:megengine/models/tiny@feature/x?git_host={host}&protocol=ssh"
    card = polyhub.info(address)
    assert card.version == feature
    assert card.code is not None and card.code.url.startswith(prefix)
    model = polyhub.load(address, trust_repo=True, pretrained=True)
    np.testing.assert_array_equal(params(model)["fc1.weight"], weights.arrays["fc1.weight"])


def test_missing_device(github_models: Any, mge: Any) -> None:
    if mge.is_cuda_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(polyhub.UnsupportedError) as err:
        polyhub.load("megengine:megengine/models/resnet18", device="gpu")
    assert "cpu" in str(err.value)
    assert (
        type(polyhub.load("megengine:megengine/models/resnet18", device="auto")).__name__
        == "TinyNet"
    )


@pytest.mark.gpu
def test_gpu_placement(github_models: Any, mge: Any, weights: Any) -> None:
    if not mge.is_cuda_available():
        pytest.skip("no GPU")
    model = polyhub.load("megengine:megengine/models/resnet18", pretrained=True, device="gpu:0")
    assert "gpu" in str(model.fc1.weight.device) or "xpu" in str(model.fc1.weight.device)
    np.testing.assert_array_equal(params(model)["fc1.weight"], weights.arrays["fc1.weight"])
    cpu = polyhub.load("megengine:megengine/models/resnet18", pretrained=True, device="cpu")
    assert "cpu" in str(cpu.fc1.weight.device)

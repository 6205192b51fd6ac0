"""The core's one materialisation of a card's code (``Context.import_code``), on real git repositories.

Checkout through the core's git, static checks, trust before any import,
fallback revisions, the entry imported alone, the per-commit memo and
``force_reload``. A marker file written by the repository's code at import
says whether any of it ran.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import Any

import polyhub
import pytest
from polyhub import CodeRef, MetadataError, UnsupportedError, UntrustedError
from polyhub._git import repo_id_from_url
from polyhub.testing import git

pytestmark = pytest.mark.usefixtures("home")


def commit(repo: Path, files: dict[str, str], branch: str = "master") -> str:
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "-q", "-b", branch)
    elif git(repo, "rev-parse", "--abbrev-ref", "HEAD") != branch:
        git(repo, "checkout", "-q", "-B", branch)
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change")
    return git(repo, "rev-parse", "HEAD")


def marking(marker: Path, body: str = "") -> str:
    """A hubconf.py that appends a line to ``marker`` each time it is imported."""
    return (
        f"with open({str(marker)!r}, 'a') as _f:\n    _f.write('imported\\n')\n"
        + textwrap.dedent(body)
        + "\ndef net(scale=1):\n    return 'net' * scale\n"
    )


def ref(repo: Path, **changes: Any) -> CodeRef:
    url = repo.as_uri()
    fields: dict[str, Any] = {
        "url": url,
        "revision": "master",
        "entry": "net",
        "kind": "test-code",
        "repo_id": repo_id_from_url(url),
        "file": "hubconf.py",
    }
    fields.update(changes)
    return CodeRef(**fields)


def imports(marker: Path) -> int:
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def test_trust_is_checked_before_a_line_of_the_code_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": marking(marker)})
    code = ref(repo)
    with pytest.raises(UntrustedError):
        polyhub.make_context(trust_repo=False).import_code(code, scheme="test")
    assert not marker.exists()
    imported = polyhub.make_context(trust_repo=True).import_code(code, scheme="test")
    assert imports(marker) == 1
    with imported.activate():
        assert imported.function(scale=2) == "netnet"
    assert imported.commit == git(repo, "rev-parse", "HEAD")
    # The reference handed on is pinned to the commit, never the branch.
    assert imported.ref.revision == imported.commit and imported.ref.entry == "net"
    assert imported.module is not None and imported.function is imported.module.net


def test_an_unpublished_commit_needs_its_own_trust(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": "def net():\n    return 1\n"})
    git(repo, "checkout", "-q", "-b", "pr")
    stray = commit(repo, {"hubconf.py": marking(marker)}, branch="pr")
    git(repo, "checkout", "-q", "master")
    git(repo, "update-ref", "refs/pull/1/head", stray)
    git(repo, "branch", "-D", "pr")
    context = polyhub.make_context(trust_repo=True)
    # Known to the cache through the branch first, then asked for by commit id.
    context.import_code(ref(repo), scheme="test")
    with pytest.raises(UntrustedError) as info:
        context.import_code(ref(repo, revision=stray), scheme="test")
    assert stray in str(info.value)
    assert not marker.exists()


def test_dependencies_are_read_statically_and_named_before_trust(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    repo = tmp_path / "repo"
    commit(
        repo,
        {
            "hubconf.py": marking(
                marker, "dependencies = ['os', 'no_such_pkg_a', 'no_such_pkg_b.x']\n"
            )
        },
    )
    # Not trusted either: the missing packages are what the user must hear about first.
    with pytest.raises(UnsupportedError) as info:
        polyhub.make_context(trust_repo=False).import_code(ref(repo), scheme="test")
    message = str(info.value)
    assert "hubconf.py" in message and "'dependencies'" in message
    assert "no_such_pkg_a, no_such_pkg_b.x" in message and "os," not in message
    assert not marker.exists()


def test_a_dependencies_list_that_is_no_literal_is_a_metadata_error(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": marking(marker, "dependencies = list(open('/etc/passwd'))\n")})
    with pytest.raises(MetadataError) as info:
        polyhub.make_context(trust_repo=True).import_code(ref(repo), scheme="test")
    assert info.value.field == "dependencies" and info.value.line == 3
    assert not marker.exists()


def test_fallback_revisions_are_tried_in_order_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "ran"
    repo = tmp_path / "repo"
    old = commit(repo, {"official/cv/net/hubconf.py": marking(marker)}, branch="r1.6")
    master = commit(repo, {"README.md": "moved\n"}, branch="master")
    git(repo, "rm", "-q", "-r", "official")
    git(repo, "commit", "-q", "-m", "move")
    context = polyhub.make_context(trust_repo=True)
    code = ref(repo, subdir="official/cv/net")
    with pytest.raises(MetadataError) as info:
        context.import_code(code, scheme="test")
    assert "official/cv/net" in str(info.value) and info.value.field == "code"
    code = ref(repo, subdir="official/cv/net", fallback_revisions=("no-such-branch", "r1.6"))
    with caplog.at_level(logging.WARNING, logger="polyhub"):
        imported = context.import_code(code, scheme="test")
    assert imported.commit == old != master
    assert imported.ref.revision == old and imported.ref.fallback_revisions == ()
    assert imported.root.name == "net" and (imported.root / "hubconf.py").is_file()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("official/cv/net" in m and "r1.6" in m for m in warned), warned
    assert imports(marker) == 1


def test_a_commit_is_imported_once_and_force_reload_imports_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import polyhub._git as core_git

    marker = tmp_path / "ran"
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": marking(marker)})
    first = polyhub.make_context(trust_repo=True).import_code(ref(repo), scheme="test")
    calls: list[list[str]] = []
    real = core_git._git

    def counting(args: list[str], **kwargs: Any) -> str:
        calls.append(args)
        return real(args, **kwargs)

    monkeypatch.setattr(core_git, "_git", counting)
    again = polyhub.make_context(trust_repo=True).import_code(ref(repo), scheme="test")
    pinned = polyhub.make_context(trust_repo=True).import_code(
        ref(repo, revision=first.commit), scheme="test"
    )
    assert again.module is first.module and pinned.module is first.module
    assert imports(marker) == 1 and calls == []
    # Trust is asked again on every load: withdrawn, nothing is handed out.
    with pytest.raises(UntrustedError):
        polyhub.make_context(trust_repo=False).import_code(ref(repo, repo_id="x/y/z"), scheme="t")
    fresh = polyhub.make_context(trust_repo=True, force_reload=True).import_code(
        ref(repo), scheme="test"
    )
    assert imports(marker) == 2 and fresh.module is not first.module


def test_an_entry_is_imported_alone_when_the_whole_file_cannot_be(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    commit(
        repo,
        {
            "hubconf.py": "from models.small import net\nfrom models.big import huge\n",
            "models/__init__.py": "",
            "models/small.py": "def net():\n    return 'small'\n",
            "models/big.py": "import no_such_pkg_zz\n\ndef huge():\n    return 'huge'\n",
        },
    )
    context = polyhub.make_context(trust_repo=True)
    imported = context.import_code(ref(repo), scheme="test")
    assert imported.module is None
    with imported.activate():
        assert imported.function() == "small"
    with pytest.raises(polyhub.MissingDependencyError) as info:
        context.import_code(ref(repo, entry="huge"), scheme="test")
    assert "no_such_pkg_zz" in str(info.value)


@pytest.mark.parametrize("subdir", ["../outside", "/etc", "a/../../b"])
def test_a_folder_outside_the_repository_is_refused(tmp_path: Path, subdir: str) -> None:
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": "def net():\n    return 1\n"})
    with pytest.raises(MetadataError):
        polyhub.make_context(trust_repo=True).import_code(ref(repo, subdir=subdir), scheme="t")


def test_a_reference_without_a_file_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": "def net():\n    return 1\n"})
    with pytest.raises(MetadataError) as info:
        polyhub.make_context(trust_repo=True).import_code(ref(repo, file=""), scheme="t")
    assert info.value.field == "code.file"


def test_a_local_folder_is_used_in_place_and_imported_each_time(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "hubconf.py").write_text(marking(marker))
    code = CodeRef(
        url=str(folder), entry="net", file="hubconf.py", repo_id=f"file://{folder.resolve()}"
    )
    context = polyhub.make_context(trust_repo=True)
    first = context.import_code(code, scheme="test")
    assert first.commit is None and first.root == folder
    context.import_code(code, scheme="test")
    # A folder may change between loads: no memo.
    assert imports(marker) == 2
    assert not (tmp_path / "home" / "git").exists()


def test_a_code_ref_round_trips_through_its_dict_and_an_old_dict_takes_defaults() -> None:
    code = CodeRef(
        url="https://gitee.com/mindspore/models.git",
        revision="master",
        subdir="official/cv/alexnet",
        entry="alexnet",
        kind="mindspore-hub-conf",
        repo_id="gitee.com/mindspore/models",
        file="mindspore_hub_conf.py",
        function="create_network",
        fallback_revisions=("r1.6",),
    )
    assert CodeRef.from_dict(code.to_dict()) == code
    old = {
        k: v
        for k, v in code.to_dict().items()
        if k not in ("file", "function", "fallback_revisions")
    }
    assert CodeRef.from_dict(old) == CodeRef(
        url=code.url,
        revision="master",
        subdir=code.subdir,
        entry="alexnet",
        kind=code.kind,
        repo_id=code.repo_id,
    )


def test_a_runtime_may_not_need_code_for_a_format_it_does_not_load() -> None:
    from polyhub import PluginError, RuntimeInfo
    from polyhub._registry import RuntimeRegistry

    registry = RuntimeRegistry()
    registry.current_plugin = "p"
    with pytest.raises(PluginError, match="code_formats"):
        registry.add(RuntimeInfo(name="r", formats=("a",), code_formats=("b",)))
    registry.add(RuntimeInfo(name="r", formats=("a", "b"), code_formats=("b",)))
    assert registry["r"].code_formats == ("b",)


class _Framework:
    """A framework plugin: the source ``fw`` (trusting ``trusted``) and the runtime ``fwrt``."""

    def __init__(self, trusted: str) -> None:
        self.trusted = trusted
        self.loads: list[Any] = []

    @polyhub.hookimpl
    def polyhub_register_sources(self, registry: Any) -> None:
        registry.add(polyhub.SourceInfo(scheme="fw", trusted=(self.trusted,)))

    @polyhub.hookimpl
    def polyhub_register_runtimes(self, registry: Any) -> None:
        registry.add(
            polyhub.RuntimeInfo(name="fwrt", formats=("fwcode",), code_formats=("fwcode",))
        )

    @polyhub.hookimpl
    def polyhub_runtime_load(self, request: Any, context: Any) -> Any:
        self.loads.append(request)
        with request.code.activate():
            return request.code.function(scale=3)


class _Repackager:
    """A source (``pack``, trusting nothing) whose card carries another framework's code."""

    def __init__(self, code: CodeRef) -> None:
        self.code = code

    @polyhub.hookimpl
    def polyhub_register_sources(self, registry: Any) -> None:
        registry.add(polyhub.SourceInfo(scheme="pack"))

    @polyhub.hookimpl
    def polyhub_source_resolve(self, address: Any, context: Any) -> Any:
        return polyhub.ModelCard(address=address, name="model", source="pack", code=self.code)


def test_repackaged_code_keeps_the_trust_of_the_framework_that_runs_it(tmp_path: Path) -> None:
    from polyhub.testing import use_plugins

    marker = tmp_path / "ran"
    repo = tmp_path / "org" / "repo"
    commit(repo, {"hubconf.py": marking(marker)})
    code = ref(repo, kind="fwcode")
    org = f"file://{(tmp_path / 'org').resolve()}/"
    # The runtime's own source trusts the organisation: as when the runtime checked
    # trust itself, a registry's copy of its code needs no flag.
    framework = _Framework(trusted=org)
    with use_plugins(("fw", framework), ("pack", _Repackager(code))):
        assert polyhub.load("pack:model", trust_repo=False) == "netnetnet"
    assert framework.loads[0].code.commit == git(repo, "rev-parse", "HEAD")
    # A framework that trusts another organisation lends it no trust.
    other = _Framework(trusted="github.com/someone-else/")
    marker.unlink()
    polyhub.set_dir(tmp_path / "home2")
    try:
        with use_plugins(("fw", other), ("pack", _Repackager(code))), pytest.raises(UntrustedError):
            polyhub.load("pack:model", trust_repo=False)
    finally:
        polyhub.set_dir(None)
    assert other.loads == [] and not marker.exists()


def test_a_lock_records_the_fallback_commit_and_runs_it_when_the_branch_moves(
    tmp_path: Path,
) -> None:
    from polyhub._lockfile import create, write
    from polyhub.testing import use_plugins

    repo = tmp_path / "org" / "repo"
    conf = "def net(scale=1):\n    return '{}'\n"
    old = commit(repo, {"cv/net/hubconf.py": conf.format("r1.6-old")}, branch="r1.6")
    commit(repo, {"README.md": "moved\n"}, branch="master")
    git(repo, "rm", "-q", "-r", "cv")
    git(repo, "commit", "-q", "-m", "move")
    code = ref(repo, kind="fwcode", subdir="cv/net", fallback_revisions=("r1.6",))
    framework = _Framework(trusted=f"file://{(tmp_path / 'org').resolve()}/")
    with use_plugins(("fw", framework), ("pack", _Repackager(code))):
        lock = create(["pack:model"], polyhub.make_context())
        (locked,) = lock.models
        assert locked.code is not None and locked.code["commit"] == old
        assert locked.code["revision"] == "master" and locked.code["file"] == "hubconf.py"
        path = tmp_path / "polyhub.lock"
        write(lock, path)
        # The era branch moves on: a locked load still runs the locked commit.
        commit(repo, {"cv/net/hubconf.py": conf.format("r1.6-new")}, branch="r1.6")
        assert polyhub.load("pack:model", lock=path, force_reload=True) == "r1.6-old"
        assert framework.loads[-1].code.commit == old
        assert polyhub.load("pack:model", force_reload=True) == "r1.6-new"


def test_a_name_the_file_does_not_bind_is_named(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": "SETTING = dict(depth=18)\n\ndef net():\n    return 1\n"})
    context = polyhub.make_context(trust_repo=True)
    # An entry the file lacks (or binds to no callable): no such model.
    with pytest.raises(polyhub.ModelNotFoundError, match="SETTING"):
        context.import_code(ref(repo, entry="SETTING"), scheme="t")
    # A function the kind of code promises: the repository is broken.
    with pytest.raises(MetadataError) as info:
        context.import_code(ref(repo, function="create_network"), scheme="t")
    assert info.value.field == "code.function" and "create_network" in str(info.value)


@pytest.mark.parametrize("subdir", ["..", "../", "./..", "/.."])
def test_a_parent_folder_is_refused_not_read_as_the_root(tmp_path: Path, subdir: str) -> None:
    # "..".strip("/.") is empty: the subdir once fell back to the checkout's root.
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": "def net():\n    return 1\n"})
    context = polyhub.make_context(trust_repo=True)
    with pytest.raises(MetadataError, match="inside its repository") as info:
        context.import_code(ref(repo, subdir=subdir), scheme="t")
    assert info.value.field == "code"


@pytest.mark.parametrize("subdir", ["", ".", "/", "./"])
def test_the_root_may_be_named_by_an_empty_or_dot_folder(tmp_path: Path, subdir: str) -> None:
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": "def net():\n    return 1\n"})
    imported = polyhub.make_context(trust_repo=True).import_code(
        ref(repo, subdir=subdir), scheme="t"
    )
    assert imported.function() == 1


def test_a_reference_without_repo_id_is_judged_by_its_url(tmp_path: Path) -> None:
    # An empty repo_id was checked as the name "": refusals read "polyhub trust add ".
    marker = tmp_path / "ran"
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": marking(marker)})
    code = ref(repo, repo_id="")
    with pytest.raises(UntrustedError) as info:
        polyhub.make_context(trust_repo=False).import_code(code, scheme="t")
    assert f"polyhub trust add {repo_id_from_url(repo.as_uri())}" in str(info.value)
    assert not marker.exists()
    polyhub.make_context(trust_repo=True).import_code(code, scheme="t")
    # trust_repo=True remembered the URL's identity, not an empty line.
    assert polyhub.make_context(trust_repo=False).is_trusted(repo_id_from_url(repo.as_uri()))


@pytest.mark.parametrize("field", ["function", "entry"])
@pytest.mark.parametrize("name", ["__class__", "__loader__", "__import__"])
def test_a_dunder_name_is_refused_before_any_git_call(
    tmp_path: Path, field: str, name: str
) -> None:
    # function="__class__" handed the runtime the module type to call.
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": "def net():\n    return 1\n"})
    code = ref(repo, url=(tmp_path / "absent").as_uri(), **{field: name})
    with pytest.raises(MetadataError) as info:
        polyhub.make_context(trust_repo=True).import_code(code, scheme="t")
    assert info.value.field == f"code.{field}" and name in str(info.value)


def test_a_file_nested_too_deep_to_parse_is_a_metadata_error(tmp_path: Path) -> None:
    # CPython's parser raises MemoryError on 200,000 unary minuses: it escaped raw,
    # from the static read that comes before any trust decision.
    marker = tmp_path / "ran"
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": marking(marker, "x = " + "-" * 200_000 + "1\n")})
    with pytest.raises(MetadataError) as info:
        polyhub.make_context(trust_repo=False).import_code(ref(repo), scheme="t")
    assert info.value.file is not None and info.value.file.endswith("hubconf.py")
    assert "too deep" in str(info.value) and not marker.exists()


@pytest.mark.parametrize("file", ["x.txt", "hubconf", "pkg", ".py"])
def test_a_file_that_is_not_python_is_refused_by_name(tmp_path: Path, file: str) -> None:
    # "x.txt" escaped as a raw ImportError from the isolated importer.
    repo = tmp_path / "repo"
    body = "def net():\n    return 1\n"
    commit(repo, {"x.txt": body, "hubconf": body, "pkg/__init__.py": body, ".py": body})
    with pytest.raises(MetadataError) as info:
        polyhub.make_context(trust_repo=True).import_code(ref(repo, file=file), scheme="t")
    assert info.value.field == "code.file" and file in str(info.value)


def test_one_file_named_from_two_folders_resolves_its_imports_from_each(tmp_path: Path) -> None:
    # pkg/b.py from the root and b.py of subdir pkg shared one memo entry: the second
    # got the first's imports (helper.py of the root, not of pkg).
    repo = tmp_path / "repo"
    commit(
        repo,
        {
            "helper.py": "WHERE = 'root'\n",
            "pkg/helper.py": "WHERE = 'pkg'\n",
            "pkg/b.py": "from helper import WHERE\n\ndef net():\n    return WHERE\n",
        },
    )
    context = polyhub.make_context(trust_repo=True)
    from_root = context.import_code(ref(repo, file="pkg/b.py"), scheme="t")
    from_pkg = context.import_code(ref(repo, subdir="pkg", file="b.py"), scheme="t")
    with from_root.activate():
        assert from_root.function() == "root"
    with from_pkg.activate():
        assert from_pkg.function() == "pkg"


def test_packages_named_by_an_untrusted_repository_come_with_a_warning(tmp_path: Path) -> None:
    # "pip install <names>" read from a repository nobody trusted is how a
    # dependency-confusion package gets installed: the refusal says so.
    repo = tmp_path / "repo"
    commit(repo, {"hubconf.py": "dependencies = ['no_such_pkg_q']\n\ndef net():\n    return 1\n"})
    with pytest.raises(UnsupportedError) as untrusted:
        polyhub.make_context(trust_repo=False).import_code(ref(repo), scheme="t")
    assert "no_such_pkg_q" in str(untrusted.value) and "not trusted" in str(untrusted.value)
    with pytest.raises(UnsupportedError) as known:
        polyhub.make_context(trust_repo=True).import_code(ref(repo), scheme="t")
    assert "no_such_pkg_q" in str(known.value) and "not trusted" not in str(known.value)

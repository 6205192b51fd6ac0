"""Importing repository code (hubconf.py, mindspore_hub_conf.py) in isolation, on made-up and real repos."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from polyhub import MissingDependencyError, PolyhubError, UnsupportedError
from polyhub._isolation import RepoImporter

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REPOS = SHARED / "realdata" / "repos"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return root


def snapshot() -> tuple[list[str], list[str], list[object], list[str]]:
    return sorted(sys.modules), list(sys.path), list(sys.meta_path), list(sys.argv)


def test_namespace_packages_around_a_regular_one(tmp_path):
    # The shape of MegEngine/Models' official/ and MindSpore models' src/: the
    # old importer raised KeyError('pkg.sub') here, depending on the hash seed.
    root = write(
        tmp_path / "repo",
        {
            "pkg/sub/__init__.py": "",
            "pkg/sub/ns/mod.py": "net = 'NET'\n",
            "hubconf.py": "from pkg.sub.ns.mod import net\n",
        },
    )
    before = snapshot()
    importer = RepoImporter(root)
    assert importer.load("hubconf.py").net == "NET"
    assert snapshot() == before
    namespace = importer.modules["pkg"]
    # A plain list inside the repository, not a _NamespacePath that re-reads sys.path.
    assert type(namespace.__path__) is list
    assert [Path(p) for p in namespace.__path__] == [root.resolve() / "pkg"]
    assert type(importer.modules["pkg.sub.ns"].__path__) is list


def _src_repo(root: Path, value: str, *, regular: bool) -> Path:
    files = {
        "src/net.py": f"VALUE = {value!r}\n",
        "src/lazy/deep.py": f"VALUE = {value!r} + '-lazy'\n",
        "hubconf.py": """
            from src.net import VALUE

            def entry():
                import src.lazy.deep
                from src import net
                return VALUE, net.VALUE, src.lazy.deep.VALUE
            """,
    }
    if regular:
        files["src/__init__.py"] = ""
    return write(root, files)


def test_two_repos_with_src_alternate_with_lazy_imports(tmp_path):
    a = RepoImporter(_src_repo(tmp_path / "a", "A", regular=False))
    b = RepoImporter(_src_repo(tmp_path / "b", "B", regular=True))
    before = snapshot()
    ma, mb = a.load("hubconf.py"), b.load("hubconf.py")
    for _ in range(2):
        with a.active():
            assert ma.entry() == ("A", "A", "A-lazy")
        with b.active():
            assert mb.entry() == ("B", "B", "B-lazy")
    assert snapshot() == before
    assert "src" not in sys.modules
    assert a.modules["src.lazy.deep"] is not b.modules["src.lazy.deep"]
    for importer in (a, b):
        for module in importer.modules.values():
            where = getattr(module, "__file__", None) or next(iter(module.__path__))
            assert Path(where).is_relative_to(importer.root)


def test_nested_activation_of_the_same_and_another_repo(tmp_path):
    a = RepoImporter(_src_repo(tmp_path / "a", "A", regular=False))
    b = RepoImporter(_src_repo(tmp_path / "b", "B", regular=False))
    ma, mb = a.load("hubconf.py"), b.load("hubconf.py")
    with a.active():
        with a.active():
            assert ma.entry()[2] == "A-lazy"
        with b.active():
            assert mb.entry()[2] == "B-lazy"
        assert ma.entry()[2] == "A-lazy"
        assert sys.modules["src.net"].VALUE == "A"
    assert "src" not in sys.modules


def test_a_failed_import_leaves_the_interpreter_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["pytest", "--some-flag"])
    root = write(
        tmp_path / "repo",
        {
            "official/vision/__init__.py": "",
            "official/vision/model.py": (
                "import os\nimport polyhub_no_such_pkg_one\nfrom official.common import x\n"
            ),
            "official/common.py": "import polyhub_no_such_pkg_two.sub\nx = 1\n",
            "official/guarded.py": "try:\n    import polyhub_optional\nexcept ImportError:\n    pass\n",
            "official/lazy.py": "def f():\n    import polyhub_only_when_called\n",
            "hubconf.py": (
                "import official.guarded, official.lazy\nfrom official.vision.model import *\n"
            ),
        },
    )
    importer = RepoImporter(root)
    before = snapshot()
    for _ in range(2):  # a retry meets the same, complete answer
        with pytest.raises(MissingDependencyError) as info:
            importer.load("hubconf.py")
        assert snapshot() == before
        assert importer.modules == {}
    error = info.value
    assert isinstance(error, PolyhubError) and isinstance(error, ImportError)
    assert error.missing == ["polyhub_no_such_pkg_one", "polyhub_no_such_pkg_two"]
    message = str(error)
    assert "official/vision/model.py:2" in message and "official/common.py:1" in message
    assert "polyhub_optional" not in message and "polyhub_only_when_called" not in message


def test_an_exception_in_repo_code_leaves_the_interpreter_as_it_was(tmp_path):
    root = write(
        tmp_path / "repo",
        {"src/a.py": "A = 1\n", "hubconf.py": "import src.a\nraise RuntimeError('boom')\n"},
    )
    before = snapshot()
    with pytest.raises(RuntimeError, match="boom"):
        RepoImporter(root).load("hubconf.py")
    assert snapshot() == before


def test_the_repository_missing_its_own_module_says_so(tmp_path):
    root = write(tmp_path / "repo", {"src/a.py": "", "hubconf.py": "from src.config import c\n"})
    with pytest.raises(MissingDependencyError, match="the checkout lacks it"):
        RepoImporter(root).load("hubconf.py")


def test_repository_code_sees_its_own_file_as_argv(tmp_path, monkeypatch):
    # 17 of 93 real r1.10 mindspore_hub_conf.py files parse arguments at import.
    root = write(
        tmp_path / "repo",
        {
            "mindspore_hub_conf.py": """
                import argparse
                import sys
                parser = argparse.ArgumentParser()
                parser.add_argument("--device_target", default="CPU")
                ARGS = parser.parse_args()
                AT_IMPORT = list(sys.argv)

                def create_network(name):
                    return list(sys.argv)
                """
        },
    )
    monkeypatch.setattr(sys, "argv", ["pytest", "-q", "--unknown-to-the-repo"])
    importer = RepoImporter(root)
    module = importer.load("mindspore_hub_conf.py")
    own = [str(root.resolve() / "mindspore_hub_conf.py")]
    assert own == module.AT_IMPORT and module.ARGS.device_target == "CPU"
    with importer.active():
        assert module.create_network("x") == own
    assert sys.argv == ["pytest", "-q", "--unknown-to-the-repo"]


def test_a_namespace_folder_loses_to_an_installed_package_as_upstream(tmp_path):
    # With the folder first on sys.path Python prefers any regular package to a
    # namespace portion: a repo's data folder named like a library must not hide it.
    root = write(tmp_path / "repo", {"pluggy/readme.txt": "", "hubconf.py": "import pluggy\n"})
    importer = RepoImporter(root)
    module = importer.load("hubconf.py")
    assert "pluggy" not in importer.claimed
    assert Path(module.pluggy.__file__).parent.name == "pluggy"
    assert not Path(module.pluggy.__file__).is_relative_to(root)


# Real repositories (bundles in ../shared/realdata/repos): one subprocess for
# many imports, since importing megengine or mindspore costs seconds.


def _python(code: str, *, seed: str = "0", cwd: Path | None = None) -> list[dict[str, object]]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
    )
    rows = [json.loads(line[5:]) for line in done.stdout.splitlines() if line.startswith("ROW: ")]
    assert done.returncode == 0 and rows, done.stderr[-3000:]
    return rows


def _clone(bundle: str, dest: Path, branch: str | None = None) -> Path:
    if not (REPOS / bundle).is_file():
        pytest.skip(f"real repositories not found at {REPOS} (../shared absent)")
    branch_args = ["-b", branch] if branch else []
    subprocess.run(
        ["git", "clone", "-q", *branch_args, str(REPOS / bundle), str(dest)],
        check=True,
        capture_output=True,
    )
    return dest


@pytest.fixture(scope="module")
def megengine_models(tmp_path_factory):
    return _clone("MegEngine-Models.bundle", tmp_path_factory.mktemp("mge") / "Models")


_MEGENGINE_PROBE = """
    import importlib, importlib.util, json, sys
    from pathlib import Path
    from polyhub import MissingDependencyError
    from polyhub._isolation import RepoImporter

    root = Path(sys.argv[1])
    before = (sorted(sys.modules), list(sys.path))
    import megengine  # changes sys.path itself (setuptools' vendored folder)
    before = (sorted(sys.modules), list(sys.path))
    importer = RepoImporter(root)
    outcomes = []
    for attempt in range(2):
        try:
            names = sorted(n for n in vars(importer.load("hubconf.py")) if not n.startswith("_"))
            outcomes.append({"ok": len(names), "resnet18": "resnet18" in names})
        except MissingDependencyError as exc:
            outcomes.append({"missing": exc.missing, "message": str(exc)})
        leaked = [n for n in sys.modules if n.split(".")[0] in ("official", "hubconf")]
        outcomes[-1]["leaked"] = leaked
    # The model module itself, imported through the repository's namespace packages.
    with importer.active():
        model = importlib.import_module("official.vision.classification.resnet.model")
        net = model.resnet18()
    after = (sorted(sys.modules), list(sys.path))
    row = {
        "outcomes": outcomes,
        "net": type(net).__name__,
        "unchanged": after[1] == before[1]
        and [n for n in after[0] if n not in before[0] and n.startswith("official")] == [],
        "uninstalled": [
            n for n in ("ftfy", "regex", "youtokentome") if importlib.util.find_spec(n) is None
        ],
    }
    print("ROW: " + json.dumps(row))
"""


@pytest.mark.slow
@pytest.mark.parametrize("seed", ["0", "1", "7"])
def test_real_megengine_models_hubconf_under_several_hash_seeds(megengine_models, seed):
    pytest.importorskip("megengine")
    code = _MEGENGINE_PROBE.replace("sys.argv[1]", repr(str(megengine_models)))
    (row,) = _python(code, seed=seed)
    assert row["net"] == "ResNet" and row["unchanged"]
    first, second = row["outcomes"]
    assert first == second and first["leaked"] == []
    if row["uninstalled"]:
        # ftfy/regex (CLIP tokenizer), youtokentome (DALL-E) are imported at module
        # level by official.multimodal, which hubconf.py imports.
        assert first["missing"] == row["uninstalled"]
        assert "official/multimodal/clip/simple_tokenizer.py" in first["message"]
    else:
        assert first["resnet18"]


_MINDSPORE_PROBE = """
    import importlib, json, sys
    from pathlib import Path
    import mindspore
    from polyhub._isolation import RepoImporter

    def ours(folder):
        RepoImporter(folder).load("mindspore_hub_conf.py")

    def theirs(folder):
        # Upstream mindspore_hub at its best: the folder first on sys.path, and (below) a
        # fresh module table for the repository's names every time.
        sys.argv = [str(folder / "mindspore_hub_conf.py")]
        sys.path.insert(0, str(folder))
        importlib.import_module("mindspore_hub_conf")

    for folder in map(Path, FOLDERS):
        row = {"folder": str(folder)}
        for mode, run in (("polyhub", ours), ("upstream", theirs)):
            path, argv = list(sys.path), sys.argv
            try:
                run(folder)
                row[mode] = "ok"
            except Exception as exc:
                row[mode] = type(exc).__name__
            finally:
                sys.path[:] = path
                sys.argv = argv
                tops = {p.name.split(".")[0] for p in folder.iterdir()}
                for name in [n for n in sys.modules if n.split(".")[0] in tops]:
                    del sys.modules[name]
        print("ROW: " + json.dumps(row))
"""


@pytest.mark.slow
def test_real_mindspore_hub_conf_files_import_at_least_as_upstream(tmp_path):
    pytest.importorskip("mindspore")
    root = _clone("mindspore-models-subset.bundle", tmp_path / "models", "r1.10")
    confs = sorted(root.rglob("mindspore_hub_conf.py"))
    sample = [str(c.parent) for c in confs[::15]]  # 7 of 93, spread over the tree
    # One process for both (importing mindspore costs seconds); polyhub goes first,
    # so nothing upstream's way leaves behind can help it.
    code = _MINDSPORE_PROBE.replace("FOLDERS", repr(sample))
    rows = {r["folder"]: r for r in _python(code, cwd=tmp_path)}
    assert list(rows) == sample
    assert [f for f in sample if rows[f]["upstream"] == "ok" and rows[f]["polyhub"] != "ok"] == []
    assert sum(r["polyhub"] == "ok" for r in rows.values()) >= 3
    # Where upstream fails to import, polyhub says which package or module is missing.
    for folder, row in rows.items():
        if row["upstream"] in ("ModuleNotFoundError", "ImportError"):
            assert row["polyhub"] == "MissingDependencyError", folder


def test_load_name_imports_only_the_module_an_entry_comes_from(tmp_path):
    root = write(
        tmp_path / "repo",
        {
            "official/vision/net.py": "def resnet():\n    return 'net'\n",
            "official/text/tok.py": "import polyhub_no_such_tokenizer\ndef clip():\n    pass\n",
            "hubconf.py": (
                "from official.vision.net import resnet as resnet18\n"
                "from official.text.tok import clip\n"
                "def own():\n    pass\n"
            ),
        },
    )
    before = snapshot()
    importer = RepoImporter(root)
    assert importer.load_name("hubconf.py", "resnet18")() == "net"
    assert "official.text.tok" not in importer.modules
    with pytest.raises(LookupError):
        importer.load_name("hubconf.py", "own")
    with pytest.raises(MissingDependencyError) as info:
        importer.load_name("hubconf.py", "clip")
    assert info.value.missing == ["polyhub_no_such_tokenizer"]
    assert "official/text/tok.py:1" in str(info.value)
    assert "official.vision.net" in importer.modules  # kept: it imported fine before
    assert snapshot() == before


def test_folders_the_repo_puts_on_sys_path_are_there_only_while_it_runs(tmp_path):
    # As official/recommend/ncf/src/constants.py does in the real MindSpore models.
    root = write(
        tmp_path / "repo",
        {
            "src/__init__.py": "",
            "src/constants.py": (
                "import os, sys\nsys.path.append(os.path.dirname(os.path.abspath(__file__)))\n"
            ),
            "src/helper_mod_polyhub.py": "X = 5\n",
            "hubconf.py": (
                "import src.constants\n"
                "def entry():\n    import helper_mod_polyhub\n    return helper_mod_polyhub.X\n"
            ),
        },
    )
    before = snapshot()
    importer = RepoImporter(root)
    module = importer.load("hubconf.py")
    assert snapshot() == before
    with importer.active():
        assert module.entry() == 5
        assert str(root.resolve() / "src") in sys.path
    assert snapshot() == before
    assert "helper_mod_polyhub" in importer.modules


def test_a_repo_that_exits_at_import_raises_instead_of_ending_the_caller(tmp_path):
    root = write(
        tmp_path / "repo",
        {
            "hubconf.py": (
                "import argparse\np = argparse.ArgumentParser()\n"
                "p.add_argument('--data_path', required=True)\np.parse_args()\n"
            )
        },
    )
    before = snapshot()
    with pytest.raises(UnsupportedError, match="ends the process when imported"):
        RepoImporter(root).load("hubconf.py")
    assert snapshot() == before

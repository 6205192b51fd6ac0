"""Static reading of hubconf.py: the same entrypoints as megengine.hub.list, no code run."""

from __future__ import annotations

import hashlib
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import polyhub
import pytest
from polyhub_megengine.hubconf import Hubconf, missing_dependencies


def upstream_cache(mge_home: Path, owner: str, name: str, branch: str = "master") -> Path:
    # megengine.hub's cache folder for owner/name:branch, so use_cache=True finds it offline.
    import megengine

    raw = f"{owner}_{name}_{branch}"
    return (
        mge_home
        / "hub"
        / (
            "_".join(megengine.__version__.split("."))
            + "_"
            + hashlib.sha1(raw.encode()).hexdigest()[:16]
        )
    )


def test_models_shaped_listing_matches_upstream(models_repo: Any, tmp_path: Path, h: Any) -> None:
    repo, _ = models_repo
    conf = Hubconf(repo.work)
    entries = conf.entries()

    # Upstream, run for real on the same files through its own cache.
    import megengine.hub

    cached = upstream_cache(tmp_path / "mge-home", "megengine", "models")
    shutil.copytree(repo.work, cached, ignore=shutil.ignore_patterns(".git"))
    before = set(sys.modules)
    try:
        upstream = megengine.hub.list("megengine/models", use_cache=True)
        helps = {n: megengine.hub.help("megengine/models", n, use_cache=True) for n in upstream}
    finally:
        # Upstream leaves the repo's `official` package in sys.modules; don't let it leak.
        for name in set(sys.modules) - before:
            if name.split(".")[0] == "official":
                del sys.modules[name]

    assert list(entries) == upstream
    assert len(entries) == len(h.SHAPE) == 94
    kinds = [e.kind for e in entries.values()]
    assert kinds.count("class") == 22 and kinds.count("function") == 72
    decorated = {n: e.pretrained_url for n, e in entries.items() if e.decorator}
    assert decorated == {e["name"]: e["pretrained_url"] for e in h.SHAPE if e["pretrained_url"]}
    assert len(decorated) == 71
    assert {n: e.doc for n, e in entries.items()} == helps
    assert entries["resnet18"].signature == "(pretrained=False, **kwargs)"
    assert entries["vqgan_vae_1024"].signature == "(pretrained=True)"
    assert entries["vqgan_vae_1024"].decorator is None
    assert entries["OpenAIDiscreteVAE"].file == "official/multimodal/dalle/vae/openai_dvae.py"


def test_list_and_help_never_import_megengine_nor_run_repo_code(tmp_path: Path, h: Any) -> None:
    canary = tmp_path / "RAN"
    files = h.models_shaped_files()
    files["hubconf.py"] = f"open({str(canary)!r}, 'w').close()\n" + files["hubconf.py"]
    repo, _ = h.make_repo(tmp_path / "repos", files)
    code = textwrap.dedent(
        f"""
        import sys, polyhub
        cards = polyhub.list_models("megengine", repo={repo.url!r})
        text = polyhub.help("megengine:{repo.url}/resnet18")
        assert len(cards) == 94, len(cards)
        assert "resnet18 from official.vision.classification.resnet.model" in text, text
        print("megengine" in sys.modules)
        """
    )
    done = h.run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert not canary.exists()


def test_names_that_are_not_callable_are_not_listed(tmp_path: Path, h: Any) -> None:
    h.write_files(
        tmp_path,
        {
            "hubconf.py": textwrap.dedent(
                '''
                import os
                from megengine import hub
                import megengine.module as M
                from pkg import models
                from pkg.models import *
                from pkg.consts import SIZE, Alias as Renamed
                from megengine.module import Linear

                dependencies = ["megengine"]
                VERSION = "1.0"
                lam = lambda x: x

                def _private(x):
                    """single underscore: upstream lists it"""

                def __dunder():
                    pass

                if os.name:
                    def conditional():
                        """defined under an if"""
                '''
            ),
            "pkg/__init__.py": "",
            "pkg/models/__init__.py": "from .net import *\n",
            "pkg/models/net.py": '__all__ = ["Net", "make"]\nclass Net:\n    """net"""\n    def __init__(self, depth, *, width=2):\n        pass\ndef make(): """make"""\ndef hidden(): pass\n',
            "pkg/consts.py": "SIZE = 3\nclass Original:\n    'orig'\nAlias = Original\n",
        },
    )
    conf = Hubconf(tmp_path)
    entries = conf.entries()
    assert list(entries) == ["Linear", "Net", "Renamed", "_private", "conditional", "lam", "make"]
    assert entries["Linear"].kind == "class"  # followed into megengine's own source, not imported
    assert entries["Net"].signature == "(depth, *, width=2)"
    assert entries["Renamed"].doc == "orig"
    assert conf.dependencies == ("megengine",)
    assert conf.entry("models") is None and conf.entry("SIZE") is None and conf.entry("hub") is None


def test_dependencies_must_be_a_literal_and_all_missing_are_named(tmp_path: Path) -> None:
    (tmp_path / "hubconf.py").write_text(
        "dependencies = ['numpy', 'no_such_mod_a', 'no_such_mod_b.sub']\n"
    )
    assert missing_dependencies(Hubconf(tmp_path)) == ["no_such_mod_a", "no_such_mod_b.sub"]
    (tmp_path / "hubconf.py").write_text("import sys\ndependencies = sys.argv\n")
    with pytest.raises(polyhub.MetadataError) as err:
        _ = Hubconf(tmp_path).dependencies
    assert "hubconf.py:2" in str(err.value) and "dependencies" in str(err.value)


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "hubconf.py").write_text("def ok():\n    pass\ndef broken(:\n")
    with pytest.raises(polyhub.MetadataError) as err:
        Hubconf(tmp_path)
    assert "hubconf.py:3" in str(err.value)

"""``import polyhub`` and plugin discovery import no framework (MindSpore takes ~4 s, MegEngine ~2 s)."""

from __future__ import annotations

import json
import subprocess
import sys

FRAMEWORKS = ("mindspore", "megengine", "onnxruntime", "onnx", "torch", "tensorflow", "numpy")


def _modules_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running ``code``."""
    return {m.split(".")[0] for m in _full_modules_after(code)}


def test_import_polyhub_imports_no_framework():
    loaded = _modules_after("import polyhub")
    assert loaded.isdisjoint(FRAMEWORKS), loaded & set(FRAMEWORKS)


def test_discovering_plugins_imports_no_framework():
    loaded = _modules_after("import polyhub; print(len(polyhub.list_plugins()))")
    assert loaded.isdisjoint(FRAMEWORKS), loaded & set(FRAMEWORKS)


def test_cli_help_imports_no_framework():
    loaded = _modules_after(
        "import sys; sys.argv = ['polyhub', '--help']\ntry:\n from polyhub._cli import main; main()\nexcept SystemExit: pass"
    )
    assert loaded.isdisjoint(FRAMEWORKS)


# What start-up must not pay for: the HTTP stack (~60 ms), YAML, the plugin manager
# and its entry-point scan (importlib.metadata), git and subprocess plumbing.
HEAVY = ("requests", "urllib3", "yaml", "pluggy", "filelock", "tqdm", "subprocess")


def _full_modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_import_polyhub_loads_nothing_until_a_name_is_used():
    loaded = _full_modules_after("import polyhub")
    assert {m.split(".")[0] for m in loaded}.isdisjoint(HEAVY), loaded & set(HEAVY)
    assert "importlib.metadata" not in loaded  # no entry-point scan
    assert sorted(m for m in loaded if m.startswith("polyhub")) == ["polyhub"]
    assert not any(m.startswith("polyhub_") for m in loaded)  # no plugin


def test_a_public_name_loads_its_module_on_first_use():
    loaded = _full_modules_after(
        "import polyhub\nassert polyhub.PolyhubError.__name__ == 'PolyhubError'\n"
        "assert callable(polyhub.load) and 'load' in dir(polyhub)"
    )
    assert "polyhub._errors" in loaded and "polyhub._api" in loaded
    assert "requests" not in loaded and "yaml" not in loaded


def test_cli_help_loads_no_plugin_and_no_http_stack():
    loaded = _full_modules_after(
        "import sys; sys.argv = ['polyhub', '--help']\ntry:\n from polyhub._cli import main; main()\nexcept SystemExit: pass"
    )
    assert {m.split(".")[0] for m in loaded}.isdisjoint(HEAVY), loaded & set(HEAVY)
    assert "importlib.metadata" not in loaded
    assert not any(m.startswith("polyhub_") for m in loaded)


def test_listing_plugins_parses_no_yaml_and_opens_no_http_stack():
    loaded = _full_modules_after("import polyhub; polyhub.list_plugins()")
    assert {m.split(".")[0] for m in loaded}.isdisjoint({"requests", "urllib3", "yaml"})


def test_internal_modules_are_private_and_the_public_names_are_not():
    # The core's modules are private (_api, _cache...): the package's face is its
    # top-level names, polyhub.hookspecs and polyhub.testing; an old path such as
    # polyhub.cache is no attribute, so nobody comes to depend on it again.
    loaded = _full_modules_after(
        "import polyhub\nassert polyhub.download.__module__ == 'polyhub._api'\n"
        "assert not hasattr(polyhub, 'cache') and not hasattr(polyhub, 'api')\n"
        "assert not hasattr(polyhub, 'no_such_thing')\n"
        "import polyhub.hookspecs, polyhub.testing"
    )
    assert "polyhub._api" in loaded


def test_the_light_helpers_load_nothing_heavy():
    # Plugins call these in format detection and listing, which must stay cheap.
    loaded = _full_modules_after(
        "import sys, polyhub\n"
        "polyhub.file_sha256(sys.executable); polyhub.parse_bool('1')\n"
        "polyhub.read_varint(b'\\x01'); polyhub.safe_relpath('a/b')"
    )
    assert {m.split(".")[0] for m in loaded}.isdisjoint(HEAVY), loaded & set(HEAVY)
    assert "polyhub._cache" not in loaded and "polyhub._plugins" not in loaded

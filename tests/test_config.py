"""Where the cache lives, and how the environment is read."""

from __future__ import annotations

from pathlib import Path

import polyhub
import pytest
from polyhub import PolyhubError
from polyhub._config import read_config


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("POLYHUB_HOME", "XDG_CACHE_HOME", "POLYHUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    polyhub.set_dir(None)
    yield monkeypatch
    polyhub.set_dir(None)


def test_home_precedence(clean_env, tmp_path):
    monkeypatch = clean_env
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert polyhub.get_dir() == tmp_path / "user" / ".cache" / "polyhub"
    monkeypatch.setenv("XDG_CACHE_HOME", "")  # empty counts as unset
    assert polyhub.get_dir() == tmp_path / "user" / ".cache" / "polyhub"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert polyhub.get_dir() == tmp_path / "xdg" / "polyhub"
    monkeypatch.setenv("POLYHUB_HOME", str(tmp_path / "ph"))
    assert polyhub.get_dir() == tmp_path / "ph"
    polyhub.set_dir("~/elsewhere")
    assert polyhub.get_dir() == tmp_path / "user" / "elsewhere"
    assert read_config().home == polyhub.get_dir()


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", True), ("YES", True), ("on", True), ("0", False), ("off", False), ("", False)],
)
def test_boolean_variables(clean_env, raw, value):
    clean_env.setenv("POLYHUB_OFFLINE", raw)
    assert read_config().offline is value


def test_bad_boolean_names_the_variable(clean_env):
    clean_env.setenv("POLYHUB_OFFLINE", "maybe")
    with pytest.raises(PolyhubError, match="POLYHUB_OFFLINE='maybe'"):
        read_config()


def test_keyword_wins_over_environment(clean_env):
    clean_env.setenv("POLYHUB_OFFLINE", "1")
    assert read_config(offline=False).offline is False


def test_bad_mirror_entry(clean_env):
    clean_env.setenv("POLYHUB_MIRRORS", "https://a.example")
    with pytest.raises(PolyhubError, match="PREFIX=REPLACEMENT"):
        read_config()


def test_bad_trust_repo_value(clean_env):
    with pytest.raises(PolyhubError, match="trust_repo"):
        read_config(trust_repo="sure")  # type: ignore[arg-type]


def test_every_error_is_a_polyhub_error():
    names = [n for n in polyhub.__all__ if n.endswith("Error")]
    assert len(names) >= 11
    for name in names:
        assert issubclass(getattr(polyhub, name), PolyhubError), name
    assert issubclass(polyhub.ModelNotFoundError, LookupError)
    assert issubclass(polyhub.PolyhubDeprecationWarning, polyhub.PolyhubWarning)


def test_metadata_error_names_file_line_and_field():
    err = polyhub.MetadataError("must be a list", file="cards/x.md", line=7, field="asset")
    assert str(err) == "cards/x.md:7: field 'asset': must be a list"
    assert (err.file, err.line, err.field) == ("cards/x.md", 7, "asset")


def test_cache_dir_is_tagged(tmp_path):
    from polyhub._cache import Cache

    config = read_config().with_(home=tmp_path / "h")
    Cache(config).ensure()
    assert (
        (tmp_path / "h" / "CACHEDIR.TAG")
        .read_text()
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert isinstance(config.home, Path)


def test_public_functions_are_not_shadowed_by_submodules():
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(polyhub.__path__):
        if module.name != "__main__":
            importlib.import_module(f"polyhub.{module.name}")
    for name in (
        "download",
        "load",
        "info",
        "help",
        "list_models",
        "plan",
        "validate",
        "list_plugins",
    ):
        assert callable(getattr(polyhub, name)), name
    assert polyhub.download is polyhub._api.download

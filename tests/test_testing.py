"""polyhub.testing: the isolated home, plugin swapping and the loopback hub that all tests share."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import polyhub
import pytest
from polyhub.testing import LoopbackHub, isolated_home, plugin_manager, use_plugins


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller's shell with polyhub settings of its own, which the home must hide."""
    monkeypatch.setenv("POLYHUB_OFFLINE", "1")
    monkeypatch.setenv("POLYHUB_MIRRORS", "https://a.example=http://b.example")
    monkeypatch.delenv("POLYHUB_HOME", raising=False)


def test_isolated_home_hides_the_callers_settings_and_puts_them_back(
    tmp_path: Path, clean_env: None
) -> None:
    from polyhub import _plugins as plugins

    polyhub.set_dir(tmp_path / "set-by-caller")
    before_plugins = plugins.default_plugins()
    before = dict(os.environ)
    with isolated_home(tmp_path / "home", env={"POLYHUB_RETRIES": "2", "HOME": None}) as home:
        assert home == tmp_path / "home"
        assert polyhub.get_dir() == home  # set_dir set aside
        assert os.environ["POLYHUB_HOME"] == str(home)
        assert "POLYHUB_OFFLINE" not in os.environ and "POLYHUB_MIRRORS" not in os.environ
        assert os.environ["POLYHUB_RETRIES"] == "2" and "HOME" not in os.environ
        assert "127.0.0.1" in os.environ["NO_PROXY"].split(",")
        assert plugins.default_plugins() is not before_plugins  # rebuilt on first use
        os.environ["POLYHUB_TRUSTED_REPOS"] = "github.com/x/y"  # changed by hand in the block
    assert dict(os.environ) == before
    assert polyhub.get_dir() == tmp_path / "set-by-caller"
    assert plugins.default_plugins() is before_plugins
    polyhub.set_dir(None)


def test_isolated_home_through_monkeypatch_is_undone_by_it(tmp_path: Path, clean_env: None) -> None:
    before = dict(os.environ)
    patch = pytest.MonkeyPatch()
    with isolated_home(tmp_path / "home", patch=patch):
        patch.setenv("POLYHUB_OFFLINE", "0")  # the test's own change, after the home's
    assert os.environ["POLYHUB_HOME"] == str(tmp_path / "home")  # left to the patcher
    patch.undo()
    assert dict(os.environ) == before


class Marker:
    """A plugin with one source, to see which manager the API uses."""

    @polyhub.hookimpl
    def polyhub_register_sources(self, registry: object) -> None:
        registry.add(polyhub.SourceInfo(scheme="marker", summary="a test source"))  # type: ignore[attr-defined]


def test_use_plugins_swaps_the_managers_the_api_uses_and_restores_the_previous(
    tmp_path: Path,
) -> None:
    with isolated_home(tmp_path / "home"):
        outer = plugin_manager()
        with use_plugins(outer):
            with use_plugins(("marker", Marker())) as inner:
                assert "marker" in inner.sources
                assert "marker" in {p.name for p in polyhub.list_plugins()}
            assert "marker" not in {p.name for p in polyhub.list_plugins()}
            from polyhub import _plugins as plugins

            assert plugins.default_plugins() is outer  # the previous one, not a new one


def test_a_broken_plugin_is_recorded_not_raised() -> None:
    class Misspelled:
        @polyhub.hookimpl
        def polyhub_sorce_resolve(self, address: object, context: object) -> None: ...

    manager = plugin_manager(Misspelled())
    assert [r.name.rsplit(".", 1)[-1] for r in manager.failed] == ["Misspelled"]
    assert "unknown hook" in (manager.failed[0].error or "")


def test_serves_bytes_and_a_folder_and_counts_each_path(tmp_path: Path) -> None:
    (tmp_path / "www" / "sub").mkdir(parents=True)
    (tmp_path / "www" / "sub" / "a.json").write_text("{}")
    (tmp_path / "secret").write_text("not served")
    seen: list[str] = []
    with LoopbackHub(tmp_path / "www", on_request=lambda r: seen.append(r.path)) as hub:
        url = hub.put("/mem/b.bin", b"bytes")
        assert url == f"{hub.url}/mem/b.bin" and hub.url.startswith("http://127.0.0.1:")
        assert _get(url)[2] == b"bytes"
        status, headers, body = _get(hub.url_for("sub/a.json"))
        assert (status, body, headers["Content-Type"]) == (200, b"{}", "application/json")
        assert _get(hub.url_for("sub/a.json"))[0] == 200
        for missing in ("nothing", "sub", "../secret", "%2e%2e/secret"):
            assert _get(hub.url_for(missing))[0] == 404, missing
        assert hub.count("/sub/a.json") == 2 and hub.count("mem/b.bin") == 1
        assert hub.counts()["/sub/a.json"] == 2
        assert seen == hub.paths() and len(seen) == 7
        assert hub.path_for(hub.url_for("sub/a.json")) == (tmp_path / "www" / "sub" / "a.json")
        assert hub.path_for("http://elsewhere/sub/a.json") is None
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)  # stopped: the port is closed


@pytest.mark.parametrize("source", ["memory", "folder"])
def test_ranges_and_validators_as_a_cdn_answers(tmp_path: Path, source: str) -> None:
    data = bytes(range(256)) * 4
    (tmp_path / "f.bin").write_bytes(data)
    with LoopbackHub(tmp_path) as hub:
        url = hub.put("f.bin", data) if source == "memory" else hub.url_for("f.bin")
        status, headers, body = _get(url)
        etag = headers["ETag"]
        assert status == 200 and body == data and headers["Accept-Ranges"] == "bytes"
        status, headers, body = _get(url, Range="bytes=1000-")
        assert (status, body, headers["Content-Range"]) == (
            206,
            data[1000:],
            "bytes 1000-1023/1024",
        )
        assert _get(url, Range="bytes=10-19")[2] == data[10:20]
        assert _get(url, Range="bytes=-4")[2] == data[-4:]
        assert _get(url, Range="bytes=5000-")[0] == 416
        assert _get(url, Range="bytes=10-", **{"If-Range": etag})[0] == 206
        assert _get(url, Range="bytes=10-", **{"If-Range": '"stale"'})[:3:2] == (200, data)
        assert _get(url, **{"If-None-Match": etag})[0] == 304
        if source == "folder":
            since = headers["Last-Modified"]
            assert _get(url, **{"If-Modified-Since": since})[0] == 304
        hub.etags = False
        assert "ETag" not in _get(url)[1]
        assert [h.get("Range") for h in hub.gets("f.bin")][:2] == [None, "bytes=1000-"]


def test_scripted_faults_then_normal_service(tmp_path: Path) -> None:
    with LoopbackHub() as hub:
        url = hub.put("m.bin", b"0123456789")
        hub.script("m.bin", ("status", 503, {"Retry-After": "1"}), ("ignore_range",))
        status, headers, _ = _get(url)
        assert status == 503 and headers["Retry-After"] == "1"
        assert _get(url, Range="bytes=5-")[:3:2] == (200, b"0123456789")
        assert _get(url, Range="bytes=5-")[:3:2] == (206, b"56789")


def test_https_with_a_server_context(tmp_path: Path) -> None:
    ssl = pytest.importorskip("ssl")
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    with LoopbackHub(ssl_context=server) as hub:
        url = hub.put("x", b"over tls")
        assert url.startswith("https://127.0.0.1:")
        with urllib.request.urlopen(url, context=client, timeout=10) as resp:
            assert resp.read() == b"over tls"

"""The load pipeline and the plugin manager, with a small real plugin defined here.

The plugin serves a "text" hub: each model is one file starting with
``PHTXT`` that the ``textrt`` runtime "loads" by returning its lines.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from typing import Any

import polyhub
import pytest
from polyhub import (
    Asset,
    FormatInfo,
    MetadataError,
    ModelCard,
    ModelNotFoundError,
    RuntimeInfo,
    SourceInfo,
    UnsupportedError,
    hookimpl,
)
from polyhub._device import Device
from polyhub._plugins import get_plugin_manager, reset_plugins
from polyhub.testing import use_plugins


class TextPlugin:
    """Models live in ``hub.files``; the address path is the model name."""

    def __init__(
        self, base: str, files: dict[str, bytes], extra_assets: tuple[Asset, ...] = ()
    ) -> None:
        self.base, self.files, self.extra_assets = base, files, extra_assets
        self.loaded: list[Any] = []

    @hookimpl
    def polyhub_register_sources(self, registry):
        registry.add(SourceInfo(scheme="text", summary="test hub", options=("hub",)))

    @hookimpl
    def polyhub_register_formats(self, registry):
        registry.add(FormatInfo(name="phtxt", suffixes=(".txt",)))

    @hookimpl
    def polyhub_register_runtimes(self, registry):
        registry.add(RuntimeInfo(name="textrt", formats=("phtxt",), devices=("cpu",)))
        registry.add(RuntimeInfo(name="ascendrt", formats=("phair",), devices=("ascend",)))

    @hookimpl
    def polyhub_source_resolve(self, address, context):
        if address.scheme != "text":
            return None
        name = f"/{address.path}.txt"
        if name not in self.files:
            raise ModelNotFoundError(f"no model {address.path!r}; models: {sorted(self.files)}")
        data = self.files[name]
        asset = Asset(
            url=self.base + name,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            format="phtxt",
        )
        return ModelCard(
            address=address, name=address.path, source="text", assets=(*self.extra_assets, asset)
        )

    @hookimpl
    def polyhub_source_list(self, scheme, filters, context):
        if scheme != "text":
            return None
        return [
            self.polyhub_source_resolve(polyhub.parse_address(f"text:{n[1:-4]}"), context)
            for n in sorted(self.files)
        ]

    @hookimpl
    def polyhub_format_detect(self, path, head):
        return "phtxt" if head.startswith(b"PHTXT") else None

    @hookimpl
    def polyhub_runtime_devices(self, runtime):
        return {"textrt": [Device("cpu")], "ascendrt": []}.get(runtime)

    @hookimpl
    def polyhub_runtime_load(self, request):
        if request.runtime != "textrt":
            return None
        self.loaded.append(request)
        return request.path.read_text().splitlines()


@pytest.fixture
def text_hub(home, hub):
    hub.add("lenet.txt", b"PHTXT\nweights")
    hub.add("garbage.txt", b"not the format")
    plugin = TextPlugin(hub.base, hub.files)
    with use_plugins(("text", plugin)):
        yield plugin


def test_load_end_to_end(text_hub, hub):
    lines = polyhub.load("text:lenet?hub=x&num_classes=10", device="cpu")
    assert lines == ["PHTXT", "weights"]
    request = text_hub.loaded[0]
    assert request.options == {"num_classes": 10}  # source and core options are not passed on
    assert (
        request.device == Device("cpu")
        and request.runtime == "textrt"
        and request.format == "phtxt"
    )
    polyhub.load("text:lenet")
    assert len(hub.gets("lenet.txt")) == 1  # the second load is served by the cache


def test_info_list_and_plan(text_hub, hub):
    card = polyhub.info("text:lenet")
    assert card.assets[0].size == len(b"PHTXT\nweights")
    assert [c.name for c in polyhub.list_models("text")] == ["garbage", "lenet"]
    assert hub.gets("lenet.txt") == []  # info and list download no model bytes
    plan = polyhub.plan("text:lenet", device="auto")
    assert plan.runtime == "textrt" and plan.device == Device("cpu") and "chose" in plan.reasons[-1]


def test_fallback_to_an_asset_the_device_can_run(home, hub):
    hub.add("lenet.txt", b"PHTXT\nweights")
    air = Asset(url=hub.base + "/lenet.air", sha256="0" * 64, format="phair")
    plugin = TextPlugin(hub.base, hub.files, extra_assets=(air,))
    reset_plugins(get_plugin_manager(load_entry_points=False, plugins=[("text", plugin)]))
    plan = polyhub.plan("text:lenet", device="cpu")
    assert plan.asset is not None and plan.asset.format == "phtxt"
    assert any("ascendrt" in r and "not cpu" in r for r in plan.reasons)
    with pytest.raises(UnsupportedError) as info:
        polyhub.plan("text:lenet", device="gpu")
    message = str(info.value)
    assert "phair: ascendrt (ascend)" in message and "phtxt: textrt (cpu)" in message
    assert polyhub.load("text:lenet", device="cpu") == ["PHTXT", "weights"]
    assert hub.gets("lenet.air") == []


def test_content_that_is_not_the_declared_format(text_hub):
    with pytest.raises(MetadataError) as info:
        polyhub.load("text:garbage")
    assert "field 'format'" in str(info.value)


def test_unknown_scheme_lists_installed_schemes(text_hub):
    with pytest.raises(ModelNotFoundError, match="installed schemes: text"):
        polyhub.load("nohub:x")


def test_unknown_model_error_comes_from_the_source(text_hub):
    with pytest.raises(ModelNotFoundError, match="no model 'nope'"):
        polyhub.info("text:nope")


# -- the plugin manager -------------------------------------------------------


class _EP:
    def __init__(self, name: str, obj: Any = None, exc: Exception | None = None) -> None:
        self.name, self.value, self._obj, self._exc = name, f"fake.{name}", obj, exc
        self.dist = None

    def load(self) -> Any:
        if self._exc:
            raise self._exc
        return self._obj


class Misspelled:
    @hookimpl
    def polyhub_sorce_resolve(self, address):
        return None


class WrongArgs:
    @hookimpl
    def polyhub_source_resolve(self, address, context, surprise):
        return None


class Duplicate:
    @hookimpl
    def polyhub_register_sources(self, registry):
        registry.add(SourceInfo(scheme="text"))


def test_broken_plugins_are_reported_and_the_others_keep_working(home, hub, monkeypatch):
    good = TextPlugin(hub.base, {})
    eps = [
        _EP("broken", exc=ImportError("No module named 'tensorflow'")),
        _EP("zdup", Duplicate()),
        _EP("good", good),
        _EP("misspelled", Misspelled()),
        _EP("wrongargs", WrongArgs()),
    ]
    monkeypatch.setattr("polyhub._plugins._entry_points", lambda: eps)
    plugins = get_plugin_manager()
    failed = {p.name: p.error for p in plugins.failed}
    assert set(failed) == {"broken", "zdup", "misspelled", "wrongargs"}
    assert "tensorflow" in failed["broken"]
    assert "polyhub_sorce_resolve" in failed["misspelled"]
    assert "surprise" in failed["wrongargs"]
    assert "registered twice" in failed["zdup"]  # the first registered keeps it
    assert list(plugins.sources) == ["text"] and plugins.sources["text"].plugin == "good"
    assert [r.name for r in plugins.records] == ["polyhub.builtin", "good"]


def test_disabled_plugins_and_autoload(home, hub, monkeypatch):
    eps = [_EP("good", TextPlugin(hub.base, {}))]
    monkeypatch.setattr("polyhub._plugins._entry_points", lambda: eps)
    monkeypatch.setenv("POLYHUB_DISABLED_PLUGINS", "good")
    assert list(get_plugin_manager().sources) == []
    monkeypatch.delenv("POLYHUB_DISABLED_PLUGINS")
    monkeypatch.setenv("POLYHUB_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert list(get_plugin_manager().sources) == []


def test_trace_prints_hook_calls(text_hub, monkeypatch, capsys):
    monkeypatch.setenv("POLYHUB_TRACE_PLUGINS", "1")
    reset_plugins(get_plugin_manager(load_entry_points=False, plugins=[("text", text_hub)]))
    polyhub.info("text:lenet")
    assert "[polyhub] polyhub_source_resolve(address, context) -> [text]" in capsys.readouterr().err


def test_installed_plugins_are_listed(home):
    names = {r.name for r in polyhub.list_plugins() if r.ok}
    installed = {ep.name for ep in metadata.entry_points(group="polyhub")}
    assert "polyhub.builtin" in names
    assert installed <= names | {r.name for r in polyhub.list_plugins() if not r.ok}


def test_core_options_in_the_query_act_like_keywords(text_hub):
    assert polyhub.load("text:lenet?device=cpu&runtime=textrt") == ["PHTXT", "weights"]
    request = text_hub.loaded[-1]
    assert request.device == Device("cpu") and request.options == {}
    assert str(polyhub.info("text:lenet?device=cpu&trust_repo=true").address) == "text:lenet"
    with pytest.raises(UnsupportedError):  # the explicit keyword wins over the query
        polyhub.load("text:lenet?device=cpu", device="gpu")


def test_listing_every_source_skips_a_broken_one(home, hub):
    class Unreachable:
        @hookimpl
        def polyhub_register_sources(self, registry):
            registry.add(SourceInfo(scheme="down"))

        @hookimpl
        def polyhub_source_list(self, scheme, filters, context):
            if scheme != "down":
                return None
            raise polyhub.DownloadError("the hub is unreachable")

    hub.add("lenet.txt", b"PHTXT\nweights")
    plugins = [("text", TextPlugin(hub.base, hub.files)), ("down", Unreachable())]
    reset_plugins(get_plugin_manager(load_entry_points=False, plugins=plugins))
    with pytest.warns(
        polyhub.PolyhubWarning, match="skipped the 'down' source: the hub is unreachable"
    ):
        assert [c.name for c in polyhub.list_models()] == ["lenet"]
    with pytest.raises(polyhub.DownloadError):
        polyhub.list_models("down")


def test_a_remote_card_cannot_point_at_local_files(home, hub, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"PHTXT\nsecret")
    import hashlib as _h

    local = Asset(
        url=secret.as_uri(), sha256=_h.sha256(secret.read_bytes()).hexdigest(), format="phtxt"
    )

    class RemoteCards(TextPlugin):
        @hookimpl
        def polyhub_source_resolve(self, address, context):
            if address.scheme != "text":
                return None
            return ModelCard(
                address=address,
                name="x",
                source="text",
                assets=(local,),
                file=f"{self.base}/index.json",
            )

    reset_plugins(
        get_plugin_manager(load_entry_points=False, plugins=[("text", RemoteCards(hub.base, {}))])
    )
    with pytest.raises(polyhub.UntrustedError, match="names a file on this machine"):
        polyhub.load("text:x")
    assert not (home / "blobs").exists()

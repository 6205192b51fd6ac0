"""``SourceSuite``: a source resolves, lists, verifies and works offline (S10-S21).

Required fixtures: ``source_plugin``, ``source_capabilities``
(:class:`~polyhub_conformance.SourceCapabilities`), ``sample_address`` (a model
with a downloadable asset) and ``hub_env`` (variables pointing the source at a
test hub, ``{}`` when the address says it all). Optional: ``unknown_address``,
``tamper``, ``companion_plugins``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ..assertions import (
    assert_calls_cleanly,
    assert_configured,
    assert_error_is,
    assert_no_new_files,
    assert_raises_polyhub,
)
from ..capabilities import SourceCapabilities
from ..harness import CacheHome, NetworkGuard, ServerPool, SuiteEnv, file_sha256

# Paths no source should choke on: each must give a card or a PolyhubError (S18).
GARBAGE_PATHS = [
    pytest.param("..", id="dotdot"),
    pytest.param("../../../etc/passwd", id="escape"),
    pytest.param("a/../../b", id="inner-dotdot"),
    pytest.param("/absolute/path", id="absolute"),
    pytest.param("C:/Windows/system32", id="drive"),
    pytest.param("a//b", id="empty-segment"),
    pytest.param("trailing/", id="trailing-slash"),
    pytest.param("%2e%2e/%2e%2e/x", id="encoded-dotdot"),
    pytest.param("back\\slash", id="backslash"),
    pytest.param("white space", id="space"),
    pytest.param("naïve-ünïcode-模型", id="unicode"),
    pytest.param("x" * 300, id="very-long"),
    pytest.param("a/b/c/d/e/f/g/h/i/j", id="deep"),
    pytest.param("-", id="dash"),
    pytest.param("UPPER/Case/NAME", id="upper-case"),
]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")

# The suites call only the public API (polyhub.download, polyhub.info...) and
# polyhub.testing: a plugin is judged by what its users can reach.


class SourceSuite:
    """What every source plugin must do, through the public API."""

    required_fixtures = ("source_plugin", "source_capabilities", "sample_address", "hub_env")

    @pytest.fixture
    def source_env(
        self,
        source_plugin: object,
        source_capabilities: SourceCapabilities,
        hub_env: Mapping[str, str],
        companion_plugins: Sequence[object],
        conformance_home: CacheHome,
        serve_directory: ServerPool,
        isolated_plugins: Callable[..., Any],
        monkeypatch: pytest.MonkeyPatch,
    ) -> SuiteEnv:
        """The hub's variables set, a fresh home, and a manager with only this plugin."""
        for key, value in hub_env.items():
            monkeypatch.setenv(key, value)
        plugins = isolated_plugins(source_plugin, *companion_plugins)
        return SuiteEnv(home=conformance_home, plugins=plugins, servers=serve_directory)

    def test_suite_is_configured(self, request: pytest.FixtureRequest) -> None:
        """S0: the required fixtures exist and the capabilities are a SourceCapabilities."""
        assert_configured(
            request, self.required_fixtures, "source_capabilities", SourceCapabilities
        )

    def test_address_round_trips(
        self, source_env: SuiteEnv, source_capabilities: SourceCapabilities, sample_address: str
    ) -> None:
        """S10: ``str()`` of an address, and of a resolved card's address, resolves to the same model."""
        import polyhub

        addr = polyhub.parse_address(sample_address)
        assert addr.scheme == source_capabilities.scheme, (
            f"S10: the sample address {sample_address!r} is not of the scheme "
            f"{source_capabilities.scheme!r}"
        )
        assert polyhub.parse_address(str(addr)) == addr
        card = assert_calls_cleanly("S10", polyhub.info, sample_address)
        assert isinstance(card, polyhub.ModelCard)
        assert card.address.scheme == source_capabilities.scheme
        canonical = str(card.address)
        assert polyhub.parse_address(canonical) == card.address, (
            f"S10: str(card.address) = {canonical!r} does not parse back to the card's address"
        )
        again = assert_calls_cleanly("S10", polyhub.info, canonical)
        assert again.address == card.address, f"S10: {canonical!r} resolves to another address"
        assert (again.name, [a.sha256 for a in again.assets]) == (
            card.name,
            [a.sha256 for a in card.assets],
        ), f"S10: {canonical!r} resolves to another model than {sample_address!r}"

    def test_card_is_well_formed(
        self, source_env: SuiteEnv, source_capabilities: SourceCapabilities, sample_address: str
    ) -> None:
        """S14: the sample's card names its source and has valid, downloadable assets."""
        import polyhub

        card = assert_calls_cleanly("S14", polyhub.info, sample_address)
        assert card.source == source_capabilities.scheme
        if not source_capabilities.downloads_assets:
            assert card.code is not None, f"S14: the code-only card {card.address} has no CodeRef"
            assert card.code.url and card.code.entry and card.code.kind, (
                f"S14: incomplete {card.code}"
            )
            assert card.code.revision and re.fullmatch(r"[0-9a-f]{40}", card.code.revision), (
                f"S14: the card's code is not pinned to a commit: revision={card.code.revision!r}"
            )
            return
        models = card.assets_with_role("model")
        assert models, f"S14: the sample card {card.address} has no asset with role 'model'"
        for asset in card.assets:
            assert asset.url, f"S14: an asset of {card.address} has no URL"
            assert asset.sha256 is None or _SHA256.match(asset.sha256), (
                f"S14: asset {asset.name} has sha256 {asset.sha256!r}: expected 64 lower-case hex digits"
            )
            assert asset.size is None or asset.size >= 0, (
                f"S14: asset {asset.name} has size {asset.size}"
            )
        if source_capabilities.publishes_hashes:
            assert any(a.sha256 for a in models), (
                "S14: no model asset carries a sha256; set publishes_hashes=False if the hub has none"
            )

    def test_unknown_model_raises_model_not_found(
        self, source_env: SuiteEnv, unknown_address: str
    ) -> None:
        """S11: an address the hub does not serve raises ModelNotFoundError (info and download)."""
        import polyhub

        assert_raises_polyhub(polyhub.ModelNotFoundError, "S11", polyhub.info, unknown_address)
        assert_raises_polyhub(polyhub.ModelNotFoundError, "S11", polyhub.download, unknown_address)

    def test_validate_ignores_foreign_files(self, source_env: SuiteEnv, tmp_path: Path) -> None:
        """S22: polyhub_source_validate returns None for a file that no hub publishes, else Problems."""
        import polyhub

        foreign = tmp_path / "conformance-notes.txt"
        foreign.write_bytes(b"polyhub conformance: not a card, manifest or repository\n")
        result = assert_calls_cleanly(
            "S22",
            source_env.plugins.validate,
            foreign,
            source_env.context(),
        )
        assert result is None or (
            isinstance(result, list) and all(isinstance(p, polyhub.Problem) for p in result)
        ), f"S22: polyhub_source_validate returned {result!r:.200} for a foreign file"

    def test_info_and_list_download_no_model_bytes(
        self, source_env: SuiteEnv, source_capabilities: SourceCapabilities, sample_address: str
    ) -> None:
        """S13: info, list and help fetch indexes only, never a model's bytes."""
        import polyhub

        card = assert_calls_cleanly("S13", polyhub.info, sample_address)
        if source_capabilities.lists_models:
            assert_calls_cleanly("S13", polyhub.list_models, source_capabilities.scheme)
        if source_capabilities.has_help:
            assert_calls_cleanly("S13", polyhub.help, sample_address)
        assert source_env.home.blobs() == [], "S13: info/list/help put model bytes in the cache"
        digests = {a.sha256 for a in card.assets if a.sha256}
        assert source_env.home.files_with_sha256(digests) == [], (
            "S13: info/list/help wrote a model's bytes under the home"
        )
        assert source_env.asset_requests(card.assets) == [], (
            "S13: info/list/help requested model files from the hub"
        )

    def test_list_includes_sample(
        self, source_env: SuiteEnv, source_capabilities: SourceCapabilities, sample_address: str
    ) -> None:
        """S14: listing the scheme gives well-formed cards, the sample among them."""
        import polyhub

        if not source_capabilities.lists_models:
            pytest.skip("S14: the source does not list models (lists_models=False)")
        card = assert_calls_cleanly("S14", polyhub.info, sample_address)
        cards = assert_calls_cleanly("S14", polyhub.list_models, source_capabilities.scheme)
        assert isinstance(cards, list)
        assert all(isinstance(c, polyhub.ModelCard) for c in cards), "S14: list gave non-cards"
        schemes = {c.address.scheme for c in cards}
        assert schemes <= {source_capabilities.scheme}, f"S14: listed cards of schemes {schemes}"
        names = [c.name for c in cards]
        assert card.name in names, (
            f"S14: the sample {card.name!r} is not listed; listed: {names[:20]}"
        )

    def test_help_returns_text(
        self, source_env: SuiteEnv, source_capabilities: SourceCapabilities, sample_address: str
    ) -> None:
        """S21: help answers with text for the sample's card."""
        import polyhub

        if not source_capabilities.has_help:
            pytest.skip("S21: the source has no help (has_help=False)")
        card = assert_calls_cleanly("S21", polyhub.info, sample_address)
        text = source_env.plugins.help_text(card, source_env.context())
        assert isinstance(text, str) and text.strip(), (
            f"S21: help returned {text!r}; a source without help text says so with "
            "SourceCapabilities(has_help=False)"
        )

    def test_tampered_asset_raises_hash_mismatch(
        self,
        source_env: SuiteEnv,
        source_capabilities: SourceCapabilities,
        sample_address: str,
        tamper: Callable[[Any], None],
    ) -> None:
        """S15: corrupted bytes raise HashMismatchError and leave nothing in the cache."""
        import polyhub

        if not source_capabilities.downloads_assets:
            pytest.skip("S15: code-only cards (downloads_assets=False)")
        card = assert_calls_cleanly("S15", polyhub.info, sample_address)
        models = card.assets_with_role("model")
        assert models, f"S15: the sample card {card.address} has no model asset"
        good: str | None = None
        if source_capabilities.publishes_hashes:
            assert any(a.sha256 for a in models), "S15: no model asset has a sha256 to check"
        else:
            # Trust on first use: the first download records the hash...
            path = assert_calls_cleanly("S15", polyhub.download, sample_address)
            good = file_sha256(path)
        for asset in models:
            tamper(asset)
        before = source_env.home.files()
        blobs_before = source_env.home.blobs()
        exc = assert_raises_polyhub(
            polyhub.HashMismatchError,
            "S15",
            polyhub.download,
            sample_address,
            force_reload=not source_capabilities.publishes_hashes,
        )
        assert exc.expected != exc.actual, "S15: the error's expected and actual sha256 are equal"
        if source_capabilities.publishes_hashes:
            assert exc.expected in {a.sha256 for a in models}, (
                f"S15: the error expects {exc.expected}, which is no model asset's sha256"
            )
        assert_no_new_files("S15", before, source_env.home.files(), what="a failed verification")
        assert source_env.home.blobs() == blobs_before, (
            "S15: the blobs changed after a failed fetch"
        )
        if good is not None:
            # ...and the next, corrupted download must not replace the good bytes.
            assert file_sha256(path) == good, "S15: the verified cached file was overwritten"

    def test_second_fetch_uses_the_cache(
        self, source_env: SuiteEnv, source_capabilities: SourceCapabilities, sample_address: str
    ) -> None:
        """S20: a downloaded asset is verified and a second download makes no request for it."""
        import polyhub

        if not source_capabilities.downloads_assets:
            pytest.skip("S20: code-only cards (downloads_assets=False)")

        card = assert_calls_cleanly("S20", polyhub.info, sample_address)
        first = assert_calls_cleanly("S20", polyhub.download, sample_address)
        digests = {a.sha256 for a in card.assets if a.sha256}
        if digests:
            assert file_sha256(first) in digests, (
                f"S20: the downloaded file {first} matches no sha256 of the card"
            )
        requested = len(source_env.asset_requests(card.assets))
        second = assert_calls_cleanly("S20", polyhub.download, sample_address)
        assert second == first, "S20: the second download returned another path"
        again = source_env.asset_requests(card.assets)
        assert len(again) == requested, f"S20: the second download requested {again[requested:]}"

    def test_works_offline_after_one_fetch(
        self,
        source_env: SuiteEnv,
        source_capabilities: SourceCapabilities,
        sample_address: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """S16: after one online fetch, info, list, help, download and load work with no socket."""
        import polyhub

        scheme = source_capabilities.scheme
        downloads = source_capabilities.downloads_assets
        card = assert_calls_cleanly("S16", polyhub.info, sample_address)
        path = assert_calls_cleanly("S16", polyhub.download, sample_address) if downloads else None
        if source_capabilities.lists_models:
            assert_calls_cleanly("S16", polyhub.list_models, scheme)
        if source_capabilities.has_help:
            assert_calls_cleanly("S16", polyhub.help, sample_address)
        try:
            polyhub.plan(sample_address, device="cpu")
            loadable = True
        except polyhub.UnsupportedError:
            loadable = False  # no runtime for it among the plugins given to the suite
        if loadable:
            assert_calls_cleanly("S16", polyhub.load, sample_address, device="cpu")
        served = len(source_env.servers.requests())

        monkeypatch.setenv("POLYHUB_OFFLINE", "1")
        with NetworkGuard() as guard:
            offline_card = assert_calls_cleanly("S16", polyhub.info, sample_address)
            offline_path = (
                assert_calls_cleanly("S16", polyhub.download, sample_address) if downloads else None
            )
            if source_capabilities.lists_models:
                assert_calls_cleanly("S16", polyhub.list_models, scheme)
            if source_capabilities.has_help:
                assert_calls_cleanly("S16", polyhub.help, sample_address)
            if loadable:
                assert_calls_cleanly("S16", polyhub.load, sample_address, device="cpu")
        assert guard.attempts == [], f"S16: sockets were opened while offline: {guard.attempts}"
        late = source_env.servers.requests()[served:]
        assert late == [], f"S16: the hub was asked for {late} while offline"
        assert offline_card.address == card.address
        assert offline_path == path, "S16: offline download gave another file"

    def test_cold_cache_offline_raises_offline_error(
        self,
        source_env: SuiteEnv,
        source_capabilities: SourceCapabilities,
        sample_address: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """S17: offline with an empty cache raises OfflineError naming the cache, and opens no socket."""
        import polyhub

        if not source_capabilities.network:
            pytest.skip("S17: the source reads local files (network=False)")
        monkeypatch.setenv("POLYHUB_OFFLINE", "1")
        with NetworkGuard() as guard:
            try:
                polyhub.info(sample_address)
            except Exception as exc:
                call = f"info({sample_address!r})"
                error = assert_error_is(polyhub.OfflineError, "S17", call, exc)
            else:
                # A source may ship its index; then the bytes are what is missing.
                if not source_capabilities.downloads_assets:
                    pytest.fail("S17: info worked offline with an empty cache", pytrace=False)
                error = assert_raises_polyhub(
                    polyhub.OfflineError, "S17", polyhub.download, sample_address
                )
        assert guard.attempts == [], f"S17: sockets were opened while offline: {guard.attempts}"
        assert str(source_env.home.root) in str(error), (
            f"S17: the OfflineError does not say where the cache is ({source_env.home.root}): {error}"
        )

    def test_unknown_revision_raises_revision_not_found(
        self, source_env: SuiteEnv, source_capabilities: SourceCapabilities, sample_address: str
    ) -> None:
        """S19: an ``@revision`` that does not exist raises RevisionNotFoundError."""
        import polyhub

        if not source_capabilities.revisions:
            pytest.skip("S19: the source has no revisions (revisions=False)")
        addr = polyhub.parse_address(sample_address)
        bad = polyhub.Address(
            addr.scheme, addr.path, "polyhub-conformance-no-such-revision", addr.options
        )
        assert_raises_polyhub(polyhub.RevisionNotFoundError, "S19", polyhub.info, str(bad))

    @pytest.mark.parametrize("path", GARBAGE_PATHS)
    def test_garbage_address_raises_only_polyhub_errors(
        self, source_env: SuiteEnv, source_capabilities: SourceCapabilities, path: str
    ) -> None:
        """S18: any path gives a card or a PolyhubError, never another exception."""
        import polyhub

        address = f"{source_capabilities.scheme}:{path}"
        try:
            result = polyhub.info(address)
        except Exception as exc:
            assert_error_is(polyhub.PolyhubError, "S18", f"info({address!r})", exc)
            return
        assert isinstance(result, polyhub.ModelCard), f"S18: info({address!r}) gave {result!r}"

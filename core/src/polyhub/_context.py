"""``Context``: the core services a hook may use during one call of the API.

Plugins never build caches, downloaders or git checkouts of their own: they
ask the context, so every source gets the same verified cache, mirrors,
offline mode, retries and trust rules.

A context is not the plugin manager: a hook reaches other plugins only through
the services here (format detection, device probing, the blob tier), which the
plugin manager hands in when it builds the context
(:func:`polyhub.make_context`). So this module imports nothing above the
values and the services, and the hook contract can name it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._errors import PolyhubWarning, UnsupportedError, UntrustedError

if TYPE_CHECKING:
    from ._cache import BlobTier
    from ._config import Config
    from ._device import Device
    from ._git import Checkout
    from ._registry import FormatInfo, SourceInfo
    from ._values import Asset, CodeRef, ImportedCode, ModelCard

__all__ = ["Context"]


# A registered name that is also a plain folder name (never ``..``, a slash...).
_STORAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")


def _no_devices(runtime: str) -> list[Device]:
    raise UnsupportedError(f"no plugin answers for runtime {runtime!r}")


class Context:
    """Core services for one call: ``config``, the ``cache``, downloads, git, trust.

    Built for each API call by :func:`polyhub.make_context` and passed to hooks
    as ``context``.

    :param config: the settings of this call.
    :param sources: the registered sources by scheme (their trusted repositories).
    :param formats: the registered formats by name.
    :param detect: names a file's format by content (the format hooks), or ``None``.
    :param devices: the devices a runtime can use here (the runtime's own hook).
    :param tier: another store of blobs asked before a hub (the blob hooks).
    :param runtimes: the registered runtime names (with the schemes, the names
        :meth:`storage` accepts).
    """

    def __init__(
        self,
        config: Config,
        *,
        sources: Mapping[str, SourceInfo] | None = None,
        formats: Mapping[str, FormatInfo] | None = None,
        detect: Callable[[Path], str | None] | None = None,
        devices: Callable[[str], list[Device]] | None = None,
        tier: BlobTier | None = None,
        runtimes: Collection[str] = (),
    ) -> None:
        from ._cache import Cache

        self.config = config
        self._sources: Mapping[str, SourceInfo] = MappingProxyType(dict(sources or {}))
        self.formats: Mapping[str, FormatInfo] = MappingProxyType(dict(formats or {}))
        """The registered formats by name (suffixes, summaries), read-only."""
        self._detect = detect
        self._devices = devices or _no_devices
        self._tier = tier
        # The first remote URL read (an index, a repository) while the current card
        # was resolved: the plugin manager stamps it on the card (ModelCard.origin).
        self._remote_origin: str | None = None
        self._runtimes = frozenset(runtimes)
        self.cache = Cache(config)
        self.cache.tier = tier

    def with_(self, **changes: Any) -> Context:
        """The same services with ``changes`` applied to the configuration (``offline=True``...)."""
        return Context(
            self.config.with_(**changes),
            sources=self._sources,
            formats=self.formats,
            detect=self._detect,
            devices=self._devices,
            tier=self._tier,
            runtimes=self._runtimes,
        )

    # -- configuration ------------------------------------------------------

    @property
    def offline(self) -> bool:
        """True when no socket may be opened (``POLYHUB_OFFLINE`` or ``offline=True``)."""
        return self.config.offline

    @property
    def force_reload(self) -> bool:
        return self.config.force_reload

    def rewrite_url(self, url: str) -> str:
        """``url`` after ``POLYHUB_MIRRORS`` rewriting (the core applies it to every fetch)."""
        return self.config.rewrite_url(url)

    def warn(self, message: str, stacklevel: int = 3) -> None:
        """Emit a :class:`~polyhub.PolyhubWarning`."""
        warnings.warn(message, PolyhubWarning, stacklevel=stacklevel)

    def source_info(self, scheme: str) -> SourceInfo:
        """What the plugin serving ``scheme`` registered.

        :raises KeyError: no installed plugin serves ``scheme``.
        """
        return self._sources[scheme]

    def detect_format(self, path: Path) -> str | None:
        """The format of ``path`` by content, as the format hooks name it (``None``: unknown)."""
        return None if self._detect is None else self._detect(path)

    # -- files --------------------------------------------------------------

    def fetch(self, asset: Asset, *, card: ModelCard | None = None) -> Path:
        """Download ``asset`` into the cache (verified against its sha256) and return its path.

        The path ends in the asset's own file name (the last segment of ``asset.name``,
        e.g. ``alexnet.ckpt``): a read-only link, in a folder named by the sha256, to
        the verified blob. A name that is not a plain file name gets the blob's own.

        A cached, verified blob is returned without any request. With no sha256
        the first-seen hash is recorded and enforced on later downloads, but only
        once the file passes format detection (the ``polyhub_format_detect`` hooks
        name the asset's declared format), so an error page or a Git LFS pointer
        served the first time is never pinned. ``polyhub cache forget`` drops it.
        With ``asset.sha256_prefix`` the bytes must also hash to that prefix.

        :raises polyhub.HashMismatchError: the bytes fail the sha256 or its prefix;
            nothing is published.
        """
        view = None
        if card is not None:
            view = f"{card.source}/{card.address.path}/{asset.name}"
            self._check_local_reference(card, asset)
        return self.cache.fetch(
            self.rewrite_url(asset.url),
            sha256=asset.sha256,
            size=asset.size,
            view=view,
            original_url=asset.url,
            accept=lambda path: self._format_problem(path, asset.format),
            name=asset.name,
            sha256_prefix=asset.sha256_prefix,
        )

    def _format_problem(self, path: Path, declared: str | None) -> str | None:
        """Why ``path`` is not a file of the ``declared`` format, by content (``None``: it is).

        Only a format some installed plugin registers can be checked; other files
        pass (the cache still refuses LFS pointers and HTML pages).
        """
        if declared is None or declared not in self.formats:
            return None
        found = self.detect_format(path)
        if found == declared:
            return None
        return f"a file the format hooks see as {found or 'no known format'}, not {declared!r}"

    def _note_origin(self, url: str) -> None:
        from ._locations import is_local

        if self._remote_origin is None and not is_local(url):
            self._remote_origin = url

    def _resolving(self) -> None:
        """The plugin manager is about to resolve a card: forget what earlier ones read."""
        self._remote_origin = None

    def _resolved(self, card: ModelCard) -> ModelCard:
        """The card just resolved, stamped with the remote URL read since :meth:`_resolving`."""
        if self._remote_origin is None or card.origin is not None:
            return card
        return card.replace(origin=self._remote_origin)

    def _check_local_reference(self, card: ModelCard, asset: Asset) -> None:
        from ._locations import is_local

        # A card served by a remote hub must not make polyhub read files of this
        # machine (file:// or a path): that would copy local secrets into the cache.
        # Remote is what the core saw the card's resolve read (ModelCard.origin, kept
        # by the card into later calls), not only what the plugin says the card's
        # file is: a git-hosted hub's card file is a path in a local checkout.
        if not is_local(asset.url):
            return
        card_file = card.file or ""
        origin = card_file if card_file.startswith(("http://", "https://")) else card.origin
        if origin is not None:
            raise UntrustedError(
                f"{card.file or card.address}: the asset {asset.url!r} names a file on this "
                f"machine, which a card from a remote hub ({origin}) may not do"
            )

    def fetch_url(
        self,
        url: str,
        *,
        sha256: str | None = None,
        size: int | None = None,
        view: str | None = None,
    ) -> Path:
        """Like :meth:`fetch` for a bare URL (e.g. weights named by model code)."""
        return self.cache.fetch(
            self.rewrite_url(url), sha256=sha256, size=size, view=view, original_url=url
        )

    def fetch_index(self, url: str) -> bytes:
        """Fetch a hub index (a manifest, a card) with ETag revalidation.

        Cached so that list and info work offline; when the network fails and a
        copy is cached, the copy is used with a warning.
        """
        self._note_origin(url)
        return self.cache.fetch_index(self.rewrite_url(url), original_url=url)

    def extract(self, archive: Path, *, key: str, max_bytes: int | None = None) -> Path:
        """Extract a verified tar archive safely into the cache and return the folder.

        Only regular files and folders are allowed, every member must stay inside
        the destination, and extraction goes to a temporary folder renamed at the
        end. ``key`` (usually the archive's sha256) names the folder.

        :raises polyhub.UnsafeArchiveError: a member escapes, is a link or a device,
            or the total size passes ``max_bytes``.
        """
        from ._archive import extract_tar

        return extract_tar(archive, self.cache.extract_dir(key), max_bytes=max_bytes)

    def storage(self, name: str) -> Path:
        """The folder where the plugin serving scheme or runtime ``name`` keeps its own data.

        ``<home>/plugins/<name>/``, created on demand. Nothing but the core writes
        anywhere else in the polyhub home, so ``polyhub cache ls`` shows each
        plugin's folder and ``polyhub cache prune --older-than`` removes one nobody
        used for that long: keep only what can be made again (indexes, manifests).

        :raises polyhub.UnsupportedError: ``name`` is no registered scheme or runtime.
        :raises polyhub.DownloadError: the home cannot be written (names the folder).
        """
        if (
            name not in self._sources and name not in self._runtimes
        ) or not _STORAGE_NAME.fullmatch(name):
            known = sorted({*self._sources, *self._runtimes})
            raise UnsupportedError(
                f"no storage for {name!r}: it is no registered source scheme or runtime "
                f"(registered: {', '.join(known) or 'none'})"
            )
        folder = self.config.home / "plugins" / name
        self.cache.ensure()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self.cache.write_error(exc, folder) from exc
        return folder

    # -- code ---------------------------------------------------------------

    def checkout(self, url: str, revision: str | None = None) -> Checkout:
        """Check out ``url`` at ``revision`` (default branch when ``None``), pinned to a commit.

        Cached by commit; branches are re-resolved unless offline, and a pinned
        commit never changes. Runs no code from the repository.

        :raises polyhub.RevisionNotFoundError: no such branch, tag or commit.
        :raises polyhub.DownloadError: git failed to fetch.
        :raises polyhub.OfflineError: offline, and nothing is cached for it.
        """
        from ._git import checkout

        self._note_origin(url)
        return checkout(self.rewrite_url(url), revision, self.config, original_url=url)

    def seed_checkout(self, url: str, commit: str, archive: Path) -> Path:
        """Make the tree in the tar ``archive`` the checkout of ``url`` at ``commit``.

        For code that arrives without its git history (an OCI artifact's code
        layer): a later :meth:`checkout` or :meth:`import_code` of that commit
        finds it without any git call. Trust is not implied: the code still runs
        only when its repository is trusted.

        :raises polyhub.UnsafeArchiveError: a member escapes, is a link or a device.
        :raises polyhub.DownloadError: ``commit`` is not a full commit id.
        """
        from ._git import seed_checkout

        return seed_checkout(url, commit, archive, self.config)

    def _trusted_defaults(self, scheme: str | None) -> tuple[str, ...]:
        if scheme is None or scheme not in self._sources:
            return ()
        return self._sources[scheme].trusted

    def is_trusted(self, repo_id: str, scheme: str | None = None) -> bool:
        """Whether ``repo_id`` may run code, without asking anybody."""
        from ._trust import TrustStore

        defaults = self._trusted_defaults(scheme)
        return TrustStore(self.config).is_trusted(repo_id, defaults=defaults)

    def check_trust(self, repo_id: str, *, scheme: str | None = None, purpose: str = "") -> None:
        """Raise :class:`~polyhub.UntrustedError` unless ``repo_id`` may run code.

        Follows ``trust_repo`` (``True`` trusts and remembers, ``False`` refuses
        anything not trusted already, ``"check"`` asks on a TTY) and never prompts
        when stdin is not a terminal. A repository being in the cache does not
        make it trusted.
        """
        from ._trust import TrustStore

        defaults = self._trusted_defaults(scheme)
        TrustStore(self.config).check(repo_id, defaults=defaults, purpose=purpose)

    def check_commit_trust(self, repo_id: str, url: str, commit: str, *, purpose: str = "") -> None:
        """Raise :class:`~polyhub.UntrustedError` for a commit its repository did not publish.

        Call after :meth:`checkout` and :meth:`check_trust`, before running the
        code: a full commit id that is on no branch or tag of ``url`` (only on a
        pull-request ref such as ``refs/pull/1/head``, which is how a fork's code
        reaches its parent) runs only when ``<repo_id>@<commit>`` is trusted by name.
        A checkout that arrived without its git history (an unbundled lock file, a
        registry's code layer) is judged by its repository's trust alone.
        """
        from ._git import is_published
        from ._trust import TrustStore

        if is_published(url, commit, self.config) is False:
            TrustStore(self.config).check_commit(repo_id, commit, purpose=purpose)

    def import_code(self, code: CodeRef, *, scheme: str, purpose: str = "") -> ImportedCode:
        """Check out ``code``, check it, check trust, then import it in isolation.

        The one way model code runs: the file must exist (``code.fallback_revisions``
        are tried when it is not at ``code.revision``), its ``dependencies`` list is
        read statically, the repository (and an unpublished commit) must be trusted
        by the rules of the source ``scheme`` — all before a line of it runs. Kept
        for the process per commit (``force_reload`` imports afresh).

        :returns: the imported file and the object ``code.function`` (else
            ``code.entry``) names; call it inside ``imported.activate()``.
        :raises polyhub.UntrustedError: not trusted; nothing of the repository ran.
        :raises polyhub.MissingDependencyError: the code imports packages not installed.
        :raises polyhub.UnsupportedError: its ``dependencies`` are not installed.
        :raises polyhub.MetadataError: no such file at any revision, or an unsafe path.
        """
        from ._repocode import import_code

        return import_code(self, code, scheme=scheme, purpose=purpose)

    # -- runtimes -----------------------------------------------------------

    def runtime_devices(self, runtime: str) -> list[Device]:
        """The devices ``runtime`` can use on this machine now, best first.

        :raises polyhub.UnsupportedError: no installed plugin provides ``runtime``.
        """
        return list(self._devices(runtime))

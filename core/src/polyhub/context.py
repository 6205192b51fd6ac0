"""``Context``: the core services a hook may use during one call of the API.

Plugins never build caches, downloaders or git checkouts of their own: they
ask the context, so every source gets the same verified cache, mirrors,
offline mode, retries and trust rules.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import PolyhubWarning, UnsupportedError, UntrustedError

if TYPE_CHECKING:
    from .card import Asset, ModelCard
    from .config import Config
    from .device import Device
    from .git import Checkout
    from .plugins import Plugins
    from .registry import SourceInfo

__all__ = ["Context"]


class Context:
    """Core services for one call: ``config``, the ``cache``, downloads, git, trust.

    Built by the public API for each call and passed to hooks as ``context``.
    """

    def __init__(self, config: Config, plugins: Plugins) -> None:
        from .cache import Cache

        self.config = config
        self.plugins = plugins
        self.cache = Cache(config)
        self.cache.tier = _HookTier(self)

    @classmethod
    def from_environment(
        cls,
        *,
        offline: bool | None = None,
        trust_repo: bool | str | None = None,
        force_reload: bool = False,
        verify: bool = False,
    ) -> Context:
        """A context from the ``POLYHUB_*`` variables and the process-wide plugins.

        For code outside a hook (compatibility shims, scripts) that needs the
        core's services.
        """
        from .config import read_config
        from .plugins import default_plugins

        config = read_config(
            offline=offline, trust_repo=trust_repo, force_reload=force_reload, verify=verify
        )
        return cls(config, default_plugins())

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
        return self.plugins.sources[scheme]

    # -- files --------------------------------------------------------------

    def fetch(self, asset: Asset, *, card: ModelCard | None = None) -> Path:
        """Download ``asset`` into the cache (verified against its sha256) and return its path.

        A cached, verified blob is returned without any request. With no sha256
        the first-seen hash is recorded and enforced on later downloads, but only
        once the file passes format detection (the ``polyhub_format_detect`` hooks
        name the asset's declared format), so an error page or a Git LFS pointer
        served the first time is never pinned. ``polyhub cache forget`` drops it.
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
        )

    def _format_problem(self, path: Path, declared: str | None) -> str | None:
        """Why ``path`` is not a file of the ``declared`` format, by content (``None``: it is).

        Only a format some installed plugin registers can be checked; other files
        pass (the cache still refuses LFS pointers and HTML pages).
        """
        if declared is None or declared not in self.plugins.formats:
            return None
        from .api import detect_format

        found = detect_format(path, self.plugins)
        if found == declared:
            return None
        return f"a file the format hooks see as {found or 'no known format'}, not {declared!r}"

    @staticmethod
    def _check_local_reference(card: ModelCard, asset: Asset) -> None:
        from .locations import is_local

        # A card served by a remote hub must not make polyhub read files of this
        # machine (file:// or a path): that would copy local secrets into the cache.
        remote = (card.file or "").startswith(("http://", "https://"))
        if remote and is_local(asset.url):
            raise UntrustedError(
                f"{card.file}: the asset {asset.url!r} names a file on this machine, "
                "which a card from a remote hub may not do"
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
        return self.cache.fetch_index(self.rewrite_url(url), original_url=url)

    def extract(self, archive: Path, *, key: str, max_bytes: int | None = None) -> Path:
        """Extract a verified tar archive safely into the cache and return the folder.

        Only regular files and folders are allowed, every member must stay inside
        the destination, and extraction goes to a temporary folder renamed at the
        end. ``key`` (usually the archive's sha256) names the folder.

        :raises polyhub.UnsafeArchiveError: a member escapes, is a link or a device,
            or the total size passes ``max_bytes``.
        """
        from .archive import extract_tar

        return extract_tar(archive, self.cache.extract_dir(key), max_bytes=max_bytes)

    # -- code ---------------------------------------------------------------

    def checkout(self, url: str, revision: str | None = None) -> Checkout:
        """Check out ``url`` at ``revision`` (default branch when ``None``), pinned to a commit.

        Cached by commit; branches are re-resolved unless offline, and a pinned
        commit never changes. Runs no code from the repository.

        :raises polyhub.RevisionNotFoundError: no such branch, tag or commit.
        :raises polyhub.DownloadError: git failed to fetch.
        :raises polyhub.OfflineError: offline, and nothing is cached for it.
        """
        from .git import checkout

        return checkout(self.rewrite_url(url), revision, self.config, original_url=url)

    def _trusted_defaults(self, scheme: str | None) -> tuple[str, ...]:
        if scheme is None or scheme not in self.plugins.sources:
            return ()
        return self.plugins.sources[scheme].trusted

    def is_trusted(self, repo_id: str, scheme: str | None = None) -> bool:
        """Whether ``repo_id`` may run code, without asking anybody."""
        from .trust import TrustStore

        defaults = self._trusted_defaults(scheme)
        return TrustStore(self.config).is_trusted(repo_id, defaults=defaults)

    def check_trust(self, repo_id: str, *, scheme: str | None = None, purpose: str = "") -> None:
        """Raise :class:`~polyhub.UntrustedError` unless ``repo_id`` may run code.

        Follows ``trust_repo`` (``True`` trusts and remembers, ``False`` refuses
        anything not trusted already, ``"check"`` asks on a TTY) and never prompts
        when stdin is not a terminal. A repository being in the cache does not
        make it trusted.
        """
        from .trust import TrustStore

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
        from .git import is_published
        from .trust import TrustStore

        if is_published(url, commit, self.config) is False:
            TrustStore(self.config).check_commit(repo_id, commit, purpose=purpose)

    # -- runtimes -----------------------------------------------------------

    def runtime_devices(self, runtime: str) -> list[Device]:
        """The devices ``runtime`` can use on this machine now."""
        devices = self.plugins.hook.polyhub_runtime_devices(runtime=runtime)
        if devices is None:
            raise UnsupportedError(f"no plugin answers for runtime {runtime!r}")
        return list(devices)


class _HookTier:
    """The cache's blob tier: the ``polyhub_blob_fetch`` / ``polyhub_blob_stored`` hooks."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def get(self, url: str, sha256: str, size: int | None, dest: Path) -> bool:
        hook = self.context.plugins.hook
        return bool(
            hook.polyhub_blob_fetch(
                url=url, sha256=sha256, size=size, dest=dest, context=self.context
            )
        )

    def stored(self, url: str, sha256: str, size: int, path: Path) -> None:
        self.context.plugins.hook.polyhub_blob_stored(
            url=url, sha256=sha256, size=size, path=path, context=self.context
        )

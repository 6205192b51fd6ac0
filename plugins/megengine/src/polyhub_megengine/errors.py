"""Errors with ``megengine.hub``'s names, as polyhub error subclasses.

Code written for ``megengine.hub`` catches ``InvalidRepo``, ``InvalidGitHost``
and friends; polyhub code catches :class:`polyhub.PolyhubError`. These classes
are both, so neither kind of caller misses them. Unlike upstream's
``HTTPDownloadError`` (a ``BaseException``), every one derives from
``Exception``.
"""

from __future__ import annotations

from polyhub import (
    AddressError,
    DownloadError,
    ModelNotFoundError,
    PolyhubError,
    RevisionNotFoundError,
)

__all__ = [
    "BranchNotFoundError",
    "FetcherError",
    "GitCheckoutError",
    "GitPullError",
    "HTTPDownloadError",
    "HTTPSFetchError",
    "HTTPSRevisionError",
    "InvalidGitHost",
    "InvalidProtocol",
    "InvalidRepo",
    "NoHubconfError",
    "WeightsNotFoundError",
]


class FetcherError(PolyhubError):
    """Base of the repository-fetching errors (``megengine.hub.exceptions.FetcherError``)."""


class InvalidRepo(FetcherError, AddressError):
    """The repository (``owner/name[:branch]``, a URL or a folder) is malformed."""


class InvalidGitHost(FetcherError, AddressError):
    """``git_host`` is not a host name, IPv4/IPv6 address, with an optional port."""


class InvalidProtocol(FetcherError, AddressError):
    """``protocol`` is not one of https, ssh, http, git."""


class GitPullError(FetcherError, DownloadError):
    """git could not fetch the repository."""


class GitCheckoutError(FetcherError, RevisionNotFoundError):
    """The branch, tag or commit does not exist in the repository."""


class HTTPDownloadError(DownloadError):
    """A weights download failed (an ``Exception``, unlike upstream's ``BaseException``)."""


class WeightsNotFoundError(HTTPDownloadError, FileNotFoundError):
    """The weights URL answered 404. Upstream's downloader (megfile) raised
    ``HttpFileNotFoundError``, a ``FileNotFoundError``: ``except FileNotFoundError``
    keeps working."""


class BranchNotFoundError(GitPullError, GitCheckoutError):
    """No such branch or tag (no ``commit=`` given). Upstream's ``git clone -b`` failed
    with ``GitPullError``; it is also a ``GitCheckoutError``, as a bad commit is."""


class HTTPSFetchError(GitPullError, HTTPDownloadError):
    """Fetching the repository failed with ``protocol="HTTPS"``: upstream downloaded an
    archive and raised ``HTTPDownloadError`` for any failure, so this is one too."""


class HTTPSRevisionError(BranchNotFoundError, HTTPDownloadError):
    """No such branch, tag or commit with ``protocol="HTTPS"``: upstream's archive
    download answered 404 (``HTTPDownloadError``)."""


class NoHubconfError(ModelNotFoundError, FileNotFoundError):
    """The repository has no ``hubconf.py``. Upstream opened it and failed with
    ``FileNotFoundError``; this is one too, and a polyhub ``ModelNotFoundError``."""

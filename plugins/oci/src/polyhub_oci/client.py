"""A small OCI distribution client on top of ``oras``.

``oras`` brings the parts that are easy to get wrong: reading credentials from
the Docker/ORAS config files and credential helpers, and the bearer-token
dance of ``WWW-Authenticate`` challenges (GHCR, Harbor, ECR). Its request
wrapper also retries with sleeps of 3 to 83 seconds; polyhub calls the
unwrapped request (one authenticated attempt) and streams blobs itself, so a
registry that is down fails in seconds with a :class:`polyhub.DownloadError`,
blobs never sit whole in memory, and every byte read is hashed on the way.

Credentials are never logged nor put in an error message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import requests
from polyhub import DownloadError, ModelNotFoundError, PolyhubError

from .reference import Reference

__all__ = ["MANIFEST_TYPES", "RegistryClient"]

log = logging.getLogger("polyhub.oci")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST)
_CHUNK = 1 << 20
# Seconds to wait for a connection or for the next bytes; a registry that
# stops answering mid-blob is given up on instead of hanging a node.
TIMEOUT = float(os.environ.get("POLYHUB_OCI_TIMEOUT", "30"))


class _Session(requests.Session):
    """A session with a default timeout (``requests`` has none, and ``oras`` sets none)."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(*args, **kwargs)


class RegistryClient:
    """One repository of one registry: manifests, tags and blobs.

    :param ref: the repository (its tag and digest are ignored here).
    """

    def __init__(self, ref: Reference) -> None:
        import oras.provider

        self.ref = ref
        self._oras = oras.provider.Registry(hostname=ref.registry, insecure=ref.plain_http)
        session = _Session()
        session.cookies.set_policy(self._oras.session.cookies._policy)
        self._oras.session = session
        self._oras.auth.session = session
        user, password = (
            os.environ.get("POLYHUB_OCI_USERNAME"),
            os.environ.get("POLYHUB_OCI_PASSWORD"),
        )
        if user and password:
            self._oras.auth.set_basic_auth(user, password)
        else:
            # ~/.docker/config.json, credHelpers and credsStore. oras reads only
            # ~/.docker; DOCKER_CONFIG (a mounted config, as docker itself reads
            # it) is added here.
            folder = os.environ.get("DOCKER_CONFIG")
            configs = [str(Path(folder) / "config.json")] if folder else None
            self._oras.auth.load_configs(self._oras.get_container(ref.name), configs)
        # oras answers every challenge with the bearer-token dance, reading a
        # ``Basic realm="..."`` label as a token server's URL: a registry with
        # plain basic auth (Distribution's htpasswd, many Nexus/Artifactory set-ups)
        # then fails, and the credentials go to ``http://<realm>``. Basic
        # challenges are answered here, to the registry itself.
        self._basic = False
        token_answer = self._oras.auth.authenticate_request

        def answer(
            original: requests.Response, headers: dict[str, str], refresh: bool = False
        ) -> tuple[dict[str, str], bool]:
            challenge = original.headers.get("Www-Authenticate", "")
            if challenge.split(" ", 1)[0].lower() != "basic":
                result: tuple[dict[str, str], bool] = token_answer(original, headers, refresh)
                return result
            if not getattr(self._oras.auth, "_basic_auth", None):
                return headers, False
            self._basic = True
            return {**headers, **self._basic_header()}, True

        self._oras.auth.authenticate_request = answer

    def _basic_header(self) -> dict[str, str]:
        return {"Authorization": f"Basic {self._oras.auth._basic_auth}"}

    # -- transport ----------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        data: Any = None,
        stream: bool = False,
    ) -> requests.Response:
        # The undecorated request: authentication, no sleeping retries.
        raw = type(self._oras).do_request.__wrapped__
        if self._basic:
            # Sent up front once the registry asked for it: a streamed upload
            # body cannot be replayed after a 401.
            headers = {**(headers or {}), **self._basic_header()}
        try:
            response: requests.Response = raw(
                self._oras, url, method, data=data, headers=dict(headers or {}), stream=stream
            )
        except requests.RequestException as exc:
            raise DownloadError(
                f"the OCI registry {self.ref.registry} did not answer {method} {url}: "
                f"{type(exc).__name__}: {_short(exc)}",
                url=url,
            ) from None
        except ValueError as exc:  # oras: "Cannot respond to request for authentication."
            raise DownloadError(
                f"the OCI registry {self.ref.registry} refused {method} {url}: {exc} "
                "(log in with `oras login` / `docker login`, or set POLYHUB_OCI_USERNAME "
                "and POLYHUB_OCI_PASSWORD)",
                url=url,
                status=401,
            ) from None
        return response

    def _fail(self, response: requests.Response, what: str) -> PolyhubError:
        url = response.request.url or self.ref.base_url
        detail = _registry_message(response)
        if response.status_code == 404:
            return ModelNotFoundError(f"{what} is not in the OCI registry ({url}): {detail}")
        if response.status_code in (401, 403):
            return DownloadError(
                f"the OCI registry refused {what} ({url}, HTTP {response.status_code}): {detail}; "
                "check your registry credentials (docker/oras config, POLYHUB_OCI_USERNAME)",
                url=url,
                status=response.status_code,
            )
        return DownloadError(
            f"the OCI registry failed on {what} ({url}, HTTP {response.status_code}): {detail}",
            url=url,
            status=response.status_code,
        )

    # -- manifests and tags -------------------------------------------------

    def get_manifest(self, reference: str) -> tuple[bytes, str, str]:
        """The manifest ``reference`` (tag or digest): its bytes, digest and media type.

        A manifest asked for by digest is checked against it: a registry
        cannot swap the manifest of a pinned reference.

        :raises polyhub.ModelNotFoundError: no such tag or digest.
        :raises polyhub.HashMismatchError: the bytes do not match the digest asked for.
        :raises polyhub.DownloadError: the registry failed or is unreachable.
        """
        from polyhub import HashMismatchError

        url = f"{self.ref.base_url}/manifests/{reference}"
        response = self._request("GET", url, headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if response.status_code != 200:
            raise self._fail(response, f"the manifest {self.ref.name}:{reference}")
        body = response.content
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if reference.startswith("sha256:") and digest != reference:
            raise HashMismatchError(
                url=url, expected=reference[7:], actual=digest[7:], what=f"the manifest {url}"
            )
        media = response.headers.get("Content-Type", "").split(";")[0].strip()
        return body, digest, media

    def put_manifest(self, body: bytes, reference: str, media_type: str = OCI_MANIFEST) -> str:
        """Upload a manifest under ``reference`` (a tag, or its own digest); return its digest."""
        url = f"{self.ref.base_url}/manifests/{reference}"
        response = self._request("PUT", url, headers={"Content-Type": media_type}, data=body)
        if response.status_code not in (200, 201, 202):
            raise self._fail(response, f"uploading the manifest {self.ref.name}:{reference}")
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def tags(self) -> list[str]:
        """The repository's tags (empty when the repository does not exist)."""
        url: str | None = f"{self.ref.base_url}/tags/list"
        found: list[str] = []
        while url:
            response = self._request("GET", url)
            if response.status_code == 404:
                return found
            if response.status_code != 200:
                raise self._fail(response, f"the tags of {self.ref.name}")
            found.extend(_json(response, url).get("tags") or [])
            url = _next_link(response, self.ref)
        return found

    def catalog(self) -> list[str]:
        """The repositories of the registry (``/v2/_catalog``; not every registry offers it)."""
        scheme = "http" if self.ref.plain_http else "https"
        url: str | None = f"{scheme}://{self.ref.registry}/v2/_catalog"
        found: list[str] = []
        while url:
            response = self._request("GET", url)
            if response.status_code != 200:
                raise self._fail(response, f"the catalog of {self.ref.registry}")
            found.extend(_json(response, url).get("repositories") or [])
            url = _next_link(response, self.ref)
        return found

    # -- blobs --------------------------------------------------------------

    def blob_url(self, digest: str) -> str:
        return f"{self.ref.base_url}/blobs/{digest}"

    def has_blob(self, digest: str) -> bool:
        """Whether the repository holds the blob (HEAD; nothing is downloaded)."""
        response = self._request("HEAD", self.blob_url(digest))
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._fail(response, f"the blob {digest}")

    def get_small_blob(self, digest: str, *, limit: int = 4 << 20) -> bytes:
        """A small blob (a config) in memory, checked against its digest."""
        from polyhub import HashMismatchError

        url = self.blob_url(digest)
        with self._request("GET", url, stream=True) as response:
            if response.status_code != 200:
                raise self._fail(response, f"the blob {digest}")
            body = b"".join(_iter_limited(response, url, limit))
        actual = hashlib.sha256(body).hexdigest()
        if "sha256:" + actual != digest:
            raise HashMismatchError(url=url, expected=digest[7:], actual=actual)
        return body

    def download_blob(self, digest: str, out: BinaryIO) -> int:
        """Stream the blob ``digest`` into ``out``; return the number of bytes read.

        Nothing is hashed here: the core's cache hashes what lands in the
        file (one pass, not two), and nothing trusts the registry.

        :raises polyhub.ModelNotFoundError: the registry has no such blob.
        :raises polyhub.DownloadError: the registry failed or went away mid-way.
        """
        url = self.blob_url(digest)
        size = 0
        with self._request("GET", url, stream=True) as response:
            if response.status_code != 200:
                raise self._fail(response, f"the blob {digest}")
            for block in _iter_limited(response, url, None):
                out.write(block)
                size += len(block)
        return size

    def upload_blob(self, path: Path, digest: str, size: int) -> bool:
        """Upload ``path`` as ``digest`` unless the registry has it; True when bytes were sent.

        Streams the file (monolithic POST + PUT), so a large model never sits
        in memory.
        """
        if self.has_blob(digest):
            return False
        response = self._request(
            "POST", f"{self.ref.base_url}/blobs/uploads/", headers={"Content-Length": "0"}
        )
        if response.status_code not in (201, 202):
            raise self._fail(response, f"starting the upload of {digest}")
        location = response.headers.get("Location", "")
        if not location:
            raise DownloadError(
                f"the OCI registry {self.ref.registry} gave no upload location for {digest}",
                url=response.request.url,
            )
        if not location.startswith("http"):
            scheme = "http" if self.ref.plain_http else "https"
            location = f"{scheme}://{self.ref.registry}{location}"
        location += ("&" if "?" in location else "?") + f"digest={digest}"
        with open(path, "rb") as f:
            response = self._request(
                "PUT",
                location,
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                data=f,
            )
        if response.status_code not in (201, 202):
            raise self._fail(response, f"uploading the blob {digest} ({path})")
        return True


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "..."


def _registry_message(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or response.reason
    except ValueError:
        return response.reason or f"HTTP {response.status_code}"


def _json(response: requests.Response, url: str) -> dict[str, Any]:
    from polyhub import MetadataError

    try:
        data = response.json()
    except ValueError:
        raise MetadataError("not JSON", file=url) from None
    if not isinstance(data, dict):
        raise MetadataError("not a JSON object", file=url)
    return data


def _next_link(response: requests.Response, ref: Reference) -> str | None:
    link = response.links.get("next", {}).get("url")
    if not link:
        return None
    if link.startswith("/"):
        scheme = "http" if ref.plain_http else "https"
        link = f"{scheme}://{ref.registry}{link}"
    return str(link)


def _iter_limited(response: requests.Response, url: str, limit: int | None) -> Iterator[bytes]:
    total = 0
    try:
        for block in response.iter_content(chunk_size=_CHUNK):
            total += len(block)
            if limit is not None and total > limit:
                raise DownloadError(f"{url} is larger than {limit} bytes", url=url)
            yield block
    except requests.RequestException as exc:
        raise DownloadError(
            f"the OCI registry connection broke while reading {url} after {total} bytes: "
            f"{type(exc).__name__}: {_short(exc)}",
            url=url,
        ) from None


def dumps(obj: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces): equal inputs give equal digests."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()

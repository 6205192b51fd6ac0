"""OCI references: ``REGISTRY/REPO[:TAG][@sha256:DIGEST]``.

Three spellings name one: the address ``oci:REGISTRY/REPO:TAG`` (the core
splits ``@sha256:...`` off as the revision), the push target and registry tier
``oci://REGISTRY/REPO[:TAG]``, and a bare ``REGISTRY/REPO:TAG``. The registry
part is mandatory: polyhub never guesses Docker Hub.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from polyhub import AddressError

__all__ = ["Reference", "parse_reference"]

# Distribution's grammar for repository path components, lower case.
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class Reference:
    """A parsed OCI reference.

    :ivar registry: ``host[:port]``.
    :ivar repository: the repository path inside the registry (``models/resnet50``).
    :ivar tag: the tag, or ``None``.
    :ivar digest: ``sha256:<hex>`` of a manifest, or ``None``.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def ref(self) -> str:
        """What goes after ``/manifests/``: the digest when known, else the tag (``latest``)."""
        return self.digest or self.tag or "latest"

    @property
    def plain_http(self) -> bool:
        """Loopback registries and those named in ``POLYHUB_OCI_INSECURE`` speak plain HTTP."""
        host = (
            self.registry.rsplit(":", 1)[0]
            if not self.registry.startswith("[")
            else self.registry.split("]")[0] + "]"
        )
        insecure = {
            h.strip() for h in os.environ.get("POLYHUB_OCI_INSECURE", "").split(",") if h.strip()
        }
        return host in _LOOPBACK or self.registry in insecure or host in insecure

    @property
    def base_url(self) -> str:
        """``http[s]://registry/v2/repository``."""
        scheme = "http" if self.plain_http else "https"
        return f"{scheme}://{self.registry}/v2/{self.repository}"

    def with_tag(self, tag: str | None) -> Reference:
        return Reference(self.registry, self.repository, tag, None)

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.registry, self.repository, self.tag, digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str, *, digest: str | None = None) -> Reference:
    """Parse ``[oci://]REGISTRY/REPO[:TAG][@sha256:HEX]``; ``digest`` is a revision split off already.

    :raises polyhub.AddressError: no registry, a bad repository name, tag or digest.
    """
    raw = text
    if text.startswith("oci://"):
        text = text[len("oci://") :]
    elif text.startswith("oci:"):
        text = text[len("oci:") :]
    if "@" in text:
        text, _, found = text.partition("@")
        digest = digest or found
    registry, slash, rest = text.partition("/")
    if (
        not slash
        or not rest
        or ("." not in registry and ":" not in registry and registry != "localhost")
    ):
        raise AddressError(
            f"{raw!r} is not an OCI reference: expected REGISTRY/REPO[:TAG][@sha256:...] "
            "with a registry host (e.g. registry.example.com/models/resnet50:v1)"
        )
    tag = None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        rest, _, tag = rest.rpartition(":")
        if not _TAG.match(tag):
            raise AddressError(f"{raw!r}: {tag!r} is not a valid OCI tag")
    for part in rest.split("/"):
        if not _COMPONENT.match(part):
            raise AddressError(
                f"{raw!r}: repository component {part!r} is not valid "
                "(lower-case letters, digits and single '.', '_', '-' separators)"
            )
    if digest is not None:
        digest = digest.lower()
        if not _DIGEST.match(digest):
            raise AddressError(f"{raw!r}: {digest!r} is not a digest (sha256:<64 hex>)")
    return Reference(registry.lower(), rest, tag, digest)

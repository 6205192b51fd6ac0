"""Publishing checks for a ``hubconf.py`` repository (``polyhub validate PATH``).

Everything is read statically. A repository passes when ``hubconf.py``
parses, ``dependencies`` and ``weights_sha256`` are literals, every entrypoint
can be followed to its definition and has a docstring (``help`` shows it), and
every ``@pretrained`` URL is a literal https URL with a pinned sha256 (on the
URL as ``#sha256=``, as ``sha256=`` of polyhub's decorator, or in
``weights_sha256``), since upstream checks no hash at all.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from polyhub import MetadataError, ModelNotFoundError, Problem

from .hubconf import HUBCONF, Hubconf
from .weights import split_sha256

__all__ = ["validate"]


def validate(path: Path) -> list[Problem] | None:
    """The problems of the repository at ``path`` (or its ``hubconf.py``); ``None`` if not one."""
    path = Path(path)
    if path.is_file() and path.name == HUBCONF:
        path = path.parent
    if not (path / HUBCONF).is_file():
        return None
    file = str(path / HUBCONF)
    problems: list[Problem] = []
    try:
        conf = Hubconf(path)
        entries = conf.entries()
    except (MetadataError, ModelNotFoundError) as exc:
        return [
            Problem(
                file=file,
                field=getattr(exc, "field", None) or "hubconf",
                message=str(exc),
                line=getattr(exc, "line", None),
            )
        ]
    for name in ("dependencies", "weights_sha256"):
        try:
            getattr(conf, name)
        except MetadataError as exc:
            problems.append(Problem(file=file, field=name, message=str(exc), line=exc.line))
    try:
        pinned = conf.weights_sha256
    except MetadataError:
        pinned = {}
    if not entries:
        problems.append(
            Problem(file=file, field="entrypoints", message="hubconf.py exposes no callable")
        )
    for name, entry in entries.items():
        where = str(path / entry.file) if entry.file else file
        line = entry.line or None
        if entry.kind == "unknown":
            problems.append(
                Problem(
                    where,
                    f"entrypoint {name}",
                    "cannot be followed to a def or class statically",
                    line,
                )
            )
            continue
        if not (entry.doc or "").strip():
            problems.append(
                Problem(
                    where, f"entrypoint {name}", "has no docstring (polyhub help shows it)", line
                )
            )
        if entry.decorator is None:
            continue
        if entry.pretrained_url is None:
            problems.append(
                Problem(
                    where, f"entrypoint {name}", "the @pretrained URL is not a string literal", line
                )
            )
            continue
        try:
            url, fragment = split_sha256(entry.pretrained_url)
        except MetadataError as exc:
            problems.append(Problem(where, f"entrypoint {name}", str(exc), line))
            continue
        if urlsplit(url).scheme != "https":
            problems.append(
                Problem(where, f"entrypoint {name}", f"weights URL {url} is not https", line)
            )
        if not (
            fragment
            or entry.pretrained_sha256
            or pinned.get(url)
            or pinned.get(Path(urlsplit(url).path).name)
        ):
            problems.append(
                Problem(
                    where,
                    f"entrypoint {name}",
                    f"weights URL {url} has no sha256 (add #sha256=<hex>, sha256= or weights_sha256)",
                    line,
                )
            )
    return problems

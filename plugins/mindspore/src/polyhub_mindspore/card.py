"""Reading MindSpore Hub markdown cards into :class:`polyhub.ModelCard`.

A card is a markdown file whose YAML front matter sits between the first two
lines that are exactly ``---``. Real cards break strict YAML in a few known
ways (``shared/realdata/SOURCES.md``), each repaired here without moving a
line, so error messages keep pointing at the right line of the file:

* ``evaluation: -`` (a dash alone, which YAML reads as a misplaced sequence):
  read as "no value";
* ``accuracy: resnet50: 81.27`` (a colon inside a plain value): the value is
  kept as the text ``resnet50: 81.27``;
* ``mindspore-version: 1.10`` and ``update-time: 2022-03-30``: kept as text,
  because the loader below resolves neither floats nor timestamps (``1.10``
  would otherwise become the float ``1.1``);
* links in angle brackets (``<https://...>``): the brackets are dropped;
* CRLF line ends and a byte-order mark.

Cards come from the network, so reading one is bounded and total: nesting
deeper than :data:`MAX_DEPTH` and anchors/aliases (whose expansion grows
exponentially) are refused before anything is built (libyaml's composer
recurses in C and crashes the process on deep nesting), and a number too
long for ``int`` or a string holding a lone surrogate is a
:class:`~polyhub.MetadataError` naming the key. ``asset-sha256`` is read as
the literal text the author wrote: YAML would read 64 zeros as the integer 0
(and ``0`` is falsy), which used to switch verification off.

``*_cn.md`` cards (Chinese keys, full-width colons) are read through their
English twin, as upstream does; that is the hub module's business.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

import yaml
from polyhub import Address, Asset, CodeRef, MetadataError, ModelCard
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .names import CODE_KIND, CONF_FILE, CONF_FUNCTION
from .uid import Uid, check_filename, check_segment

__all__ = [
    "CODE_KIND",
    "FILE_FORMATS",
    "MAX_DEPTH",
    "RawCard",
    "build_card",
    "parse_repo_link",
    "read_card",
    "split_body",
]

FILE_FORMATS = ("air", "ckpt", "mindir", "mslite", "onnx")
TEXT_FIELDS = (
    "model-name",
    "backbone-name",
    "module-type",
    "model-version",
    "mindspore-version",
    "update-time",
    "train-dataset",
    "author",
    "user-id",
    "license",
    "summary",
    "used-for",
    "train-backend",
    "infer-backend",
)

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TextLoader(_Base):  # type: ignore[misc,valid-type]
    """SafeLoader that leaves floats and dates as the text the author wrote."""


_TextLoader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}

MAX_DEPTH = 32
"""Deepest nesting of lists and mappings a card may have (real cards: 3)."""
HASH_KEYS = ("asset-sha256", "asset_sha256")
_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"

_DASH_VALUE = re.compile(r"^([A-Za-z][\w\-]*)[ \t]*:[ \t]+-[ \t]*$")
_TOP_KEY = re.compile(r"^([A-Za-z][\w\-]*)[ \t]*:(?:[ \t]+(.*))?$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
# mindcv's cards publish the 8-digit sha256 prefix that also ends the file name.
_SHA256_PREFIX = re.compile(r"^[0-9a-fA-F]{8,63}$")


@dataclass(frozen=True)
class RawCard:
    """A card's front matter as read: the mapping, and the file line of each top-level key."""

    file: str
    metadata: dict[str, Any]
    lines: Mapping[str, int] = field(default_factory=dict)
    start_line: int = 1
    repaired: tuple[tuple[int, str], ...] = ()

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.start_line)


def _lines(text: str) -> list[str]:
    return text.lstrip("\ufeff").splitlines()


def _fence_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.rstrip() == "---"][:2]


def split_body(text: str) -> str:
    """The markdown after the front matter (the card's prose), or the whole text."""
    lines = _lines(text)
    fences = _fence_lines(lines)
    if len(fences) < 2:
        return text
    return "\n".join(lines[fences[1] + 1 :]).strip()


def _repair(line: str) -> tuple[str, str | None]:
    """Repair one top-level line of front matter; return it and what was done, if anything."""
    m = _DASH_VALUE.match(line)
    if m:
        return f"{m.group(1)}: null", "a lone '-' value read as empty"
    m = _TOP_KEY.match(line)
    if m and m.group(2):
        value = m.group(2).rstrip()
        if ": " in value and value[:1] not in "'\"[{|>&*!" and not value.startswith("<http"):
            quoted = "'" + value.replace("'", "''") + "'"
            return f"{m.group(1)}: {quoted}", "a value with ': ' read as text"
    return line, None


def _may_nest_deeper(text: str, limit: int) -> bool:
    """A cheap upper bound on the nesting depth of ``text`` exceeds ``limit``.

    Flow collections nest at most once per ``[``/``{``; block collections at
    most twice per column of indentation plus once per ``- ``, ``? `` or
    ``: `` on a line. Real cards stay far below, so the exact check (a pass
    over libyaml's events) runs only for suspicious text.
    """
    bound = text.count("[") + text.count("{")
    if bound > limit:
        return True
    block = 0
    for line in text.splitlines():
        body = line.lstrip(" ")
        tokens = body.count("- ") + body.count("? ") + body.count(": ") + 1
        block = max(block, 2 * (len(line) - len(body) + tokens))
    return bound + block > limit


def _check_shape(text: str, file: str, first: int) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` and anchors/aliases, before composing.

    libyaml's parser is a state machine (no recursion), so walking its events
    is safe whatever the input; composing a node tree is not.
    """
    if not _may_nest_deeper(text, MAX_DEPTH) and "&" not in text and "*" not in text:
        return
    depth = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise MetadataError(
                "uses a YAML anchor or alias ('&name'/'*name'), which a card does not need",
                file=file,
                line=first + event.start_mark.line + 1,
                field="front matter",
            )
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise MetadataError(
                    f"nests lists or mappings more than {MAX_DEPTH} deep",
                    file=file,
                    line=first + event.start_mark.line + 1,
                    field="front matter",
                )
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def _hashes_as_text(root: Node) -> None:
    """Make every ``asset-sha256`` scalar construct as the text written (not int/float/bool)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if (
                    isinstance(key, ScalarNode)
                    and key.value in HASH_KEYS
                    and isinstance(value, ScalarNode)
                    and value.tag != _NULL_TAG
                ):
                    value.tag = _STR_TAG
                stack.extend((key, value))
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)


def _unencodable(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _construct(text: str, file: str, first: int) -> Any:
    """The front matter's top-level value, built key by key so a failure names its key."""
    _check_shape(text, file, first)
    loader = _TextLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if not isinstance(node, MappingNode):
            try:
                return loader.construct_document(node)
            except (ValueError, TypeError, RecursionError) as exc:
                raise MetadataError(
                    f"cannot be read: {str(exc).splitlines()[0][:120]}",
                    file=file,
                    line=first + 1,
                    field="front matter",
                ) from None
        _hashes_as_text(node)
        loader.flatten_mapping(node)
        data: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = first + value_node.start_mark.line + 1
            try:
                key = loader.construct_object(key_node, deep=True)
            except (ValueError, TypeError, RecursionError) as exc:
                raise MetadataError(
                    f"a key cannot be read: {str(exc).splitlines()[0][:120]}",
                    file=file,
                    line=line,
                    field="front matter",
                ) from None
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise MetadataError(
                    f"a key must be plain text, not a {type(key).__name__}",
                    file=file,
                    line=line,
                    field="front matter",
                )
            name = str(key)
            try:
                value = loader.construct_object(value_node, deep=True)
            except (ValueError, TypeError, RecursionError, yaml.YAMLError) as exc:
                # int() of > 4,300 digits raises ValueError; a list as a mapping key TypeError.
                why = getattr(exc, "problem", None) or str(exc).splitlines()[0][:120]
                raise MetadataError(
                    f"cannot be read: {why}", file=file, line=line, field=name
                ) from None
            if _unencodable(value) or _unencodable(name):
                raise MetadataError(
                    "holds a lone surrogate (an escape such as \\ud800), which no text can",
                    file=file,
                    line=line,
                    field=name.encode("utf-8", "backslashreplace").decode("utf-8"),
                )
            data[name] = value
        return data
    finally:
        loader.dispose()


def read_card(text: str, file: str) -> RawCard:
    """Parse a card's front matter.

    :raises MetadataError: no front matter, YAML that cannot be repaired, or a
        front matter that is not a mapping; the message names file, line and field.
    """
    lines = _lines(text)
    fences = _fence_lines(lines)
    if len(fences) < 2:
        raise MetadataError(
            "no front matter: a card needs its YAML between two lines that are exactly '---'",
            file=file,
            line=(fences[0] + 1) if fences else 1,
            field="front matter",
        )
    first = fences[0] + 1  # index of the first front-matter line
    body = lines[first : fences[1]]
    repaired: list[tuple[int, str]] = []
    key_lines: dict[str, int] = {}
    fixed: list[str] = []
    for offset, line in enumerate(body):
        new, why = _repair(line)
        if why is not None:
            repaired.append((first + offset + 1, why))
        m = _TOP_KEY.match(new)
        if m and m.group(1) not in key_lines:
            key_lines[m.group(1)] = first + offset + 1
        fixed.append(new)
    try:
        data = _construct("\n".join(fixed), file, first)
    except yaml.YAMLError as exc:
        # An unclosed construct is noticed lines later; where it opened is the useful line.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line_no = first + mark.line + 1 if mark is not None else first
        key = _key_at(fixed, None if mark is None else mark.line)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise MetadataError(
            f"the front matter is not valid YAML: {problem}",
            file=file,
            line=line_no,
            field=key or "front matter",
        ) from None
    if not isinstance(data, dict):
        raise MetadataError(
            f"the front matter is a {type(data).__name__}, not a mapping of 'key: value' lines",
            file=file,
            line=first + 1,
            field="front matter",
        )
    return RawCard(
        file=file,
        metadata={str(k): v for k, v in data.items()},
        lines=key_lines,
        start_line=first + 1,
        repaired=tuple(repaired),
    )


def _key_at(lines: list[str], index: int | None) -> str | None:
    """The top-level key whose value spans line ``index`` (0-based)."""
    if index is None:
        return None
    for i in range(min(index, len(lines) - 1), -1, -1):
        m = _TOP_KEY.match(lines[i])
        if m:
            return m.group(1)
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return unbracket(str(value).strip()) or None


def unbracket(value: str) -> str:
    """``<https://x>`` -> ``https://x`` (cards write links in angle brackets)."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        return value[1:-1].strip()
    return value


def _split_list(value: str | None) -> list[str]:
    if not value:
        return []
    return [p for p in re.split(r"[\s,/]+", value.lower()) if p]


def _split(url: str, file: str, line: int, field_name: str) -> SplitResult:
    """``urlsplit`` that answers a malformed URL (``https://[x``) with a MetadataError."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError as exc:
        raise MetadataError(
            f"{url[:200]!r} is not a usable URL: {exc}", file=file, line=line, field=field_name
        ) from None
    return parts


def parse_repo_link(link: str, *, file: str, line: int) -> CodeRef:
    """Turn a ``repo-link`` into a :class:`CodeRef`, as upstream's ``get_repo_info_from_url``.

    ``https://host/group/repo`` is the whole repository;
    ``https://host/group/repo/tree/<branch>/<path>`` (or ``blob``) a branch and a
    sub-folder. ``file://`` and plain local paths work the same way (tests, mirrors).

    :raises MetadataError: not a link polyhub can check out, or an unsafe sub-folder.
    """
    url = unbracket(link)
    parts = _split(url, file, line, "repo-link")
    if parts.scheme not in ("http", "https", "file", "ssh", "git") and not url.startswith("/"):
        raise MetadataError(
            f"{url!r} is not a repository link (https://host/group/repo[/tree/branch/path])",
            file=file,
            line=line,
            field="repo-link",
        )
    path = parts.path if parts.scheme else url
    segments = path.split("/")
    revision: str | None = None
    subdir = ""
    for i, seg in enumerate(segments):
        if seg in ("tree", "blob") and i >= 2 and i + 1 < len(segments):
            revision = segments[i + 1] or None
            sub = [s for s in segments[i + 2 :] if s]
            try:
                subdir = "/".join(check_segment(s, "repo-link folder") for s in sub)
            except Exception as exc:
                raise MetadataError(str(exc), file=file, line=line, field="repo-link") from None
            path = "/".join(segments[:i])
            break
    path = path.rstrip("/")
    if parts.scheme in ("http", "https"):
        repo_path = path.strip("/")
        if repo_path.count("/") < 1:
            raise MetadataError(
                f"{url!r} names no repository (expected https://host/group/repo)",
                file=file,
                line=line,
                field="repo-link",
            )
        git_path = repo_path if repo_path.endswith(".git") else repo_path + ".git"
        git_url = f"{parts.scheme}://{parts.netloc}/{git_path}"
    elif parts.scheme:
        git_url = f"{parts.scheme}://{parts.netloc}{path}"
    else:
        git_url = "file://" + path
    from polyhub import repo_id_from_url  # here: the core's git module is heavy to import

    try:
        repo_id = repo_id_from_url(git_url)
    except ValueError as exc:  # urllib: a port out of range, a broken IPv6 literal
        raise MetadataError(
            f"{url[:200]!r} is not a usable URL: {exc}", file=file, line=line, field="repo-link"
        ) from None
    return CodeRef(url=git_url, revision=revision, subdir=subdir, kind=CODE_KIND, repo_id=repo_id)


def _asset(entry: Any, index: int, raw: RawCard) -> Asset:
    where = f"asset[{index}]"
    line = raw.line_of("asset")
    if not isinstance(entry, dict):
        raise MetadataError(
            "each asset is a mapping of file-format, asset-link and asset-sha256, "
            f"not {repr(entry)[:80]}",
            file=raw.file,
            line=line,
            field=where,
        )
    link = _text(entry.get("asset-link"))
    if not link:
        raise MetadataError(
            "the asset has no asset-link", file=raw.file, line=line, field=f"{where}.asset-link"
        )
    parts = _split(link, raw.file, line, f"{where}.asset-link")
    if parts.scheme not in ("http", "https", "file"):
        raise MetadataError(
            f"asset-link {link!r} is not an http(s) or file URL",
            file=raw.file,
            line=line,
            field=f"{where}.asset-link",
        )
    basename = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    try:
        check_filename(basename, "asset file name")
    except Exception as exc:
        raise MetadataError(
            str(exc), file=raw.file, line=line, field=f"{where}.asset-link"
        ) from None
    fmt = (_text(entry.get("file-format")) or "").lower().lstrip(".") or None
    if fmt is not None and fmt not in FILE_FORMATS:
        raise MetadataError(
            f"file-format {fmt!r} is not one of {', '.join(FILE_FORMATS)}",
            file=raw.file,
            line=line,
            field=f"{where}.file-format",
        )
    # The template spells it asset_sha256; a hash is a hash, so it is honoured (validate flags it).
    # A hash that is present must be usable: an unusable one never means "no check".
    key = next((k for k in HASH_KEYS if entry.get(k) is not None), HASH_KEYS[0])
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise MetadataError(
            f"{key} must be the hexadecimal text of a sha256, not a {type(value).__name__}",
            file=raw.file,
            line=line,
            field=f"{where}.{key}",
        )
    sha = _text(value)
    prefix = None
    if sha is not None and _SHA256_PREFIX.match(sha):
        # Not a full digest: the core checks the downloaded bytes' sha256 against it.
        sha, prefix = None, sha
    if sha is not None and not _SHA256.match(sha):
        raise MetadataError(
            f"asset-sha256 {sha[:80]!r} is not 64 hexadecimal digits",
            file=raw.file,
            line=line,
            field=f"{where}.asset-sha256",
        )
    try:
        return Asset(
            url=link, sha256=sha, format=fmt, name=basename, role="model", sha256_prefix=prefix
        )
    except MetadataError as exc:  # the values' own checks, named in the card
        raise MetadataError(str(exc), file=raw.file, line=line, field=f"{where}.{key}") from None


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a YAML value (brackets dropped from links)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return unbracket(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def build_card(
    raw: RawCard, uid: Uid, address: Address, *, twin_of: str | None = None
) -> ModelCard:
    """Build the :class:`ModelCard` of ``raw``, the card of ``uid``.

    :param twin_of: for a ``_cn`` card read through its English twin, the ``_cn`` file.
    :raises MetadataError: a field the card cannot do without is missing or malformed.
    """
    meta = raw.metadata
    name = _text(meta.get("model-name"))
    if not name:
        raise MetadataError(
            "the card has no model-name", file=raw.file, line=raw.start_line, field="model-name"
        )
    assets_value = meta.get("asset")
    if assets_value is None:
        entries: list[Any] = []
    elif isinstance(assets_value, list):
        entries = assets_value
    elif isinstance(assets_value, dict):
        entries = [assets_value]
    else:
        raise MetadataError(
            f"asset is a {type(assets_value).__name__}, not a list of assets",
            file=raw.file,
            line=raw.line_of("asset"),
            field="asset",
        )
    assets = tuple(_asset(e, i, raw) for i, e in enumerate(entries))
    code = None
    link = _text(meta.get("repo-link"))
    if link:
        ref = parse_repo_link(link, file=raw.file, line=raw.line_of("repo-link"))
        code = CodeRef(
            url=ref.url,
            revision=ref.revision,
            subdir=ref.subdir,
            entry=name.lower(),
            kind=CODE_KIND,
            repo_id=ref.repo_id,
            file=CONF_FILE,
            function=CONF_FUNCTION,
        )
    metadata = {k: _plain(v) for k, v in meta.items()}
    for key in TEXT_FIELDS:
        if key in meta:
            metadata[key] = _text(meta[key])
    module_type = metadata.get("module-type") or ""
    main_type, _, detail = module_type.partition("-")
    backends = [uid.backend] if uid.backend else []
    for key in ("train-backend", "infer-backend"):
        backends += [b for b in _split_list(metadata.get(key)) if b not in backends]
    metadata["uid"] = str(uid)
    metadata["backends"] = backends
    metadata["module-type-main"] = main_type.lower()
    metadata["module-type-detail"] = detail.lower()
    if twin_of is not None:
        metadata["read-through"] = raw.file
    dataset = metadata.get("train-dataset")
    tags = [main_type.lower(), module_type.lower(), *(backends)]
    tags += [str(t).lower() for t in (metadata.get("used-for"), dataset) if t]
    tags += [a.format for a in assets if a.format]
    return ModelCard(
        address=address,
        name=uid.name,
        source="mindspore",
        version=metadata.get("model-version"),
        dataset=dataset,
        summary=metadata.get("summary") or "",
        tags=tuple(dict.fromkeys(t for t in tags if t)),
        assets=assets,
        code=code,
        framework="mindspore",
        publisher=uid.publisher,
        license=metadata.get("license"),
        file=twin_of or raw.file,
        metadata=metadata,
    )

"""Publishing checks for MindSpore Hub cards (``polyhub validate PATH``).

The checks of upstream's ``mshub_res/tools/md_validator.py`` (required
fields, allowed values, asset fields, where the file sits), with its bugs
fixed: ``mindir`` is an accepted format, the backend values are really
checked, and the template's ``asset_sha256`` is reported as a misspelling of
``asset-sha256`` instead of as a missing field. Every problem is reported,
not only the first, each with its file, line and field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from polyhub import MetadataError, Problem

from .card import FILE_FORMATS, RawCard, read_card, unbracket
from .uid import BACKENDS

__all__ = ["is_mindspore_card", "validate_path"]

REQUIRED = (
    "model-name",
    "backbone-name",
    "module-type",
    "fine-tunable",
    "model-version",
    "author",
    "update-time",
    "repo-link",
    "user-id",
    "used-for",
    "mindspore-version",
    "license",
    "summary",
)
BOOLEANS = ("fine-tunable", "allow-cache-ckpt")
USED_FOR = ("inference", "extract-feature", "transfer-learning")
MODULE_TYPES = (
    "gnn",
    "rl",
    "audio",
    "cv",
    "cvtmodel",
    "nlp",
    "recommend",
    "cross",
    "hpc",
    "mm",
    "other",
)
# Upstream allows ':' only in these values (links and structured fields).
COLON_OK = ("repo-link", "asset", "evaluation", "featured-image", "accuracy")
ASSET_FIELDS = ("file-format", "asset-link", "asset-sha256")
_KNOWN_KEYS = ("model-name", "backbone-name", "repo-link", "mindspore-version", "asset")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def is_mindspore_card(path: Path) -> bool:
    """A markdown file whose front matter has MindSpore Hub keys (or a ``_cn`` card)."""
    if path.suffix != ".md" or not path.is_file():
        return False
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:8192]
    except OSError:
        return False
    if "---" not in head:
        return False
    return any(re.search(rf"^{k}\s*:", head, re.M) for k in _KNOWN_KEYS) or (
        path.stem.endswith("_cn") and path.with_name(path.stem[:-3] + ".md").is_file()
    )


def _cards_in(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(
        p
        for p in path.rglob("*.md")
        if not p.name.lower().startswith("readme")
        and not any(s.startswith(".") for s in p.relative_to(path).parts)
    )


def validate_path(path: Path) -> list[Problem] | None:
    """Problems of the card at ``path`` or of every card under it; ``None`` when none is a MindSpore card."""
    files = [p for p in _cards_in(path) if is_mindspore_card(p)]
    if not files:
        return None
    problems: list[Problem] = []
    for file in files:
        problems += validate_file(file)
    return problems


def validate_file(path: Path) -> list[Problem]:
    """Every problem of one card (an ``_cn`` card is checked through its English twin)."""
    file = str(path)
    if path.stem.endswith("_cn"):
        twin = path.with_name(path.stem[: -len("_cn")] + ".md")
        if not twin.is_file():
            return [
                Problem(
                    file,
                    "file name",
                    f"a _cn card is read through its English twin {twin.name}, which is missing",
                    1,
                )
            ]
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    problems = _location(path) + _misspellings(text, file)
    try:
        raw = read_card(text, file)
    except MetadataError as exc:
        return [*problems, Problem(file, exc.field or "front matter", _message(exc), exc.line)]
    for line, why in raw.repaired:
        if "lone '-'" in why:
            continue  # upstream reads 'evaluation: -' itself
        problems.append(
            Problem(
                file,
                _key_on(raw, line),
                f"not valid YAML as written ({why}); upstream rejects it",
                line,
            )
        )
    problems += _fields(raw)
    problems += _assets(raw)
    problems += _version_folder(path, raw)
    return problems


def _message(exc: MetadataError) -> str:
    text = str(exc)
    prefix = f"field {exc.field!r}: "
    return text.split(prefix, 1)[-1] if prefix in text else text


def _key_on(raw: RawCard, line: int) -> str:
    for key, at in raw.lines.items():
        if at == line:
            return key
    return "front matter"


def _location(path: Path) -> list[Problem]:
    parts = path.resolve().parts
    if "assets" not in parts:
        return [
            Problem(
                str(path),
                "location",
                "a card lives under mshub_res/assets/<publisher>/[<backend>/]<mindspore-version>/",
                None,
            )
        ]
    rel = parts[len(parts) - parts[::-1].index("assets") :]
    if len(rel) == 4:
        if rel[1].lower() not in BACKENDS:
            return [
                Problem(
                    str(path),
                    "location",
                    f"the backend folder {rel[1]!r} is not one of {', '.join(BACKENDS)}",
                    None,
                )
            ]
        return []
    if len(rel) == 3:
        return []
    return [
        Problem(
            str(path),
            "location",
            f"{'/'.join(rel)} is not <publisher>/[<backend>/]<version>/<name>.md under assets/",
            None,
        )
    ]


def _version_folder(path: Path, raw: RawCard) -> list[Problem]:
    version = raw.metadata.get("mindspore-version")
    folder = path.parent.name
    if version is None or "assets" not in path.resolve().parts:
        return []
    if str(version).strip() != folder:
        return [
            Problem(
                str(path),
                "mindspore-version",
                f"{version!s} does not match the version folder {folder!r} the card sits in",
                raw.line_of("mindspore-version"),
            )
        ]
    return []


def _fields(raw: RawCard) -> list[Problem]:
    meta, file = raw.metadata, raw.file
    out: list[Problem] = []
    for key in REQUIRED:
        value = meta.get(key)
        if key not in meta or value is None or (isinstance(value, str) and not value.strip()):
            out.append(Problem(file, key, "required, and missing or empty", raw.line_of(key)))
    for key in BOOLEANS:
        if key in meta and not isinstance(meta[key], bool):
            out.append(
                Problem(file, key, f"must be True or False, not {meta[key]!r}", raw.line_of(key))
            )
    if "accuracy" in meta and meta["accuracy"] is not None:
        try:
            float(str(meta["accuracy"]))
        except ValueError:
            out.append(
                Problem(
                    file,
                    "accuracy",
                    f"must be a number, not {meta['accuracy']!r}",
                    raw.line_of("accuracy"),
                )
            )
    module_type = str(meta.get("module-type") or "")
    if module_type and module_type.partition("-")[0].lower() not in MODULE_TYPES:
        out.append(
            Problem(
                file,
                "module-type",
                f"{module_type!r} does not start with one of {', '.join(MODULE_TYPES)}",
                raw.line_of("module-type"),
            )
        )
    used_for = meta.get("used-for")
    if used_for is not None and str(used_for).strip().lower() not in USED_FOR:
        out.append(
            Problem(
                file,
                "used-for",
                f"{used_for!r} is not one of {', '.join(USED_FOR)}",
                raw.line_of("used-for"),
            )
        )
    for key in ("train-backend", "infer-backend"):
        value = meta.get(key)
        if value is None:
            continue
        bad = [b for b in re.split(r"[\s,/]+", str(value).lower()) if b and b not in BACKENDS]
        if bad:
            out.append(
                Problem(
                    file,
                    key,
                    f"{', '.join(bad)} is not one of {', '.join(BACKENDS)}",
                    raw.line_of(key),
                )
            )
    link = meta.get("repo-link")
    if (
        isinstance(link, str)
        and link.strip()
        and not unbracket(link).startswith(("https://", "http://"))
    ):
        out.append(
            Problem(file, "repo-link", f"{link!r} is not an http(s) link", raw.line_of("repo-link"))
        )
    for key, value in meta.items():
        if key in COLON_OK or not isinstance(value, str):
            continue
        text = unbracket(value)
        if ":" in text and not text.startswith(("http://", "https://")):
            out.append(Problem(file, key, "':' is not allowed in this value", raw.line_of(key)))
    return out


_MISSPELT = re.compile(r"^\s*(?:-\s*)?(asset_sha256)\s*:")


def _misspellings(text: str, file: str) -> list[Problem]:
    """``asset_sha256`` (upstream's template) wherever it is, even when the YAML is broken."""
    return [
        Problem(file, "asset_sha256", "misspelt: the field is asset-sha256 (with a hyphen)", i)
        for i, line in enumerate(text.lstrip("\ufeff").splitlines(), 1)
        if _MISSPELT.match(line)
    ]


def _assets(raw: RawCard) -> list[Problem]:
    file, line = raw.file, raw.line_of("asset")
    value: Any = raw.metadata.get("asset")
    if value is None:
        return []
    if not isinstance(value, list):
        return [
            Problem(
                file, "asset", "must be a list of {file-format, asset-link, asset-sha256}", line
            )
        ]
    out: list[Problem] = []
    for i, entry in enumerate(value):
        where = f"asset[{i}]"
        if not isinstance(entry, dict):
            out.append(
                Problem(
                    file,
                    where,
                    "must be a mapping of file-format, asset-link and asset-sha256",
                    line,
                )
            )
            continue
        for key in ASSET_FIELDS:
            if key == "asset-sha256" and "asset_sha256" in entry:
                continue
            if entry.get(key) in (None, ""):
                out.append(Problem(file, f"{where}.{key}", "required, and missing or empty", line))
        fmt = str(entry.get("file-format") or "").strip().lower()
        if fmt and fmt not in FILE_FORMATS:
            out.append(
                Problem(
                    file,
                    f"{where}.file-format",
                    f"{fmt!r} is not one of {', '.join(FILE_FORMATS)}",
                    line,
                )
            )
        sha = entry.get("asset-sha256") or entry.get("asset_sha256")
        if sha not in (None, "") and not _SHA256.match(str(sha).strip()):
            out.append(
                Problem(
                    file,
                    f"{where}.asset-sha256",
                    f"{sha!r} is not a sha256 (64 hexadecimal digits)",
                    line,
                )
            )
        link = unbracket(str(entry.get("asset-link") or ""))
        if link and not link.startswith(("https://", "http://")):
            out.append(
                Problem(file, f"{where}.asset-link", f"{link!r} is not an http(s) link", line)
            )
    return out

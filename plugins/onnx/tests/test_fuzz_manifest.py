"""Fuzzing the manifest parser with mutations of the REAL ONNX Model Hub manifest.

Seeded and bounded (300 cases, a few seconds): every case ends in a usable
manifest or a PolyhubError, never another exception, and what parses can be
listed, selected, turned into cards and printed.
"""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import pytest
from polyhub import PolyhubError
from polyhub_onnx.hubs import parse_hub
from polyhub_onnx.manifest import parse_manifest
from polyhub_onnx.source import card_for, select_entry

REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata" / "onnx-hub"
CASES = 300

# Hostile fragments inserted as JSON text (so numbers are written as digits, escapes as escapes).
TOKENS = [
    "9" * 5000,
    "-" + "1" * 4400,
    "1e999",
    "NaN",
    "-Infinity",
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"../../etc/passwd"',
    '"/abs/x.onnx"',
    '"C:\\\\x"',
    '"%2e%2e/x"',
    '"a\\u0000b"',
    "[" * 3000,
    "]" * 50,
    "{" * 50,
    "null",
    "true",
    '""',
    "[]",
    "{}",
    '"' + "x" * 10_000 + '"',
    ",",
    ":",
    '"model"',
    '"\\u202e"',
]
VALUES: list[object] = [
    None,
    True,
    0,
    -1,
    2**63,
    1.5,
    "",
    "..",
    "../x",
    "\ud800",
    [],
    {},
    [[[[]]]],
    {"a": {"b": {}}},
    "0" * 64,
    "z" * 64,
    "x" * 5000,
]


def _structured(rng: random.Random, entries: list[dict]) -> str:
    entries = json.loads(json.dumps(entries))
    for _ in range(rng.randint(1, 3)):
        entry = rng.choice(entries)
        target = (
            entry
            if rng.random() < 0.5 or not isinstance(entry.get("metadata"), dict)
            else entry["metadata"]
        )
        key = rng.choice([*target.keys(), "extra", "io_ports", "model_with_data_path"])
        if rng.random() < 0.15:
            target.pop(key, None)
        else:
            target[key] = rng.choice(VALUES)
    return json.dumps(entries)


def _textual(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(text) + 1)
        roll = rng.random()
        if roll < 0.4:
            text = text[:at] + rng.choice(TOKENS) + text[at:]
        elif roll < 0.6:
            text = text[:at] + text[at + rng.randint(1, 200) :]
        elif roll < 0.8:
            end = min(len(text), at + rng.randint(1, 300))
            text = text[:end] + text[at:end] + text[end:]
        else:
            text = text[:at]
    return text


def mutants(seed: int = 20261130) -> list[str]:
    original = (REAL / "ONNX_HUB_MANIFEST.json").read_text(encoding="utf-8")
    entries = json.loads(original)
    rng = random.Random(seed)
    out = []
    for _ in range(CASES):
        # A window of entries keeps each case small; the real file's shape is kept.
        start = rng.randrange(len(entries) - 8)
        window = entries[start : start + 8]
        text = json.dumps(window, indent=4)
        out.append(_structured(rng, window) if rng.random() < 0.5 else _textual(rng, text))
    return out


def test_every_mutant_of_the_real_manifest_parses_or_is_a_polyhub_error() -> None:
    if not (REAL / "ONNX_HUB_MANIFEST.json").is_file():
        pytest.skip(f"the real ONNX manifest is not here ({REAL}); it lives in shared/realdata")
    hub = parse_hub("onnx/models")
    outcomes = {"parsed": 0, "refused": 0, "broken entries": 0}
    for case, text in enumerate(mutants()):
        try:
            manifest = parse_manifest(text.encode("utf-8", "surrogatepass"), "m.json")
        except PolyhubError as exc:
            str(exc).encode("utf-8")
            outcomes["refused"] += 1
            continue
        except Exception as exc:  # pragma: no cover - the failure being hunted
            pytest.fail(f"case {case}: {type(exc).__name__}: {exc}\n{text[:300]!r}")
        outcomes["parsed"] += 1
        broken_entries = getattr(manifest, "broken", ())  # absent before per-entry isolation
        outcomes["broken entries"] += len(broken_entries)
        for broken in broken_entries:
            str(broken.error).encode("utf-8")
        names = {e.model for e in manifest.entries} | {b.model for b in broken_entries if b.model}
        for name in sorted(names):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    entry = select_entry(manifest, name, None, hub)
                card = card_for(entry, hub, manifest, hub_in_address=False)
                (str(card.address) + card.name + card.summary + repr(card)).encode("utf-8")
            except PolyhubError as exc:
                str(exc).encode("utf-8")
            except Exception as exc:  # pragma: no cover
                pytest.fail(f"case {case}, model {name!r}: {type(exc).__name__}: {exc}")
    # The mutator must reach all three outcomes, or it tests nothing.
    assert all(outcomes.values()), outcomes

"""Fuzzing the card reader with mutations of REAL MindSpore Hub cards.

Seeded and bounded (300 cases, a few seconds): every case ends in a card or
a PolyhubError, never another exception (nor a crash of the process), and a
card that builds can be printed and stored in the index as JSON.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from polyhub import Address, PolyhubError
from polyhub_mindspore.card import build_card, read_card
from polyhub_mindspore.uid import parse_uid

REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "realdata" / "mindspore-hub"
CASES = 300

TOKENS = [
    "9" * 5000,
    "0" * 64,
    "1e" + "5" * 62,
    "0x" + "f" * 62,
    '"\\ud800"',
    "'\\ud800'",
    "[" * 3000,
    "{" * 500,
    "- " * 500,
    "\n" + "".join(" " * i + "-\n" for i in range(120)),
    "&a [x, x]",
    "*a",
    "!!python/object/apply:os.system ['true']",
    "!!binary aGVsbG8=",
    "? [a, b]\n: c",
    "---",
    "\t",
    ": ",
    "<https://example.org/../../x.ckpt>",
    "asset-link: file:///etc/passwd",
    "asset-sha256: ",
    "asset-sha256: [1, 2]",
    "\x00",
    "\u202e",
    "%2e%2e%2f",
    "x" * 20_000,
]


def _mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(text) + 1)
        roll = rng.random()
        if roll < 0.3:
            # Replace the value of one "key: value" line, where YAML types it.
            lines = text.splitlines()
            keyed = [i for i, line in enumerate(lines) if re.match(r"^\s*-?\s*[\w-]+:", line)]
            if keyed:
                i = rng.choice(keyed)
                lines[i] = lines[i].split(":", 1)[0] + ": " + rng.choice(TOKENS)
            text = "\n".join(lines)
        elif roll < 0.6:
            text = text[:at] + rng.choice(TOKENS) + text[at:]
        elif roll < 0.7:
            text = text[:at] + text[at + rng.randint(1, 120) :]
        elif roll < 0.9:
            end = min(len(text), at + rng.randint(1, 200))
            text = text[:end] + text[at:end] + text[end:]
        else:
            lines = text.splitlines()
            if len(lines) > 2:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


def test_every_mutant_of_real_cards_builds_or_is_a_polyhub_error() -> None:
    assets = REAL / "assets"
    if not assets.is_dir():
        pytest.skip(f"the real MindSpore Hub cards are not here ({assets}); see shared/realdata")
    files = sorted(assets.rglob("*.md"))
    rng = random.Random(20261130)
    uid = parse_uid("mindspore/2.5/fuzzed")
    outcomes = {"built": 0, "refused": 0}
    for case in range(CASES):
        source = rng.choice(files)
        text = _mutate(rng, source.read_text(encoding="utf-8", errors="replace"))
        try:
            card = build_card(read_card(text, "fuzz.md"), uid, Address("mindspore", str(uid)))
            # What listing and the index do with a card: print it, store it as JSON.
            (repr(card) + str(card.address) + card.summary).encode("utf-8")
            json.dumps(dict(card.metadata))
            outcomes["built"] += 1
        except PolyhubError as exc:
            str(exc).encode("utf-8")
            outcomes["refused"] += 1
        except Exception as exc:  # pragma: no cover - the failure being hunted
            pytest.fail(f"case {case} ({source.name}): {type(exc).__name__}: {exc}\n{text[:400]!r}")
    assert all(outcomes.values()), outcomes

"""The docs keep up with the code: scenarios cited by the suites, hook signatures in the guide."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import polyhub.hookspecs

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "conformance" / "src" / "polyhub_conformance"


def test_every_cited_scenario_is_documented() -> None:
    cited = set()
    for path in [*KIT.glob("suites/*.py"), KIT / "assertions.py"]:
        cited |= set(re.findall(r"\bS(\d+)[:a-z ]", path.read_text()))
    documented = set(re.findall(r"\*\*S(\d+)\*\*", (ROOT / "docs" / "conformance.md").read_text()))
    assert cited, "no scenario citations found in the suites"
    assert cited <= documented, (
        f"cited but not in docs/conformance.md: {sorted(cited - documented, key=int)}"
    )


def test_every_hook_has_a_section_headed_by_its_exact_signature() -> None:
    guide = (ROOT / "docs" / "plugins.md").read_text()
    for name, fn in inspect.getmembers(polyhub.hookspecs, inspect.isfunction):
        if not name.startswith("polyhub_"):
            continue
        ann = fn.__annotations__
        params = ", ".join(f"{p}: {ann[p]}" for p in inspect.signature(fn).parameters)
        heading = f"### `{name}({params}) -> {ann['return']}`"
        assert heading in guide, f"docs/plugins.md lacks the section {heading}"

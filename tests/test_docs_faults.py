"""The faults table of docs/architecture.md names tests that exist, so it cannot drift from them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_the_faults_table_names_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text[text.index("## Faults covered") :]
    current: Path | None = None
    named = 0
    missing = []
    for line in table.splitlines():
        if not line.startswith("|"):
            continue
        # The last cell holds `path.py::test_name` or, for the same file as before, `::test_name`.
        for ref in re.findall(r"`([^`]+)`", line.split("|")[-2]):
            match = re.fullmatch(r"(\S+\.py)?(?:::(\w+))?", ref)
            if match is None or not any(match.groups()):
                continue
            if match.group(1):
                current = ROOT / match.group(1)
            assert current is not None and current.is_file(), f"{ref}: no such test file"
            if match.group(2):
                named += 1
                if not re.search(rf"^def {match.group(2)}\b", current.read_text(), re.M):
                    missing.append(f"{current.relative_to(ROOT)}::{match.group(2)}")
    assert named > 30
    assert not missing, missing

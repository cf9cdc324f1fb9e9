"""The documentation stays in sync with the code it describes."""

from __future__ import annotations

import re
from pathlib import Path

from unitune.cli import capability_matrix

ROOT = Path(__file__).resolve().parents[2]


def test_capability_matrix_in_the_docs_is_the_generated_one():
    text = (ROOT / "docs" / "backends.md").read_text()
    match = re.search(r"<!-- capability-matrix:start -->\n(.*?)\n<!-- capability-matrix:end -->", text, re.S)
    assert match, "docs/backends.md lost its capability-matrix markers"
    assert match.group(1).strip() == capability_matrix().strip(), (
        "regenerate the table with: uv run python -m unitune.cli backends --markdown"
    )

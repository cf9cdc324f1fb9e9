"""Small helpers for driving a backend by hand through protocol v2 in tests."""

from __future__ import annotations

from typing import Any

from unitune.backend import Backend


def ask_params(backend: Backend, n: int, start: int = 0) -> list[dict[str, Any]]:
    """Ask for trials ``start .. start+n-1``; check each proposal carries its number; return params."""
    numbers = list(range(start, start + n))
    proposals = backend.ask(numbers)
    assert [p.number for p in proposals] == numbers[: len(proposals)]
    return [p.params for p in proposals]

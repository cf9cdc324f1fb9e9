"""The worked example backend in docs/backends.md, exactly as printed, passes the conformance suite.

The code block between the ``example-backend`` markers is extracted, executed, and its class run
through every check ``unitune.testing`` selects for it, so the page cannot rot.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from unitune.kit import KitBackend
from unitune.testing import backend_checks

DOC = Path(__file__).resolve().parents[2] / "docs" / "backends.md"
_BLOCK = re.compile(
    r"<!-- example-backend:start -->\n```python\n(.*?)```\n<!-- example-backend:end -->", re.S
)


def _example_code() -> str:
    match = _BLOCK.search(DOC.read_text())
    assert match, "docs/backends.md lost its example-backend markers"
    return match.group(1)


def _example_backend() -> type:
    namespace: dict = {}
    exec(compile(_example_code(), str(DOC), "exec"), namespace)
    return namespace["Greedy"]


GREEDY = _example_backend()


@pytest.mark.parametrize("check", backend_checks(GREEDY), ids=lambda c: c.__name__)
def test_the_worked_example_passes_the_suite(check):
    check(GREEDY)


def test_the_worked_example_is_short_and_built_on_the_kit():
    lines = [line for line in _example_code().splitlines() if line.strip()]
    assert len(lines) <= 24, f"the worked example grew to {len(lines)} lines of code"
    assert issubclass(GREEDY, KitBackend)
    text = DOC.read_text()
    assert f"in {len(lines)} lines of code" in text, "the page's line count is out of date"


def test_the_worked_example_learns_and_takes_options():
    import unitune
    from unitune import Categorical, Float

    space = {"k": Categorical(list("abcdefgh")), "x": Float(0.0, 1.0)}
    study = unitune.optimize(
        lambda p: float(p["k"] != "c") + p["x"],
        space,
        backend=GREEDY,
        n_trials=60,
        seed=0,
        backend_options={"keep": 0.9},
    )
    assert study.backend.options == {"keep": 0.9}
    assert [t.params["k"] for t in study.trials[-20:]].count("c") >= 10

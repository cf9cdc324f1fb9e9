"""The worked example backend in docs/backends.md passes the conformance suite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from unitune.testing import backend_checks

DOC = Path(__file__).resolve().parents[2] / "docs" / "backends.md"


def _example_backend() -> type:
    text = DOC.read_text()
    match = re.search(r"<!-- example-backend:start -->\n```python\n(.*?)```\n<!-- example-backend:end -->",
                      text, re.S)
    assert match, "docs/backends.md lost its example-backend markers"
    namespace: dict = {}
    exec(compile(match.group(1), str(DOC), "exec"), namespace)
    return namespace["Greedy"]


GREEDY = _example_backend()


@pytest.mark.parametrize("check", backend_checks(GREEDY), ids=lambda c: c.__name__)
def test_the_worked_example_passes_the_suite(check):
    check(GREEDY)


def test_the_worked_example_learns_and_takes_options():
    import unitune
    from unitune import Categorical, Float

    space = {"k": Categorical(list("abcdefgh")), "x": Float(0.0, 1.0)}
    study = unitune.optimize(lambda p: float(p["k"] != "c") + p["x"], space, backend=GREEDY,
                             n_trials=60, seed=0, backend_options={"keep": 0.9})
    assert study.backend.options == {"keep": 0.9}
    assert [t.params["k"] for t in study.trials[-20:]].count("c") >= 10

"""Every example under examples/ runs as a script and prints its result."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# What each example must print (a regular expression per line that must appear).
EXPECTED = {
    "01_grid_search.py": [r"evaluated 8 configurations x 5 folds",
                          r"best: \{.*'mlpclassifier__learning_rate_init'.*\} cv accuracy 0\.\d{3}"],
    "02_random_search.py": [r"best: \{.*'mlpclassifier__max_iter': \d+.*\} cv accuracy 0\.\d{3}"],
    "03_compare_backends.py": [r"optuna\.tpe +Optuna TPE +0\.\d{3}", r"skopt\.gp +scikit-optimize",
                               r"hyperopt\.anneal +Hyperopt annealing +0\.\d{3}",
                               r"8 candidates x 3 folds each"],
    "04_overfitting.py": [r"by cv score +\(\d+,\) +\S+ +0\.\d{3} +0\.\d{3} +0\.\d{3}",
                          r"by training score +\(\d+,\)",
                          r"held-out accuracy, cv choice minus training-score choice: [+-]0\.\d{3}"],
    "05_time_budget.py": [r"budget 15 s: \d+ candidates evaluated", r"states: \['complete'\]",
                          r"best: \{.*\} cv accuracy 0\.\d{3}"],
}


def test_every_numbered_example_is_tested():
    # The numbered examples are issue #12's classic five (other examples are tested by their own area).
    assert sorted(p.name for p in EXAMPLES.glob("[0-9][0-9]_*.py")) == sorted(EXPECTED)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_and_prints_its_result(name):
    # One BLAS thread per process: on a shared 2-core machine, BLAS threads only contend.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True,
                          env=env, timeout=590)
    assert done.returncode == 0, done.stderr[-3000:]
    for pattern in EXPECTED[name]:
        assert re.search(pattern, done.stdout), f"{pattern!r} not in:\n{done.stdout}"

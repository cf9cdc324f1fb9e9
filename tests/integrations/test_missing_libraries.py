"""Without their library, the integrations fail with an ImportError that says what to install."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(("blocked", "code", "hint"), [
    ("sklearn", "import unitune.sklearn", "pip install 'unitune[sklearn]'"),
    ("optuna", "from unitune import optimize, Float\n"
               "from unitune.integrations.optuna_export import export_to_optuna\n"
               "s = optimize(lambda p: p['x'], {'x': Float(0.0, 1.0)}, n_trials=2)\n"
               "export_to_optuna(s, 'sqlite:///:memory:')", "pip install 'unitune[optuna-export]'"),
    ("mlflow", "from unitune import optimize, Float\n"
               "from unitune.integrations.mlflow import MLflowCallback\n"
               "optimize(lambda p: p['x'], {'x': Float(0.0, 1.0)}, n_trials=1,\n"
               "         callbacks=[MLflowCallback('file:///nowhere')])", "pip install 'unitune[mlflow]'"),
])
def test_missing_library_names_the_extra(blocked, code, hint):
    script = f"import sys\nsys.modules[{blocked!r}] = None  # as if not installed\n{code}\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "ImportError" in out.stderr and hint in out.stderr, out.stderr[-2000:]

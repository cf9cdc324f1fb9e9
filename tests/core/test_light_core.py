"""The core stays light: importing unitune and listing backends imports no optimizer library."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("optuna", "hyperopt", "skopt", "sklearn", "torch", "scipy", "pandas", "matplotlib")


def test_import_and_backend_listing_import_nothing_heavy():
    code = (
        "import sys, unitune\n"
        "unitune.list_backends()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"heavy modules imported: {out.stdout.strip()}"


def test_core_declares_only_light_dependencies():
    import re
    from importlib.metadata import requires

    required = [r for r in requires("unitune") or [] if "extra ==" not in r]
    names = sorted(re.split(r"[<>=!~; \[]", r, maxsplit=1)[0] for r in required)
    # pebble: a small pure-Python process pool that can kill and replace a hung or dead worker
    # (per-trial time limits), with no dependencies of its own.
    assert names == ["numpy", "pebble", "tqdm"]


def test_integrations_import_their_library_only_when_used():
    code = (
        "import sys, unitune, unitune.integrations\n"
        "import unitune.integrations.optuna_export, unitune.integrations.mlflow\n"
        f"print(','.join(m for m in {(*HEAVY, 'mlflow')!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"heavy modules imported: {out.stdout.strip()}"


def test_sklearn_support_is_an_extra():
    from importlib.metadata import requires

    extra = [r.split(";")[0].strip() for r in requires("unitune") or [] if "extra == 'sklearn'" in r.replace('"', "'")]
    assert sorted(extra) == ["scikit-learn>=1.3", "scipy"]

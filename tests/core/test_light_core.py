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
    # pebble: pure Python, no dependencies; the process pool behind executor="processes"
    # (kills a hung trial's worker, survives a dead one): see docs/execution.md
    assert names == ["numpy", "pebble", "tqdm"]

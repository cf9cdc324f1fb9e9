"""The manifest: what was run, with which versions, on which machine, by which command."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_FILE", "environment", "read_manifest", "write_manifest"]

MANIFEST_FILE = "manifest.json"
_DISTRIBUTIONS = ("unitune", "unitune-optuna", "unitune-hyperopt", "unitune-skopt",
                  "unitune-benchmarks", "optuna", "hyperopt", "scikit-optimize", "cmaes",
                  "scikit-learn", "numpy", "scipy", "matplotlib", "tqdm")


def environment() -> dict[str, Any]:
    """Library versions and a description of the machine."""
    versions = {"python": sys.version.split()[0]}
    for dist in _DISTRIBUTIONS:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    machine = {"platform": platform.platform(), "machine": platform.machine(),
               "processor": platform.processor() or _cpu_model(), "cpus": os.cpu_count(),
               "hostname": platform.node()}
    return {"versions": versions, "machine": machine}


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
    """The manifest in ``out_dir``, or None when there is none yet."""
    path = Path(out_dir) / MANIFEST_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_manifest(out_dir: str | Path, manifest: dict[str, Any]) -> None:
    """Write atomically (a crash never leaves half a manifest)."""
    path = Path(out_dir) / MANIFEST_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def now() -> str:
    """The current time in ISO 8601 (UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

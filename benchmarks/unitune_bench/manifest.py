"""The manifest: what was run, with which versions, on which machine, by which command.

Nothing here names a backend: backends are found through the ``unitune.backends`` entry points,
their library versions come from each backend class's ``versions()`` (or, for a class without it,
from the distribution that registers the entry point and that distribution's requirements), and
the defaults that shape a comparison from the options each algorithm declares.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST_FILE",
    "backend_setup",
    "backend_versions",
    "declared_defaults",
    "declared_seeded",
    "environment",
    "pruned_policy",
    "read_manifest",
    "write_manifest",
]

MANIFEST_FILE = "manifest.json"
_HARNESS = "unitune-benchmarks"
_BACKEND_GROUP = "unitune.backends"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _requirement_names(dist: str) -> list[str]:
    """Names of the distributions ``dist`` requires, extras and markers left out."""
    try:
        requires = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        return []
    names = []
    for req in requires:
        if "extra ==" in req:
            continue
        name = re.split(r"[\s\[<>=!~;(]", req.strip(), maxsplit=1)[0]
        if name:
            names.append(name)
    return names


def _entry_point(family: str) -> Any | None:
    return next((ep for ep in metadata.entry_points(group=_BACKEND_GROUP) if ep.name == family), None)


def backend_versions(backend: Any) -> dict[str, str]:
    """Distribution -> installed version for one backend (a label like ``"optuna.tpe"`` or a class).

    Uses the class's ``versions()`` when it has one; otherwise the distribution that registers the
    backend's entry point and the distributions it requires.
    """
    from unitune.registry import load_backend_class, split_name

    cls = backend if isinstance(backend, type) else load_backend_class(split_name(backend)[0])
    ep = None if isinstance(backend, type) else _entry_point(split_name(backend)[0])
    dist = getattr(ep, "dist", None)
    versions_of = getattr(cls, "versions", None)
    if callable(versions_of):
        own = {dist.name: dist.version} if dist is not None else {}
        return {**own, **{k: v for k, v in dict(versions_of()).items() if v}}
    if dist is None:
        module = cls.__module__.split(".")[0]
        names = metadata.packages_distributions().get(module, [])
        return {n: v for n in names if (v := _version(n))}
    out = {dist.name: dist.version}
    for name in _requirement_names(dist.name):
        version = _version(name)
        if version and name != "unitune":
            out[name] = version
    return out


def declared_defaults(backend: Any) -> dict[str, Any] | None:
    """The options the backend's algorithm declares with their defaults (initial random points,
    startup trials, ...), or None when the backend declares none (an algorithm described by a
    plain string)."""
    from unitune.registry import load_backend_class, split_name

    if isinstance(backend, type):
        cls, algorithm = backend, None
    else:
        family, algorithm = split_name(backend)
        cls = load_backend_class(family)
    algorithm = algorithm or cls.default_algorithm()
    declared = cls.algorithms.get(algorithm)
    options = getattr(declared, "options", None)
    return None if options is None else dict(options)


def pruned_policy(backend: Any) -> str | None:
    """What the backend's optimizer learns from a PRUNED trial (its declared
    ``Backend.pruned_policy``, e.g. ``"last_value"``), or None when it declares none."""
    from unitune.registry import load_backend_class, split_name

    cls = backend if isinstance(backend, type) else load_backend_class(split_name(backend)[0])
    policy = getattr(cls, "pruned_policy", None)
    return None if policy is None else policy.value


def declared_seeded(backend: Any) -> bool:
    """Whether the backend's algorithm declares the ``seeded`` capability (the same seed gives
    the same proposals, different seeds different ones); NGOpt, for one, does not."""
    from unitune.registry import load_backend_class, split_name

    if isinstance(backend, type):
        cls, algorithm = backend, None
    else:
        family, algorithm = split_name(backend)
        cls = load_backend_class(family)
    return cls.capabilities_of(algorithm or cls.default_algorithm()).seeded


def backend_setup(backend: Any, options: dict[str, Any] | None) -> dict[str, Any]:
    """What the manifest records about one backend: options passed, declared defaults, versions,
    what it learns from PRUNED trials, and whether it declares itself seeded."""
    name = backend if isinstance(backend, str) else f"{backend.__module__}.{backend.__qualname__}"
    return {"backend": name,
            "options": dict(options or {}), "defaults": declared_defaults(backend),
            "versions": backend_versions(backend), "pruned_trials": pruned_policy(backend),
            "seeded": declared_seeded(backend)}


def environment() -> dict[str, Any]:
    """Versions of Python, unitune, the harness and its requirements, and the machine."""
    versions: dict[str, str | None] = {"python": sys.version.split()[0], "unitune": _version("unitune"),
                                       _HARNESS: _version(_HARNESS)}
    for name in _requirement_names(_HARNESS):
        versions.setdefault(name, _version(name))
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

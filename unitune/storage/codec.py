"""Plain-JSON encoding of what a store keeps: strict JSON only (no NaN, no infinities).

Non-finite numbers (a metric or an intermediate value that is NaN or infinite) are written as
``null`` and read back as NaN: strict JSON has no spelling for them, and a store that other
tools read must stay strict. Values that JSON cannot hold (a user attribute that is a set, an
object, ...) are kept as their ``str()`` and a warning is logged once per type. A user
attribute that cannot be written even so (it contains itself, nests deeper than Python's
recursion limit, holds an integer too long for JSON text, or its ``str()`` raises) is kept as
a note saying why (:func:`dumps_attrs`), so its trial is still recorded.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["dumps", "dumps_attrs", "loads", "plain", "read_floats", "storable_attr"]

logger = logging.getLogger("unitune")
_WARNED: set[type] = set()
_SCALARS = (str, int, bool, type(None))
# One encoder for every call: json.dumps with non-default options builds a new one each time.
_ENCODE = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode


def plain(value: Any) -> Any:
    """``value`` as plain JSON data: non-finite floats become None, numpy scalars and arrays
    become Python numbers and lists, anything else unknown becomes its ``str()``."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    if cls is float:
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return plain(float(value))
    if hasattr(value, "tolist"):  # numpy scalars and arrays, without importing numpy here
        return plain(value.tolist())
    if isinstance(value, (str, int)):
        return value
    if cls not in _WARNED:
        _WARNED.add(cls)
        logger.warning("a %s value is not JSON data; it is written as its str()", cls.__name__)
    return str(value)


def dumps(value: Any) -> str:
    """Strict, compact JSON of ``value`` (through :func:`plain`)."""
    return _ENCODE(plain(value))


def dumps_attrs(attrs: Mapping[Any, Any]) -> str:
    """:func:`dumps` of a trial's user attributes; one that cannot be written is replaced by
    a note of why (with a warning), never an error that would leave its trial unrecorded."""
    try:
        return dumps(attrs)
    except Exception:  # user data: a cycle, too deep, a huge int, a str() that raises; see below
        return _ENCODE({_key(key): storable_attr(key, value) for key, value in attrs.items()})


def _key(key: Any) -> str:
    """``str(key)``, as :func:`plain` writes a key; a note when that raises."""
    try:
        return str(key)
    except Exception as exc:
        return f"<{type(key).__name__} key ({type(exc).__name__})>"


def storable_attr(key: Any, value: Any) -> Any:
    """One user attribute as JSON data, or a note saying why it cannot be stored (with a
    warning). Also what the MLflow callback logs."""
    try:
        data = plain(value)
        _ENCODE(data)
    except Exception as exc:
        logger.warning("user attribute %s: a %s value that cannot be stored (%s: %.200s); it is "
                       "written as a note instead", _key(key), type(value).__name__, type(exc).__name__, exc)
        return f"<not stored: {type(value).__name__} ({type(exc).__name__})>"
    return data


def loads(text: str | None) -> Any:
    """The inverse of :func:`dumps` (None stays None)."""
    return None if text is None else json.loads(text)


def read_floats(mapping: Mapping[str, Any] | None) -> dict[str, float]:
    """A stored mapping of numbers, with ``null`` (a non-finite number) read back as NaN."""
    if not mapping:
        return {}
    return {k: math.nan if v is None else float(v) for k, v in mapping.items()}

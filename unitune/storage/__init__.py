"""Where studies and their trials are kept. The store is the study's single source of truth.

In memory by default (:class:`InMemoryStorage`); a SQLite file makes a study durable and
resumable (:class:`SQLiteStorage`, or just ``storage="study.db"``). See docs/durability.md.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qsl

from unitune.storage.base import (
    BackendChange,
    InMemoryStorage,
    Storage,
    StorageError,
    StudyExistsError,
    StudyInfo,
    StudyLeaseError,
    StudyMismatchError,
    StudyNotFoundError,
)
from unitune.storage.sqlite import SQLiteStorage

__all__ = [
    "BackendChange",
    "InMemoryStorage",
    "SQLiteStorage",
    "Storage",
    "StorageError",
    "StudyExistsError",
    "StudyInfo",
    "StudyLeaseError",
    "StudyMismatchError",
    "StudyNotFoundError",
    "open_storage",
    "parse_location",
]


def open_storage(storage: Storage | str | os.PathLike[str] | None) -> Storage:
    """A store from what a user passes as ``storage=``: None (in memory), a Storage, a file path
    or a ``sqlite:///`` URL, optionally with ``?synchronous=normal&lease_ttl=10&timeout=5``."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if isinstance(storage, (str, os.PathLike)):
        path, options = parse_location(storage)
        return SQLiteStorage(path, **options)
    raise StorageError(
        f"storage must be None, a Storage, a file path or a 'sqlite:///' URL, got {type(storage).__name__}"
    )


def parse_location(storage: str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
    """Split a store's location (a file path or ``sqlite:///`` URL with an optional
    ``?lease_ttl=..&timeout=..&synchronous=..``) into the path and the SQLiteStorage options;
    StorageError naming an unknown option or a value that is not a number. A ``Path``, or the
    name of an existing file, is taken whole, '?' and all."""
    text = os.fspath(storage)
    if not isinstance(storage, str) or "?" not in text or os.path.isfile(text.removeprefix("sqlite:///")):
        return text, {}  # a Path is a path; so is a file whose name holds a '?'
    path, _, query = text.partition("?")
    options: dict[str, Any] = {}
    try:
        fields = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise StorageError(f"storage {storage!r}: the text after '?' must be options such as "
                           f"timeout=5&lease_ttl=10 ({exc})") from None
    for key, value in fields:
        if key in ("lease_ttl", "timeout"):
            try:
                options[key] = float(value)
            except ValueError:
                raise StorageError(f"storage {storage!r}: {key} must be a number, got {value!r}") from None
        elif key == "synchronous":
            options[key] = value.lower()
        else:
            raise StorageError(f"storage {storage!r}: unknown option {key!r}; "
                               "known: lease_ttl, timeout, synchronous")
    return path, options

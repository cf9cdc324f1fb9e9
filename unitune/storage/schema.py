"""The SQLite file format: the checks a file passes before it is opened, the schema and its
migrations.

A file is looked at byte by byte before SQLite touches it: a file that is not a SQLite
database, or is shorter than its own header says, is refused and left exactly as it was.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from unitune.storage.base import StorageError

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "check_file", "migrate"]

#: Marks a SQLite file as a unitune store (``PRAGMA application_id``; "UTUN").
APPLICATION_ID = 0x5554554E

_V1 = """
CREATE TABLE studies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    space TEXT NOT NULL,
    backend TEXT NOT NULL,
    backend_options TEXT NOT NULL,
    seed INTEGER,
    directions TEXT NOT NULL,
    metric TEXT,
    created_at REAL NOT NULL,
    n_trials INTEGER
);
CREATE TABLE trials (
    study_id INTEGER NOT NULL REFERENCES studies(id),
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL,
    "values" TEXT,
    metrics TEXT,
    failure TEXT,
    started_at REAL,
    finished_at REAL,
    user_attrs TEXT,
    intermediate TEXT,
    finish_seq INTEGER,
    retry_of INTEGER,
    retried INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (study_id, number)
) WITHOUT ROWID;
CREATE INDEX trials_by_finish ON trials (study_id, finish_seq);
CREATE TABLE backend_changes (
    study_id INTEGER NOT NULL REFERENCES studies(id),
    at_number INTEGER NOT NULL,
    old_backend TEXT NOT NULL,
    new_backend TEXT NOT NULL,
    old_options TEXT NOT NULL,
    new_options TEXT NOT NULL,
    changed_at REAL NOT NULL
);
CREATE TABLE leases (
    study_id INTEGER PRIMARY KEY REFERENCES studies(id),
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
"""

# v2: finished trials only in the finishing-order index. A RUNNING row (finish_seq NULL) then
# writes one page to the log instead of two; the queries that use the index say
# ``finish_seq IS NOT NULL`` so that SQLite may.
_V2 = """
DROP INDEX trials_by_finish;
CREATE INDEX trials_by_finish ON trials (study_id, finish_seq) WHERE finish_seq IS NOT NULL
"""

#: ``MIGRATIONS[i]`` brings a file from schema version ``i`` to ``i + 1``. Append, never edit.
MIGRATIONS: tuple[str, ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)

_MAGIC = b"SQLite format 3\x00"


def check_file(path: Path) -> None:
    """Refuse, without touching it, a file that is not an intact SQLite database.

    A missing or empty file is fine (a new store). A truncated file is recognized from the
    database size in its header, unless a write-ahead log holds pages not yet copied back.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StorageError(f"cannot read the store {str(path)!r}: {exc}") from exc
    if size == 0:
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        raise StorageError(f"cannot read the store {str(path)!r}: {exc}") from exc
    if not header.startswith(_MAGIC):
        raise StorageError(
            f"{str(path)!r} is not a SQLite database (its first bytes are {header[:16]!r}); "
            "a unitune store is a SQLite file. The file was left untouched"
        )
    if len(header) < 100:
        raise StorageError(f"{str(path)!r} is truncated ({size} bytes, shorter than a SQLite header); "
                           "the file was left untouched")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96] and pages > 0  # SQLite's own test of the size field
    wal = Path(f"{path}-wal")
    pending_wal = wal.exists() and wal.stat().st_size > 0
    if valid and not pending_wal and size < pages * page_size:
        raise StorageError(
            f"{str(path)!r} is truncated: its header says {pages} pages of {page_size} bytes "
            f"({pages * page_size} bytes) but the file has {size}; restore it from a backup. "
            "The file was left untouched"
        )


def check_writable(path: Path) -> None:
    """Refuse a store SQLite could read but not write (a read-only file or directory)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists() and not _writable(path):
        raise StorageError(f"the store {str(path)!r} is read-only; a study needs to write it "
                           "(readers such as 'unitune status' work on read-only files)")
    if not folder.is_dir():
        raise StorageError(f"cannot create the store {str(path)!r}: the folder {str(folder)!r} does not "
                           "exist (or is not a folder); create it first")
    if not _writable(folder):
        what = "create" if not path.exists() else "keep its write-ahead log next to"
        raise StorageError(f"cannot {what} the store {str(path)!r}: the folder {str(folder)!r} "
                           "is read-only")


def _writable(path: Path) -> bool:
    # The permission bits count too: os.access says yes to root for any file.
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def read_version(conn: sqlite3.Connection, path: Path) -> int:
    """The schema version of an open file (0 for a new, empty database)."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if not tables:
        return 0
    if "schema_version" not in tables or app_id != APPLICATION_ID:
        raise StorageError(
            f"{str(path)!r} is a SQLite database but not a unitune store (tables "
            f"{sorted(tables)[:8]!r}); use another file. The file was left untouched"
        )
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    if row is None:
        raise StorageError(f"{str(path)!r} is damaged: its schema_version table is empty")
    version = int(row[0])
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"{str(path)!r} has store schema version {version}, newer than this unitune "
            f"understands (up to {SCHEMA_VERSION}); upgrade unitune to open it. "
            "The file was left untouched"
        )
    return version


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the file to :data:`SCHEMA_VERSION`, one migration per transaction."""
    version = read_version(conn, path)
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if version != read_version(conn, path):  # another process migrated meanwhile
                conn.execute("ROLLBACK")
                version = read_version(conn, path)
                continue
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    conn.execute(statement)
            if version == 0:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                conn.execute("INSERT INTO schema_version VALUES (1)")
            else:
                conn.execute("UPDATE schema_version SET version = ?", (version + 1,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version += 1

"""A durable store in one SQLite file (standard library ``sqlite3``), for many named studies.

The file runs in WAL mode (readers never block the driver), with ``synchronous=FULL`` by default
(a committed trial survives a power cut, not only a killed process), a busy timeout, and
``BEGIN IMMEDIATE`` for every write (deferred transactions that upgrade to writes fail under
contention instead of waiting). Every write also renews, and checks, the writer's lease on the
study: a driver that lost its lease can no longer write.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "study.db")
>>> with SQLiteStorage(path) as store:
...     store.study_names()
[]
"""

from __future__ import annotations

import logging
import math
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from unitune.storage import codec
from unitune.storage.base import (
    BackendChange,
    Storage,
    StorageError,
    StudyExistsError,
    StudyInfo,
    StudyLeaseError,
    StudyNotFoundError,
    TrialStart,
)
from unitune.storage.schema import check_file, check_writable, migrate, read_version
from unitune.trial import Trial, TrialState

__all__ = ["SQLiteStorage"]

logger = logging.getLogger("unitune")
_T = TypeVar("_T")
_HOST = socket.gethostname()
#: The lease owners of the stores opened in this process (to tell them from a dead process that
#: had this process's id on this host: a restarted container's driver is often pid 1 again).
_OWNERS: set[str] = set()
_COLUMNS = ('number, state, params, "values", metrics, failure, started_at, finished_at, user_attrs, '
            'intermediate')
_RENEW = "UPDATE leases SET expires_at = ? WHERE study_id = ? AND owner = ?"
_NEXT_SEQ = ("(SELECT COALESCE(MAX(finish_seq), 0) + 1 FROM trials"
             " WHERE study_id = ? AND finish_seq IS NOT NULL)")  # searches the index (schema v2)
# A trial this store saw start is finished by an UPDATE of its RUNNING row (its parameters are
# already there: no second JSON encoding); only a trial never started (add_trials, another
# driver's) needs the INSERT, which keeps a row that already exists (a result that arrives twice).
_FINISH = f"""
UPDATE trials SET state = ?, "values" = ?, metrics = ?, failure = ?,
    started_at = COALESCE(started_at, ?), finished_at = ?, user_attrs = ?, intermediate = ?,
    finish_seq = {_NEXT_SEQ}
WHERE study_id = ? AND number = ? AND state = 'running'
"""
_ADD = f"""
INSERT INTO trials (study_id, {_COLUMNS}, finish_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {_NEXT_SEQ})
ON CONFLICT (study_id, number) DO NOTHING
"""
_START = ("INSERT INTO trials (study_id, number, state, params, started_at, retry_of)"
          " VALUES (?, ?, 'running', ?, ?, ?)")
_PRAGMA_SYNC = {"FULL": "PRAGMA synchronous = FULL", "NORMAL": "PRAGMA synchronous = NORMAL"}
_RETRIED = "UPDATE trials SET retried = 1 WHERE study_id = ? AND number = ?"
#: Seconds the lease heartbeat waits at most between renewals (a longer wait overflows the clock).
_LONGEST_WAIT = 3600.0


class SQLiteStorage(Storage):
    """Studies in a SQLite file.

    Args:
        path: the file (created when missing); a ``sqlite:///`` URL is accepted too.
        lease_ttl: seconds after which a silent driver's lease on a study expires. A background
            thread renews it every ``lease_ttl / 3`` seconds while a study is driven.
        timeout: seconds a write waits for another process's write before failing.
        synchronous: ``"full"`` (default: survives a power cut) or ``"normal"`` (survives a killed
            process, not a power cut; about 15x cheaper per write on an ordinary disk).
        readonly: open for reading only (what ``unitune status`` does); works on read-only files.
    """

    durable = True

    def __init__(self, path: str | os.PathLike[str], *, lease_ttl: float = 30.0, timeout: float = 10.0,
                 synchronous: str = "full", readonly: bool = False):
        text = os.fspath(path)
        if text.startswith("sqlite:///"):
            text = text[len("sqlite:///"):]
        elif "://" in text:
            raise StorageError(f"storage {text!r}: only files and sqlite:/// URLs are supported")
        if not text or text == ":memory:":
            raise StorageError("a SQLite store needs a file path; use the default in-memory store instead")
        if not 0 < lease_ttl < math.inf or not 0 <= timeout < math.inf:
            raise StorageError(f"lease_ttl must be > 0 and timeout >= 0 (seconds, finite), got "
                               f"{lease_ttl!r} and {timeout!r}")
        if synchronous not in ("full", "normal"):
            raise StorageError(f"synchronous must be 'full' or 'normal', got {synchronous!r}")
        self.path = Path(text)
        self.lease_ttl = float(lease_ttl)
        self.timeout = float(timeout)
        self.synchronous = synchronous
        self._synchronous = synchronous.upper()
        self._sync_now = ""  # the connection's current PRAGMA synchronous
        self.readonly = readonly
        self.owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        _OWNERS.add(self.owner)
        self._lock = threading.RLock()
        self._ids: dict[str, int] = {}
        self._held: dict[int, str] = {}  # study id -> name, for every lease this object holds
        self._lost: set[int] = set()
        self._renewed: dict[int, float] = {}  # study id -> when this process last renewed its lease
        self._heartbeat: _Heartbeat | None = None
        check_file(self.path)
        if readonly:
            if not self.path.exists():
                raise StorageError(f"no store at {str(self.path)!r}")
        else:
            check_writable(self.path)
        self._conn = self._connect()
        try:
            self._guard("opening", lambda: self._prepare())
        except BaseException:
            self._conn.close()
            raise

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._conn is None

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                conn = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True,
                                       timeout=self.timeout, isolation_level=None, check_same_thread=False)
            else:
                conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                       check_same_thread=False)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the store {str(self.path)!r}: {exc}") from exc
        return conn

    def _prepare(self) -> None:
        conn = self._conn
        if self.readonly:
            if not read_version(conn, self.path):
                raise StorageError(f"no store at {str(self.path)!r}: it is an empty database "
                                   "(no study was ever written to it)")
            return
        version = read_version(conn, self.path)  # refuses foreign and newer files before any write
        if version:
            self._quick_check()
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(_PRAGMA_SYNC[self._synchronous])
        self._sync_now = self._synchronous
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn, self.path)

    def _quick_check(self) -> None:
        problems = [row[0] for row in self._conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise StorageError(f"the store {str(self.path)!r} is damaged ({'; '.join(problems)}); "
                               "restore it from a backup. The file was left untouched")

    def _guard(self, doing: str, action: Callable[[], _T]) -> _T:
        """Run ``action`` and turn SQLite's errors into StorageErrors that say what to do."""
        try:
            return action()
        except sqlite3.Error as exc:
            raise self._error(doing, exc) from exc

    def _error(self, doing: str, exc: sqlite3.Error) -> StorageError:
        """A StorageError that says what went wrong with the file while ``doing``, and what to do."""
        text = str(exc)
        if "locked" in text or "busy" in text:
            message = (f"the store {str(self.path)!r} stayed locked by another process for more "
                       f"than {self.timeout:g} s while {doing} ({text})")
        elif "readonly" in text or "read-only" in text:
            message = f"the store {str(self.path)!r} is read-only; cannot write while {doing} ({text})"
        elif "malformed" in text or "not a database" in text or "corrupt" in text:
            message = (f"the store {str(self.path)!r} is damaged ({text}) while {doing}; restore it "
                       "from a backup")
        else:
            message = f"store {str(self.path)!r}: {type(exc).__name__} while {doing}: {text}"
        return StorageError(message)

    def _write(self, doing: str, action: Callable[[sqlite3.Connection], _T], study: int | None = None,
               *, sync: bool = True) -> _T:
        """One ``BEGIN IMMEDIATE`` transaction; with ``study``, the lease is checked and renewed.

        ``sync=False`` skips the fsync of a FULL store for this commit: the write still survives
        a killed process, and in WAL mode the next synced commit (which syncs the whole log)
        makes it survive a power cut too. The connection's ``synchronous`` setting is switched
        only when the wanted one differs from the current one (PRAGMA between transactions).
        """
        if self.readonly:
            raise StorageError(f"the store {str(self.path)!r} was opened read-only; "
                               f"cannot write while {doing}")
        wanted = "NORMAL" if not sync and self.synchronous == "full" else self._synchronous
        with self._lock:
            conn = self._conn
            try:
                if self._sync_now != wanted:
                    conn.execute(_PRAGMA_SYNC[wanted])
                    self._sync_now = wanted
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if study is not None:
                        self._fence(conn, study)
                    result = action(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise self._error(doing, exc) from exc
        return result

    def _fence(self, conn: sqlite3.Connection, study: int) -> None:
        """Check, inside the write's transaction, that this process still holds the lease.

        A lease renewed less than ``lease_ttl / 3`` ago cannot have expired, so nobody can have
        taken it over; only older ones are renewed (and checked) here.
        """
        if study not in self._held:
            raise StudyLeaseError(f"this process does not drive the study (id {study}) in "
                                  f"{str(self.path)!r}; acquire its lease first")
        now = time.time()
        if study not in self._lost and now - self._renewed.get(study, 0.0) < self.lease_ttl / 3:
            return
        cur = conn.execute(_RENEW, (now + self.lease_ttl, study, self.owner))
        self._renewed[study] = now
        if cur.rowcount != 1 or study in self._lost:
            self._lost.add(study)
            raise StudyLeaseError(
                f"study {self._held[study]!r} in {str(self.path)!r} was taken over by another driver "
                f"after this one went silent for more than lease_ttl={self.lease_ttl:g} s; "
                "this driver stops writing"
            )

    def _id(self, name: str) -> int:
        if name not in self._ids:
            row = self._guard("reading a study", lambda: self._conn.execute(
                "SELECT id FROM studies WHERE name = ?", (name,)).fetchone())
            if row is None:
                raise StudyNotFoundError(f"no study named {name!r} in {str(self.path)!r} "
                                         f"(it has {self.study_names()!r})")
            self._ids[name] = row[0]
        return self._ids[name]

    # Studies.
    def create_study(self, info: StudyInfo) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM studies WHERE name = ?", (info.name,)).fetchone():
                raise StudyExistsError(f"a study named {info.name!r} already exists in {str(self.path)!r}")
            conn.execute(
                "INSERT INTO studies (name, space, backend, backend_options, seed, directions, metric,"
                " created_at, n_trials) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (info.name, codec.dumps(info.space), info.backend, codec.dumps(info.backend_options),
                 info.seed, codec.dumps(list(info.directions)),
                 None if info.metric is None else codec.dumps(list(info.metric)),
                 info.created_at, info.n_trials))

        self._write(f"creating the study {info.name!r}", insert)

    def load_study(self, name: str) -> StudyInfo | None:
        row = self._guard("reading a study", lambda: self._conn.execute(
            "SELECT id, name, space, backend, backend_options, seed, directions, metric, created_at, n_trials"
            " FROM studies WHERE name = ?", (name,)).fetchone())
        if row is None:
            return None
        self._ids[name] = row[0]
        metric = codec.loads(row[7])
        return StudyInfo(name=row[1], space=codec.loads(row[2]), backend=row[3],
                         backend_options=codec.loads(row[4]), seed=row[5],
                         directions=tuple(codec.loads(row[6])),
                         metric=None if metric is None else tuple(metric), created_at=row[8],
                         n_trials=row[9])

    def study_names(self) -> list[str]:
        rows = self._guard("listing studies", lambda: self._conn.execute(
            "SELECT name FROM studies ORDER BY id").fetchall())
        return [row[0] for row in rows]

    def set_target(self, name: str, n_trials: int | None) -> None:
        study = self._id(name)
        self._write("recording the trial budget", lambda conn: conn.execute(
            "UPDATE studies SET n_trials = ? WHERE id = ?", (n_trials, study)), study)

    def change_backend(self, name: str, backend: str, options: Mapping[str, Any], at_number: int) -> None:
        study = self._id(name)

        def switch(conn: sqlite3.Connection) -> None:
            old, old_options = conn.execute("SELECT backend, backend_options FROM studies WHERE id = ?",
                                            (study,)).fetchone()
            conn.execute("INSERT INTO backend_changes VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (study, at_number, old, backend, old_options, codec.dumps(options), time.time()))
            conn.execute("UPDATE studies SET backend = ?, backend_options = ? WHERE id = ?",
                         (backend, codec.dumps(options), study))

        self._write("recording a backend change", switch, study)

    def backend_changes(self, name: str) -> list[BackendChange]:
        study = self._id(name)
        rows = self._guard("reading backend changes", lambda: self._conn.execute(
            "SELECT at_number, old_backend, new_backend, old_options, new_options, changed_at"
            " FROM backend_changes WHERE study_id = ? ORDER BY rowid", (study,)).fetchall())
        return [BackendChange(r[0], r[1], r[2], codec.loads(r[3]), codec.loads(r[4]), r[5]) for r in rows]

    # Trials.
    def start_trial(self, name: str, number: int, params: Mapping[str, Any], started_at: float,
                    retry_of: int | None = None) -> None:
        self.start_trials(name, [(number, params, started_at, retry_of)])

    def start_trials(self, name: str, starts: Sequence[TrialStart]) -> None:
        """Write a batch of starting trials as RUNNING, in one transaction that skips the fsync
        of a FULL store (the finish commit syncs it)."""
        study = self._id(name)
        rows = [(study, number, codec.dumps(params), started_at, retry_of)
                for number, params, started_at, retry_of in starts]
        retried = [(study, retry_of) for *_, retry_of in starts if retry_of is not None]

        def insert(conn: sqlite3.Connection) -> None:
            if len(rows) == 1:
                conn.execute(_START, rows[0])
            else:
                conn.executemany(_START, rows)
            if retried:
                conn.executemany(_RETRIED, retried)

        self._write(f"starting trial {rows[0][1]}" if len(rows) == 1 else
                    f"starting trials {rows[0][1]} to {rows[-1][1]}", insert, study, sync=False)

    def finish_trial(self, name: str, trial: Trial) -> bool:
        study = self._id(name)
        values = trial.values
        update = (trial.state.value, None if values is None else codec.dumps(values),
                  codec.dumps(trial.metrics) if trial.metrics else None, trial.failure,
                  trial.started_at, trial.finished_at,
                  codec.dumps_attrs(trial.user_attrs) if trial.user_attrs else None,
                  codec.dumps(trial.intermediate) if trial.intermediate else None,
                  study, study, trial.number)

        def record(conn: sqlite3.Connection) -> bool:
            if conn.execute(_FINISH, update).rowcount == 1:
                return True
            # Not RUNNING here: never started in this store, or already finished (kept as it is).
            row = (study, trial.number, update[0], codec.dumps(trial.params), *update[1:8], study)
            return conn.execute(_ADD, row).rowcount == 1

        return self._write(f"recording trial {trial.number}", record, study)

    def trials(self, name: str, *, running: bool = False) -> list[Trial]:
        study = self._id(name)
        query = (f"SELECT {_COLUMNS} FROM trials WHERE study_id = ? AND state != 'running'"
                 " AND finish_seq IS NOT NULL ORDER BY finish_seq")

        def read() -> list[tuple]:
            with self._lock:
                rows = self._conn.execute(query, (study,)).fetchall()
                if running:
                    rows += self._conn.execute(f"SELECT {_COLUMNS} FROM trials WHERE study_id = ? AND "
                                               "state = 'running' ORDER BY number", (study,)).fetchall()
                return rows

        return [_trial(row) for row in self._guard("reading trials", read)]

    def interrupt_running(self, name: str, reason: str) -> list[int]:
        study = self._id(name)

        def mark(conn: sqlite3.Connection) -> list[int]:
            numbers = [r[0] for r in conn.execute("SELECT number FROM trials WHERE study_id = ? AND "
                                                  "state = 'running' ORDER BY number", (study,))]
            now = time.time()
            for number in numbers:
                conn.execute(
                    "UPDATE trials SET state = 'interrupted', failure = ?, finished_at = ?,"
                    f" finish_seq = {_NEXT_SEQ}"
                    " WHERE study_id = ? AND number = ?", (reason, now, study, study, number))
            return numbers

        return self._write("marking running trials interrupted", mark, study)

    def retries_due(self, name: str) -> list[Trial]:
        study = self._id(name)
        rows = self._guard("reading trials", lambda: self._conn.execute(
            f"SELECT {_COLUMNS} FROM trials WHERE study_id = ? AND state = 'interrupted' AND retried = 0"
            " ORDER BY number", (study,)).fetchall())
        return [_trial(row) for row in rows]

    def next_number(self, name: str) -> int:
        study = self._id(name)
        row = self._guard("reading trials", lambda: self._conn.execute(
            "SELECT MAX(number) FROM trials WHERE study_id = ?", (study,)).fetchone())
        return 0 if row[0] is None else row[0] + 1

    def lease(self, name: str) -> dict[str, Any] | None:
        """Who holds the study's lease (owner, host, pid, acquired_at, expires_at), or None."""
        study = self._id(name)
        row = self._guard("reading the lease", lambda: self._conn.execute(
            "SELECT owner, host, pid, acquired_at, expires_at FROM leases WHERE study_id = ?",
            (study,)).fetchone())
        return None if row is None else dict(zip(("owner", "host", "pid", "acquired_at", "expires_at"), row))

    # Leases.
    def holds(self, name: str) -> bool:
        """True while this object holds the study's lease (taken, not given back or lost)."""
        study = self._ids.get(name)
        return study is not None and study in self._held and study not in self._lost

    def acquire(self, name: str) -> None:
        study = self._id(name)
        if study in self._held and study not in self._lost:
            return

        def take(conn: sqlite3.Connection) -> None:
            now = time.time()
            row = conn.execute("SELECT owner, host, pid, expires_at FROM leases WHERE study_id = ?",
                               (study,)).fetchone()
            if row is not None and row[0] != self.owner:
                owner, host, pid, expires = row
                if expires > now and owner in _OWNERS and host == _HOST and pid == os.getpid():
                    raise StudyLeaseError(
                        f"study {name!r} in {str(self.path)!r} is driven by another Study (or store) "
                        "in this process; a study takes one driver at a time: close() that one first "
                        "(or open studies with 'with Study(...) as study:')"
                    )
                # Gone: its process is, or it had this process's id (so it was an earlier process).
                dead = host == _HOST and (pid == os.getpid() or not _alive(pid))
                if expires > now and not dead:
                    raise StudyLeaseError(
                        f"study {name!r} in {str(self.path)!r} is being run by another driver "
                        f"(process {pid} on {host}); a study takes one driver at a time. If that "
                        f"driver is dead, its lease expires in {expires - now:.0f} s (lease_ttl)"
                    )
                logger.warning("taking over study %r from a driver that is gone (%s)", name, owner)
            conn.execute("INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?, ?)",
                         (study, self.owner, _HOST, os.getpid(), now, now + self.lease_ttl))

        self._write(f"taking the lease of study {name!r}", take)
        self._renewed[study] = time.time()
        self._held[study] = name
        self._lost.discard(study)
        if self._heartbeat is None or not self._heartbeat.is_alive():
            self._heartbeat = _Heartbeat(self)
            self._heartbeat.start()

    def release(self, name: str) -> None:
        study = self._ids.get(name)
        if study is None or study not in self._held:
            return
        del self._held[study]
        self._write(f"releasing the lease of study {name!r}", lambda conn: conn.execute(
            "DELETE FROM leases WHERE study_id = ? AND owner = ?", (study, self.owner)))

    def close(self) -> None:
        """Release every lease, stop the heartbeat and close the file."""
        if self._conn is None:
            return
        try:
            for name in list(self._held.values()):
                self.release(name)
        finally:
            if self._heartbeat is not None:
                self._heartbeat.stop()
                self._heartbeat = None
            self._conn.close()
            self._conn = None  # type: ignore[assignment]
            _OWNERS.discard(self.owner)  # a closed store drives nothing in this process

    def __repr__(self) -> str:
        return f"SQLiteStorage({str(self.path)!r})"


def _trial(row: tuple) -> Trial:
    values = codec.loads(row[3])
    intermediate = codec.read_floats(codec.loads(row[9]))
    return Trial(row[0], codec.loads(row[2]), TrialState(row[1]),
                 None if values is None else tuple(float(v) for v in values),
                 codec.read_floats(codec.loads(row[4])), row[5], row[6], row[7],
                 codec.loads(row[8]) or {}, {int(k): v for k, v in intermediate.items()})


def _alive(pid: int) -> bool:
    """True when process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class _Heartbeat(threading.Thread):
    """Renews the leases of one store every ``lease_ttl / 3`` seconds, on its own connection."""

    def __init__(self, store: SQLiteStorage):
        super().__init__(name=f"unitune-lease-{store.path.name}", daemon=True)
        self._store = store
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        if self is not threading.current_thread():
            self.join(timeout=5)

    def run(self) -> None:
        store = self._store
        conn = sqlite3.connect(store.path, timeout=store.timeout, isolation_level=None)
        try:
            while not self._halt.wait(min(store.lease_ttl / 3, _LONGEST_WAIT)):
                for study, name in list(store._held.items()):
                    try:
                        now = time.time()
                        cur = conn.execute(_RENEW, (now + store.lease_ttl, study, store.owner))
                    except sqlite3.Error as exc:
                        logger.warning("could not renew the lease of study %r: %s", name, exc)
                        continue
                    if cur.rowcount == 1:
                        store._renewed[study] = now
                    elif study in store._held:
                        store._lost.add(study)
                        logger.error("study %r: another driver took the lease over; writes will stop", name)
        finally:
            conn.close()

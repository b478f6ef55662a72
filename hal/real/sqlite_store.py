"""Non-volatile memory backend: one SQLite file per component (DESIGN.md §6).

This one class serves both the emulated and the real backend (`hal.real` re-exports it): on a rig
the file simply lives on the Pi's storage. The settings are the ones that make "killed at any
instant, restarts with nothing lost and nothing applied twice" true:

- WAL journal with `synchronous=FULL`: a commit is on disk when COMMIT returns, and a process
  killed mid-transaction leaves only the last commit visible on reopening;
- `BEGIN IMMEDIATE`: the write lock is taken at the start, so a transaction never fails half-way
  because another connection wrote first;
- foreign keys on, so related rows cannot be orphaned.

Clauses served: 18.2 (non-volatile alert log), 13.8 (balance kept in memory), 6.3.1.d (updatable
identity items), 18.5 (logs survive decommissioning).

Firmware runs on one asyncio thread, but paho-mqtt calls back on its own thread, so the
connection is opened with `check_same_thread=False` and every use holds one re-entrant lock.
"""

from __future__ import annotations

import asyncio
import enum
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from hal.ports import Tx
from protocol.errors import SmartMeterError

__all__ = ["SqliteStore", "StoreError", "dumps_json"]

_BASE_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
"""


class StoreError(SmartMeterError):
    """The non-volatile store was misused or holds data this firmware cannot read."""


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps_json(value: object) -> str:
    """Canonical JSON (sorted keys; datetimes as ISO text, enums as their values)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def split_sql(script: str) -> list[str]:
    """Split a DDL script into statements, so it can run inside a transaction.

    `executescript` would COMMIT first, which defeats applying a schema atomically.
    """
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                statements.append(pending.strip())
            pending = ""
    if pending.strip(" \t\r\n;"):
        raise StoreError(f"incomplete SQL statement in schema: {pending.strip()[:80]!r}")
    return statements


class SqliteStore:
    """`hal.ports.NonVolatileStore` on a SQLite file."""

    def __init__(self, path: Path, *, timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves and nothing is implicit.
        self._conn = sqlite3.connect(
            self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.RLock()
        self._depth = 0
        self._owner: object = None
        self._closed = False
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path}: cannot switch to WAL journal (got {mode})")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        with self.transaction() as tx:
            for statement in split_sql(_BASE_DDL):
                tx.execute(statement)

    # --- transactions ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """Open a transaction; everything written through the cursor commits or rolls back as one.

        Nested calls on the same thread become savepoints: an exception inside the inner block
        undoes only the inner block's writes (and then propagates as usual).
        """
        with self._lock:
            self._check_open()
            owner = _current_owner()
            if self._depth and owner != self._owner:
                raise StoreError(
                    "transaction already open in another task: never await inside a transaction"
                )
            cursor = self._conn.cursor()
            savepoint = f"sp{self._depth}"
            if self._depth:
                cursor.execute(f"SAVEPOINT {savepoint}")
            else:
                cursor.execute("BEGIN IMMEDIATE")
                self._owner = owner
            self._depth += 1
            try:
                yield cursor
            except BaseException:
                self._depth -= 1
                if self._depth:
                    cursor.execute(f"ROLLBACK TO {savepoint}")
                    cursor.execute(f"RELEASE {savepoint}")
                else:
                    self._owner = None
                    cursor.execute("ROLLBACK")
                raise
            else:
                self._depth -= 1
                if self._depth:
                    cursor.execute(f"RELEASE {savepoint}")
                else:
                    self._owner = None
                    try:
                        cursor.execute("COMMIT")
                    except BaseException:
                        # A failed COMMIT (disk full, I/O error) leaves the transaction open.
                        if self._conn.in_transaction:
                            self._conn.execute("ROLLBACK")
                        raise
            finally:
                cursor.close()

    @contextmanager
    def _joined(self, tx: Tx | None) -> Iterator[Tx]:
        if tx is not None:
            yield tx
        else:
            with self.transaction() as own:
                yield own

    # --- schema ---------------------------------------------------------------------------------

    def ensure_schema(self, component: str, version: int, ddl: str) -> int | None:
        """Create `component`'s tables if its stored schema is older than `version`.

        The DDL must be idempotent (`CREATE TABLE IF NOT EXISTS ...`) and additive, because it runs
        again when the version goes up. Returns the version found before (None on a fresh file) so
        the caller can migrate data. A file written by newer firmware is refused, not downgraded.
        """
        statements = split_sql(ddl)
        with self.transaction() as tx:
            row = tx.execute(
                "SELECT version FROM schema_version WHERE component = ?", (component,)
            ).fetchone()
            found: int | None = None if row is None else int(row[0])
            if found is not None and found > version:
                raise StoreError(
                    f"{self.path}: schema of {component!r} is version {found}, "
                    f"this firmware knows only up to {version}"
                )
            if found != version:
                for statement in statements:
                    tx.execute(statement)
                tx.execute(
                    "INSERT INTO schema_version (component, version) VALUES (?, ?) "
                    "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                    (component, version),
                )
            return found

    # --- key-value ------------------------------------------------------------------------------

    def get(self, namespace: str, key: str, default: Any = None, *, tx: Tx | None = None) -> Any:
        """The JSON value stored under (namespace, key), or `default`."""
        with self._lock:
            self._check_open()
            runner = tx if tx is not None else self._conn
            row = runner.execute(
                "SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
        return default if row is None else json.loads(row[0])

    def put(self, namespace: str, key: str, value: Any, *, tx: Tx | None = None) -> None:
        """Store a JSON-serialisable value; joins `tx` if given, else commits on its own."""
        text = dumps_json(value)
        with self._lock, self._joined(tx) as cur:
            cur.execute(
                "INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
                (namespace, key, text),
            )

    def delete(self, namespace: str, key: str, *, tx: Tx | None = None) -> None:
        with self._lock, self._joined(tx) as cur:
            cur.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))

    def items(self, namespace: str, *, tx: Tx | None = None) -> dict[str, Any]:
        """Every key of a namespace with its value."""
        with self._lock:
            self._check_open()
            runner = tx if tx is not None else self._conn
            rows = runner.execute(
                "SELECT key, value FROM kv WHERE namespace = ? ORDER BY key", (namespace,)
            ).fetchall()
        return {key: json.loads(text) for key, text in rows}

    # --- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            if self._depth:
                raise StoreError("cannot close the store inside an open transaction")
            self._closed = True
            self._conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"{self.path}: store is closed")


def _current_owner() -> object:
    """Who holds a transaction: the asyncio task if there is one, else the thread."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    return task if task is not None else threading.get_ident()

"""Stores as the previous release (commit 42f79ec) and the commits since left them, for tests of
the upgrade a user gets by keeping their run directory: real SQLite files written with the old
DDL (copied here, since the code no longer has it) and the old rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from hal.real.sqlite_store import split_sql

#: `hal.real.sqlite_store`'s own tables, unchanged since 42f79ec.
BASE_DDL = """
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

#: `hub.outbox` at 42f79ec (`git show 42f79ec:hub/outbox.py`).
OUTBOX_V1 = """
CREATE TABLE IF NOT EXISTS outbox (
    source TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (source, seq)
);
CREATE TABLE IF NOT EXISTS outbox_held (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_streams (
    source TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    acked_seq INTEGER NOT NULL
);
"""
#: `hub.meter_events` at 73c3cdd, its first version (one mark per meter).
METER_EVENTS_V1 = """
CREATE TABLE IF NOT EXISTS meter_events_taken (
    source TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
"""
#: `firmware.event_log` at 42f79ec (`git show 42f79ec:firmware/event_log.py`), version 2.
EVENT_LOG_V2 = """
CREATE TABLE IF NOT EXISTS event_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    utc TEXT NOT NULL,
    code INTEGER NOT NULL,
    component TEXT NOT NULL,
    detail TEXT NOT NULL,
    module TEXT
);
CREATE INDEX IF NOT EXISTS event_log_code ON event_log (code);
"""

Row = tuple[str, Sequence[object]]


def write_old_store(
    path: Path, schemas: dict[str, tuple[int, str]], rows: Iterable[Row] = ()
) -> None:
    """Write `path` as old firmware did: each component's (version, DDL), then `rows`, each an
    (INSERT statement, parameters)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    try:
        with db:
            for statement in split_sql(BASE_DDL):
                db.execute(statement)
            for component, (version, ddl) in schemas.items():
                for statement in split_sql(ddl):
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_version (component, version) VALUES (?, ?)",
                    (component, version),
                )
            for sql, params in rows:
                db.execute(sql, tuple(params))
    finally:
        db.close()


def kv(namespace: str, key: str, json_text: str) -> Row:
    """A row of the key-value table (its value as JSON text)."""
    return ("INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?)", (namespace, key, json_text))

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

"""The head-end's own database: a SQLite file in WAL mode, one transaction per message.

It records everything crossing the WAN as the head-end saw it: hub presence, commands sent,
acknowledgements (clause 19.1.6), results, events (clause 18.6) and uplink messages refused as
malformed (clause 18.11.j), each with the head-end's own reception time. Events are kept in the
one event shape (`protocol.event_report`) and keyed by (hub, source, seq), so an event sent
again after a reconnect is not recorded twice.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from protocol.event_report import EventReport
from protocol.wan import CommandAck, CommandResult, HubStatus, WanCommand

SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS hub_status (
    hub_id TEXT PRIMARY KEY, state TEXT NOT NULL, at TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS status_log (
    id INTEGER PRIMARY KEY, hub_id TEXT NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL,
    received_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commands (
    request_id TEXT PRIMARY KEY, hub_id TEXT NOT NULL, device TEXT NOT NULL, type TEXT NOT NULL,
    payload TEXT NOT NULL, sent_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS acks (
    id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, hub_id TEXT NOT NULL, status TEXT NOT NULL,
    reason TEXT, received_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, hub_id TEXT NOT NULL, ok INTEGER NOT NULL,
    data TEXT, error TEXT, received_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, hub_id TEXT NOT NULL, source TEXT NOT NULL, seq INTEGER NOT NULL,
    code INTEGER NOT NULL, ref TEXT NOT NULL, title TEXT NOT NULL, utc TEXT NOT NULL,
    detail TEXT NOT NULL, received_at TEXT NOT NULL, UNIQUE (hub_id, source, seq));
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, error TEXT NOT NULL,
    received_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS acks_request ON acks (request_id);
CREATE INDEX IF NOT EXISTS results_request ON results (request_id);
"""


class HeadendStore:
    """Owned by one thread (the head-end's event loop)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)  # explicit BEGIN per message
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        if int(self._db.execute("PRAGMA user_version").fetchone()[0]) == 1:
            # Version 1 kept events in another shape: set them aside rather than lose them.
            self._db.execute("ALTER TABLE events RENAME TO events_v1")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _write(self, sql: str, *params: Any) -> None:
        with self._transaction() as db:
            db.execute(sql, params)

    def record_command(self, hub_id: str, command: WanCommand, sent_at: datetime) -> None:
        self._write(
            "INSERT INTO commands VALUES (?, ?, ?, ?, ?, ?)",
            command.id,
            hub_id,
            command.device,
            command.type.value,
            command.to_json().decode(),
            sent_at.isoformat(),
        )

    def record_status(self, hub_id: str, status: HubStatus, received_at: datetime) -> None:
        # Two statements, one transaction: latest state and its history agree.
        row = (hub_id, status.state.value, status.at.isoformat(), received_at.isoformat())
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO hub_status VALUES (?, ?, ?, ?)", row)
            db.execute(
                "INSERT INTO status_log (hub_id, state, at, received_at) VALUES (?, ?, ?, ?)", row
            )

    def record_ack(self, hub_id: str, ack: CommandAck, received_at: datetime) -> None:
        self._write(
            "INSERT INTO acks (request_id, hub_id, status, reason, received_at) VALUES (?, ?, ?, ?, ?)",
            ack.id,
            hub_id,
            ack.status.value,
            ack.reason,
            received_at.isoformat(),
        )

    def record_result(self, hub_id: str, result: CommandResult, received_at: datetime) -> None:
        self._write(
            "INSERT INTO results (request_id, hub_id, ok, data, error, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            result.id,
            hub_id,
            int(result.ok),
            None if result.data is None else json.dumps(result.data),
            result.error,
            received_at.isoformat(),
        )

    def record_event(self, hub_id: str, event: EventReport, received_at: datetime) -> None:
        self._write(
            "INSERT OR IGNORE INTO events"
            " (hub_id, source, seq, code, ref, title, utc, detail, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            hub_id,
            event.source,
            event.seq,
            event.code,
            event.ref,
            event.title,
            event.utc.isoformat(),
            json.dumps(dict(event.detail)),
            received_at.isoformat(),
        )

    def record_rejected(
        self, topic: str, payload: bytes, error: str, received_at: datetime
    ) -> None:
        self._write(
            "INSERT INTO rejected (topic, payload, error, received_at) VALUES (?, ?, ?, ?)",
            topic,
            payload,
            error,
            received_at.isoformat(),
        )

    def hub_statuses(self) -> dict[str, dict[str, str]]:
        rows = self._db.execute("SELECT * FROM hub_status ORDER BY hub_id")
        return {row["hub_id"]: {k: row[k] for k in ("state", "at", "received_at")} for row in rows}

    def recent_events(self, limit: int, hub_id: str | None = None) -> list[dict[str, Any]]:
        """The last `limit` events, oldest first."""
        where, params = ("WHERE hub_id = ?", [hub_id]) if hub_id else ("", [])
        rows = self._db.execute(
            f"SELECT * FROM events {where} ORDER BY id DESC LIMIT ?", [*params, limit]
        ).fetchall()
        return [
            {
                "hub_id": row["hub_id"],
                **EventReport(
                    seq=row["seq"],
                    code=row["code"],
                    ref=row["ref"],
                    title=row["title"],
                    utc=datetime.fromisoformat(row["utc"]),
                    source=row["source"],
                    detail=json.loads(row["detail"]),
                ).to_dict(),
                "received_at": row["received_at"],
            }
            for row in reversed(rows)
        ]

    def count(self, table: str, request_id: str | None = None) -> int:
        """Rows in one of the tables (for tests and the bench)."""
        if table not in {"commands", "acks", "results", "events", "rejected", "status_log"}:
            raise ValueError(f"no table {table!r}")
        where, params = ("WHERE request_id = ?", [request_id]) if request_id else ("", [])
        return int(self._db.execute(f"SELECT COUNT(*) FROM {table} {where}", params).fetchone()[0])

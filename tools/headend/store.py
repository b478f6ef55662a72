"""The head-end's own database: a SQLite file in WAL mode, one transaction per message.

It records everything crossing the WAN as the head-end saw it: hub presence, commands sent,
acknowledgements (clause 19.1.6), results, events (clause 18.6) and uplink messages refused as
malformed (clause 18.11.j), each with the head-end's own reception time. Events are kept in the
one event shape (`protocol.event_report`) and keyed by (hub, source, seq), so an event sent
again after a reconnect is not recorded twice.

Outbox messages (`protocol.wan.UplinkMessage`) are kept by `record_uplink` exactly once and in
order: a message is taken only if it is the next of its (hub, source) stream, in the same
transaction as the stream's new high-water mark, and the answer is the mark to acknowledge
(clause 19.1.6). Commands, acknowledgements, results, events, alerts and readings carry the
supplier that owns them (`supplier`, None where the inventory names none).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from protocol.errors import DecodeError, LocalProtocolError
from protocol.event_report import EventReport
from protocol.wan import (
    CommandAck,
    CommandResult,
    HubStatus,
    UplinkKind,
    UplinkMessage,
    WanCommand,
    component_of,
)
from tools.headend.sqlite_tx import transaction

SCHEMA_VERSION = 3
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
CREATE TABLE IF NOT EXISTS uplink_streams (
    hub_id TEXT NOT NULL, source TEXT NOT NULL, last_seq INTEGER NOT NULL,
    PRIMARY KEY (hub_id, source));
CREATE TABLE IF NOT EXISTS uplinks (
    id INTEGER PRIMARY KEY, hub_id TEXT NOT NULL, source TEXT NOT NULL, seq INTEGER NOT NULL,
    kind TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL, supplier TEXT,
    received_at TEXT NOT NULL, UNIQUE (hub_id, source, seq));
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY, hub_id TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL,
    data TEXT NOT NULL, supplier TEXT, received_at TEXT NOT NULL);
"""
#: Columns version 3 adds to the tables of version 2 (ALTER TABLE, guarded, so idempotent).
_ADDED = {
    "commands": ("supplier TEXT",),
    "acks": ("supplier TEXT",),
    "results": ("supplier TEXT",),
    "events": ("supplier TEXT", "kind TEXT NOT NULL DEFAULT 'event'", "module TEXT"),
}


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
        for table, columns in _ADDED.items():
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for column in columns:
                if column.split()[0] not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db)

    def _write(self, sql: str, *params: Any) -> None:
        with self._transaction() as db:
            db.execute(sql, params)

    def record_command(
        self, hub_id: str, command: WanCommand, sent_at: datetime, supplier: str | None = None
    ) -> None:
        self._write(
            "INSERT INTO commands (request_id, hub_id, device, type, payload, sent_at, supplier)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            command.id,
            hub_id,
            command.device,
            command.type.value,
            command.to_json().decode(),
            sent_at.isoformat(),
            supplier,
        )

    def supplier_of_request(self, request_id: str) -> str | None:
        row = self._db.execute(
            "SELECT supplier FROM commands WHERE request_id = ?", (request_id,)
        ).fetchone()
        return None if row is None else row["supplier"]

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
            "INSERT INTO acks (request_id, hub_id, status, reason, received_at, supplier)"
            " VALUES (?, ?, ?, ?, ?, (SELECT supplier FROM commands WHERE request_id = ?))",
            ack.id,
            hub_id,
            ack.status.value,
            ack.reason,
            received_at.isoformat(),
            ack.id,
        )

    def record_result(self, hub_id: str, result: CommandResult, received_at: datetime) -> None:
        with self._transaction() as db:
            self._insert_result(db, hub_id, result, received_at)

    @staticmethod
    def _insert_result(
        db: sqlite3.Connection, hub_id: str, result: CommandResult, received_at: datetime
    ) -> None:
        db.execute(
            "INSERT INTO results (request_id, hub_id, ok, data, error, received_at, supplier)"
            " VALUES (?, ?, ?, ?, ?, ?, (SELECT supplier FROM commands WHERE request_id = ?))",
            (
                result.id,
                hub_id,
                int(result.ok),
                None if result.data is None else json.dumps(result.data),
                result.error,
                received_at.isoformat(),
                result.id,
            ),
        )

    def record_event(self, hub_id: str, event: EventReport, received_at: datetime) -> None:
        with self._transaction() as db:
            self._insert_event(db, hub_id, event, received_at, UplinkKind.EVENT, None)

    @staticmethod
    def _insert_event(
        db: sqlite3.Connection,
        hub_id: str,
        event: EventReport,
        received_at: datetime,
        kind: UplinkKind,
        supplier: str | None,
    ) -> None:
        db.execute(
            "INSERT OR IGNORE INTO events (hub_id, source, seq, code, ref, title, utc, detail,"
            " received_at, kind, module, supplier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                hub_id,
                event.source,
                event.seq,
                event.code,
                event.ref,
                event.title,
                event.utc.isoformat(),
                json.dumps(dict(event.detail)),
                received_at.isoformat(),
                kind.value,
                event.module,
                supplier,
            ),
        )

    def record_uplink(
        self,
        hub_id: str,
        message: UplinkMessage,
        received_at: datetime,
        supplier: str | None = None,
    ) -> tuple[int, bool]:
        """Keep `message` if it is the next of its stream; returns (the stream's high-water
        mark to acknowledge, whether it was kept). A body that does not decode as its kind says
        is kept aside in `rejected` and the stream moves on, so one bad message cannot block
        everything behind it."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT last_seq FROM uplink_streams WHERE hub_id = ? AND source = ?",
                (hub_id, message.source),
            ).fetchone()
            last = 0 if row is None else int(row[0])
            if message.seq != last + 1:
                return last, False  # a repeat (<= last) or ahead of a gap: the hub sends again
            when = received_at.isoformat()
            db.execute(
                "INSERT INTO uplinks (hub_id, source, seq, kind, at, body, supplier, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    hub_id,
                    message.source,
                    message.seq,
                    message.kind.value,
                    message.at.isoformat(),
                    json.dumps(message.body),
                    supplier,
                    when,
                ),
            )
            try:
                self._project(db, hub_id, message, received_at, supplier)
            except (DecodeError, LocalProtocolError) as exc:
                db.execute(
                    "INSERT INTO rejected (topic, payload, error, received_at) VALUES (?, ?, ?, ?)",
                    (f"{hub_id}/uplink/{message.source}", message.to_json(), str(exc), when),
                )
            db.execute(
                "INSERT INTO uplink_streams (hub_id, source, last_seq) VALUES (?, ?, ?)"
                " ON CONFLICT (hub_id, source) DO UPDATE SET last_seq = excluded.last_seq",
                (hub_id, message.source, message.seq),
            )
        return message.seq, True

    def _project(
        self,
        db: sqlite3.Connection,
        hub_id: str,
        message: UplinkMessage,
        received_at: datetime,
        supplier: str | None,
    ) -> None:
        """The message in the table of its kind."""
        if message.kind is UplinkKind.RESULT:
            self._insert_result(db, hub_id, message.result(), received_at)
        elif message.kind in (UplinkKind.EVENT, UplinkKind.ALERT):
            self._insert_event(db, hub_id, message.event(), received_at, message.kind, supplier)
        elif message.kind in (UplinkKind.READING, UplinkKind.SYNC):
            device = message.body.get("device", component_of(message.source))
            db.execute(
                "INSERT INTO readings (hub_id, device, kind, data, supplier, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    hub_id,
                    str(device),
                    message.kind.value,
                    json.dumps(message.body),
                    supplier,
                    received_at.isoformat(),
                ),
            )

    def uplinks(self, hub_id: str, source: str | None = None) -> list[dict[str, Any]]:
        """Every outbox message kept from `hub_id`, in order per source."""
        where, params = ("AND source = ?", [hub_id, source]) if source else ("", [hub_id])
        rows = self._db.execute(
            f"SELECT * FROM uplinks WHERE hub_id = ? {where} ORDER BY source, seq", params
        ).fetchall()
        return [
            {
                "source": row["source"],
                "seq": row["seq"],
                "kind": row["kind"],
                "at": row["at"],
                "body": json.loads(row["body"]),
                "supplier": row["supplier"],
                "received_at": row["received_at"],
            }
            for row in rows
        ]

    def recent_alerts(self, limit: int, supplier: str | None = None) -> list[dict[str, Any]]:
        """The last `limit` alerts (events sent at once), oldest first."""
        where, params = ("AND supplier = ?", [supplier]) if supplier else ("", [])
        alerts = self._events_by(f"kind = 'alert' {where}", params, limit)
        for alert in alerts:
            del alert["_id"]
        return alerts

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
        """The last `limit` events and alerts, oldest first."""
        where, params = ("hub_id = ?", [hub_id]) if hub_id else ("1", [])
        events = self._events_by(where, params, limit)
        for event in events:
            del event["_id"]
        return events

    def _events_by(self, where: str, params: list[Any], limit: int = -1) -> list[dict[str, Any]]:
        rows = self._db.execute(
            f"SELECT * FROM events WHERE {where} ORDER BY id DESC LIMIT ?", [*params, limit]
        ).fetchall()
        return [
            {
                "_id": row["id"],
                "hub_id": row["hub_id"],
                **EventReport(
                    seq=row["seq"],
                    code=row["code"],
                    ref=row["ref"],
                    title=row["title"],
                    utc=datetime.fromisoformat(row["utc"]),
                    source=row["source"],
                    detail=json.loads(row["detail"]),
                    module=row["module"],
                ).to_dict(),
                "kind": row["kind"],
                "supplier": row["supplier"],
                "received_at": row["received_at"],
            }
            for row in reversed(rows)
        ]

    def count(self, table: str, request_id: str | None = None) -> int:
        """Rows in one of the tables (for tests and the bench)."""
        tables = {"commands", "acks", "results", "events", "rejected", "status_log", "uplinks"}
        if table not in tables | {"readings"}:
            raise ValueError(f"no table {table!r}")
        where, params = ("WHERE request_id = ?", [request_id]) if request_id else ("", [])
        return int(self._db.execute(f"SELECT COUNT(*) FROM {table} {where}", params).fetchone()[0])

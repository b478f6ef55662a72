"""Event log of a component: time-stamped, non-volatile, in commit order (section 18).

Each component keeps its own log in its own store (clause 18.2: persisted in a non-volatile log
of the originating component), stamped in UTC from the component's RTC (clause 15.5). An event is
written in the same transaction as the change that caused it when the caller passes that
transaction, so a crash can never keep the change and lose its event, or the reverse (clause
11.10: every switch change logged with its cause).

Sequence numbers come from an AUTOINCREMENT key: SQLite never hands one out again, even after the
rows are deleted by `clear`, so the head-end can use them to spot gaps and duplicates. Clearing
leaves 'Event log cleared' (B.1.2) as the first entry, and keeps whatever the hub has not taken
yet (`keep_untaken`): clearing the log never loses an event on its way to the head-end.

Each log has an epoch, a random number drawn when it is created: a log in a new store (a
replaced meter) has another, so the hub knows its numbers start again (`hub.meter_events`).
Details are strict JSON: NaN and Infinity are refused when the event is recorded, with our
error, so no event in the log can fail to travel.
"""

from __future__ import annotations

import enum
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hal.ports import Clock, NonVolatileStore, Tx, require_utc
from protocol.errors import LocalProtocolError
from protocol.event_codes import EventCode
from protocol.event_report import EventReport

__all__ = ["EventLog", "EventRecord"]

SCHEMA_COMPONENT = "event_log"
SCHEMA_VERSION = 2
# Version 2 adds `module` (clauses 18.3, 6.4.6); a version 1 log gains the column at start.
SCHEMA = """
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

_COLUMNS = "seq, utc, code, component, detail, module"


def _json_default(value: object) -> object:
    # Details often carry times (B.8.3 old/new time) and enum states (switch positions).
    if isinstance(value, datetime):
        return require_utc(value).isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} in an event detail is not JSON serialisable")


def _dumps(detail: Mapping[str, Any]) -> str:
    try:
        return json.dumps(
            detail, sort_keys=True, separators=(",", ":"), default=_json_default, allow_nan=False
        )
    except ValueError as exc:  # NaN or Infinity: no JSON reader takes it back
        raise LocalProtocolError(f"event detail is not strict JSON: {exc}") from None


_EPOCH_KEY = ("event_log_meta", "epoch")


def _new_epoch() -> int:
    return secrets.randbelow(0xFFFFFFFF) + 1


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event log entry. `utc` is the RTC time the event was stamped with (aware, UTC)."""

    seq: int
    utc: datetime
    code: EventCode
    component: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    #: The module of the component that raised it (clauses 18.3, 6.4.6), if it said.
    module: str | None = None

    def report(self) -> EventReport:
        """The event as it is shown on the bench port and sent over the HAN and the WAN."""
        return EventReport.of(
            self.code,
            seq=self.seq,
            utc=self.utc,
            source=self.component,
            detail=self.detail,
            module=self.module,
        )


class EventLog:
    """The event log of one component (ESME, GSME, hub or IHD) in its non-volatile store."""

    def __init__(
        self,
        store: NonVolatileStore,
        clock: Clock,
        component: str,
        new_epoch: Callable[[], int] = _new_epoch,
    ) -> None:
        self._store = store
        self._clock = clock
        self.component = component
        self._listeners: list[Callable[[], None]] = []
        self._untaken_after: Callable[[], int] | None = None
        store.ensure_schema(SCHEMA_COMPONENT, SCHEMA_VERSION, SCHEMA)
        with store.transaction() as tx:  # idempotent upgrade of a version 1 log
            columns = {row[1] for row in tx.execute("PRAGMA table_info(event_log)").fetchall()}
            if "module" not in columns:
                tx.execute("ALTER TABLE event_log ADD COLUMN module TEXT")
            epoch = store.get(*_EPOCH_KEY, None, tx=tx)
            if not isinstance(epoch, int):
                epoch = new_epoch()
                store.put(*_EPOCH_KEY, epoch, tx=tx)
        #: Drawn once, when the log was created (see the module docstring).
        self.epoch: int = epoch

    def keep_untaken(self, taken: Callable[[], int]) -> None:
        """`clear` keeps the events after `taken()` (the last the hub has taken for good)."""
        self._untaken_after = taken

    def record(
        self,
        code: EventCode,
        detail: Mapping[str, Any] | None = None,
        tx: Tx | None = None,
        *,
        at: datetime | None = None,
        module: str | None = None,
    ) -> EventRecord:
        """Append an event, inside `tx` if given (it then commits or rolls back with it).

        `module` names the part of the component that raised it (clauses 18.3, 6.4.6).

        `at` overrides the stamp where the appendix asks for a time other than now: B.8.3 and
        B.8.1/B.8.2 are stamped with the time before the clock changed.
        """
        stamp = require_utc(at) if at is not None else require_utc(self._clock.now())
        details = dict(detail or {})
        text = _dumps(details)
        if tx is not None:
            seq = self._insert(tx, stamp, code, text, module)
        else:
            with self._store.transaction() as own:
                seq = self._insert(own, stamp, code, text, module)
        for listener in self._listeners:
            listener()
        # Store and return the same round-tripped detail, so callers see what a reader will.
        return EventRecord(seq, stamp, EventCode(code), self.component, json.loads(text), module)

    def on_record(self, listener: Callable[[], None]) -> None:
        """Call `listener` after each event is written (inside the caller's transaction, if it
        passed one: whoever it wakes must look in the log from the event loop, after the
        commit, as `devices.meter.event_uplink` does)."""
        self._listeners.append(listener)

    def _insert(
        self, tx: Tx, stamp: datetime, code: EventCode, detail: str, module: str | None
    ) -> int:
        tx.execute(
            "INSERT INTO event_log (utc, code, component, detail, module) VALUES (?, ?, ?, ?, ?)",
            (stamp.isoformat(timespec="microseconds"), int(code), self.component, detail, module),
        )
        seq = tx.lastrowid
        assert seq is not None
        return seq

    def recent(self, limit: int = 50) -> list[EventRecord]:
        """The last `limit` events, newest first."""
        return self._query(f"SELECT {_COLUMNS} FROM event_log ORDER BY seq DESC LIMIT ?", (limit,))

    def since(self, seq: int, limit: int | None = None) -> list[EventRecord]:
        """Events after sequence number `seq`, oldest first (for upload to the head-end)."""
        return self._query(
            f"SELECT {_COLUMNS} FROM event_log WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, -1 if limit is None else limit),
        )

    def count(self, code: EventCode | None = None) -> int:
        with self._store.transaction() as tx:
            if code is None:
                row = tx.execute("SELECT COUNT(*) FROM event_log").fetchone()
            else:
                row = tx.execute(
                    "SELECT COUNT(*) FROM event_log WHERE code = ?", (int(code),)
                ).fetchone()
        return int(row[0])

    def last_seq(self) -> int:
        """Highest sequence number ever handed out (0 for a log never written)."""
        with self._store.transaction() as tx:
            row = tx.execute("SELECT seq FROM sqlite_sequence WHERE name = 'event_log'").fetchone()
        return 0 if row is None else int(row[0])

    def clear(self, detail: Mapping[str, Any] | None = None, tx: Tx | None = None) -> EventRecord:
        """Delete every entry and start again with 'Event log cleared' (B.1.2).

        Who may clear (authorised personnel only) is the caller's decision; sequence numbers go
        on from where they were. Events the hub has not taken yet (`keep_untaken`) stay.
        """
        if tx is None:
            with self._store.transaction() as own:
                return self.clear(detail, own)
        if self._untaken_after is None:
            tx.execute("DELETE FROM event_log")
        else:
            tx.execute("DELETE FROM event_log WHERE seq <= ?", (self._untaken_after(),))
        return self.record(EventCode.EVENT_LOG_CLEARED, detail, tx)

    def _query(self, sql: str, params: tuple[int, ...]) -> list[EventRecord]:
        with self._store.transaction() as tx:
            rows = tx.execute(sql, params).fetchall()
        return [
            EventRecord(
                seq=int(seq),
                utc=datetime.fromisoformat(utc).astimezone(UTC),
                code=EventCode(code),
                component=str(component),
                detail=json.loads(detail),
                module=module,
            )
            for seq, utc, code, component, detail, module in rows
        ]

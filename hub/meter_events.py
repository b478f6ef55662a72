"""The meters' events as the hub takes them: once each, treated as configured, for their supplier.

A meter publishes each event of its log over the HAN (`hub.han.event_client`,
`devices.meter.event_uplink`). In one SQLite transaction the hub checks the meter's sequence
number against the highest it holds from that meter, treats a new event as the hub's settings
say (`hub.event_treatment`, clauses 18.6-18.8, 18.12: an alert in the outbox at once, a message
held for the next scheduled exchange, or nothing more), and moves that mark. Only after the
commit does the meter hear SUCCESS, so an event the meter publishes again after a crash of
either end is recognised by its sequence number and answered without being queued twice.

Each event travels in the meter's own outbox stream (`source` = the meter), which the hub's WAN
security seals to the supplier that owns that meter (`hub.wan_roles`, 6.1.4), never to the
other one; the event names the meter and the module of the meter that raised it (18.3, 6.4.6).
An event sent at once first takes along whatever the same meter had held for the next exchange,
so the head-end receives each meter's events in the meter's order.

What a meter may push is bounded (a meter is a device on the premises, not a trusted party):

- Marks are kept per (meter, log epoch) (`protocol.meter_events`): a meter whose log was
  replaced (a new store) starts a new count instead of being taken for repeats. Within an epoch
  a number more than `SEQ_WINDOW` ahead of the mark is refused (INVALID_VALUE, the mark stays,
  Unusual HAN traffic, 18.11.f): a hostile or broken 0xFFFFFFFF cannot silence the meter's later
  events. A new epoch of a meter the hub knows by another counts from 1 (a replaced store), so
  the window applies from 0; only the first log the hub meets of a meter (a new hub, or marks
  from before epochs) is taken from whatever number it is at, since that log may be long (though a number up to the mark
  the hub kept for that meter before epochs is a repeat: the same log, taken already). A jump of more than one, or a number behind the mark, is taken as usual (a repeat is
  answered, nothing queued) and logged as Unusual HAN traffic too.
- Each meter has a budget of `BUDGET` events at once, refilled at `BUDGET_PER_S` an emulated
  second (the hub's clock). Over budget, the event is not answered at all and the mark stays:
  the meter keeps it and publishes it again later, so nothing is lost (Unusual HAN traffic,
  at most once a minute per meter).
- A code this build does not know waits for the next scheduled exchange: nobody configured it
  to be urgent.
- At most `MAX_WAITING` of a meter's messages wait in the outbox and held for the next exchange
  together; beyond that the meter's events are not answered (the meter keeps them) and a
  'Log capacity reached' event says why, once a minute at most.
"""

from __future__ import annotations

import logging

from firmware.rate_limit import OncePer, TokenBuckets
from hal.ports import Clock, NonVolatileStore, Tx
from protocol.event_codes import EventCode
from protocol.event_report import EventReport
from protocol.meter_events import PublishedEvent
from protocol.wan import UplinkKind, stream_of

from .event_treatment import Treatment
from .han.commissioning import RecordEvent
from .han.event_client import Intake
from .hub_config import HubConfig
from .outbox import Outbox

__all__ = ["Intake", "MeterEvents"]

LOGGER = logging.getLogger(__name__)
SCHEMA_COMPONENT = "meter_events"
SCHEMA_VERSION = 2
# Version 2 keys the marks by (meter, epoch); a version 1 table is renamed and its marks kept
# under epoch 0, which no meter's log draws.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meter_events_marks (
    source TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (source, epoch)
);
"""
#: How far ahead of the mark of its epoch a meter's sequence number may be.
SEQ_WINDOW = 1000
#: Events a meter may push at once, and how many more each emulated second.
BUDGET = 60
BUDGET_PER_S = 1.0
#: A meter's messages that may wait in the outbox and held together.
MAX_WAITING = 1000
#: Emulated seconds between two reports of the same anomaly from the same meter.
REPORT_EVERY_S = 60.0


class MeterEvents:
    """The hub's intake of its meters' events (see the module docstring)."""

    def __init__(
        self,
        store: NonVolatileStore,
        clock: Clock,
        outbox: Outbox,
        config: HubConfig,
        record: RecordEvent | None = None,
    ) -> None:
        self._store, self._clock, self._outbox, self._config = store, clock, outbox, config
        self._record = record
        self._budget = TokenBuckets(clock, BUDGET, BUDGET_PER_S)
        self._report_due = OncePer(clock, REPORT_EVERY_S)
        store.ensure_schema(SCHEMA_COMPONENT, SCHEMA_VERSION, SCHEMA)
        with store.transaction() as tx:  # idempotent upgrade of version 1's marks
            old = tx.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
                ("meter_events_taken",),
            ).fetchone()
            if old is not None:
                tx.execute(
                    "INSERT OR IGNORE INTO meter_events_marks (source, epoch, seq)"
                    " SELECT source, 0, seq FROM meter_events_taken"
                )
                tx.execute("DROP TABLE meter_events_taken")

    def taken(self, meter: str, epoch: int = 0) -> int:
        """The highest sequence number taken from `meter`'s log `epoch` (0 before its first)."""
        with self._store.transaction() as tx:
            return _mark(tx, meter, epoch) or 0

    def take(self, meter: str, event: PublishedEvent) -> Intake:
        """Store `event` from `meter` once, as its treatment says; returns after the commit."""
        report = _report(meter, event)
        code = report.event_code
        treatment = (
            Treatment.NEXT_EXCHANGE  # unknown to this build: nobody made it urgent
            if code is None
            else self._config.treatments().treatment(code, self._clock.now())
        )
        anomaly: str | None = None
        with self._store.transaction() as tx:
            mark = _mark(tx, meter, event.epoch)
            known = _known_log(tx, meter)
            # A new log of a meter known by another: it counts from 1 (a replaced store).
            floor = 0 if mark is None and known else mark
            if mark is None and not known:
                # The first epoch the hub meets of a meter it took events from before epochs
                # (version 1) is the log those events came from: what it took stays taken.
                mark = _mark(tx, meter, 0)
            if mark is not None and event.seq <= mark:
                if event.seq < mark:
                    anomaly = f"event {event.seq} behind the mark {mark}"
                LOGGER.info("%s event %d again: held already", meter, event.seq)
                outcome = Intake.AGAIN
            elif floor is not None and event.seq > floor + SEQ_WINDOW:
                anomaly = f"event {event.seq} far ahead of the mark {floor}: refused"
                outcome = Intake.REFUSED
            elif self._waiting(tx, meter) >= MAX_WAITING:
                outcome = Intake.DEFERRED
            elif not self._budget.take(meter):
                anomaly = "over its event budget"
                outcome = Intake.DEFERRED
            else:
                if mark is not None and event.seq > mark + 1:
                    anomaly = f"events {mark + 1} to {event.seq - 1} skipped"
                self._queue(tx, meter, treatment, report)
                tx.execute(
                    "INSERT INTO meter_events_marks (source, epoch, seq) VALUES (?, ?, ?)"
                    " ON CONFLICT (source, epoch) DO UPDATE SET seq = excluded.seq",
                    (meter, event.epoch, event.seq),
                )
                outcome = Intake.TAKEN
        if outcome is Intake.DEFERRED and anomaly is None:
            self._report(meter, EventCode.LOG_CAPACITY_REACHED, "its outbox is full")
        elif anomaly is not None:
            self._report(meter, EventCode.UNUSUAL_HAN_TRAFFIC, anomaly)
        if outcome is Intake.TAKEN:
            LOGGER.info("%s event %d (%s) taken: %s", meter, event.seq, report.title, treatment)
        return outcome

    def _queue(self, tx: Tx, meter: str, treatment: Treatment, report: EventReport) -> None:
        body = report.to_dict()
        if treatment is Treatment.SEND_NOW:
            self._outbox.release(meter, tx)
            self._outbox.enqueue(meter, UplinkKind.ALERT, body, tx)
        elif treatment is Treatment.NEXT_EXCHANGE:
            self._outbox.hold(meter, UplinkKind.EVENT, body, tx)

    @staticmethod
    def _waiting(tx: Tx, meter: str) -> int:
        """The meter's messages in the outbox and held, in any of its streams."""
        prefix = stream_of(meter, "")
        params = (meter, len(prefix), prefix)
        where = "source = ? OR substr(source, 1, ?) = ?"
        queued = tx.execute(f"SELECT COUNT(*) FROM outbox WHERE {where}", params).fetchone()
        held = tx.execute(f"SELECT COUNT(*) FROM outbox_held WHERE {where}", params).fetchone()
        return int(queued[0]) + int(held[0])

    def _report(self, meter: str, code: EventCode, what: str) -> None:
        if not self._report_due((meter, code)):
            return  # a flood of frames must not become a flood of events
        LOGGER.warning("%s: %s", meter, what)
        if self._record is not None:
            self._record(code, {"sender": meter, "link": "HAN", "reason": what})


def _known_log(tx: Tx, meter: str) -> bool:
    """Whether the hub holds a mark of one of `meter`'s logs (not one from before epochs)."""
    row = tx.execute(
        "SELECT 1 FROM meter_events_marks WHERE source = ? AND epoch != 0 LIMIT 1", (meter,)
    ).fetchone()
    return row is not None


def _mark(tx: Tx, meter: str, epoch: int) -> int | None:
    row = tx.execute(
        "SELECT seq FROM meter_events_marks WHERE source = ? AND epoch = ?", (meter, epoch)
    ).fetchone()
    return None if row is None else int(row[0])


def _report(meter: str, event: PublishedEvent) -> EventReport:
    """The event in the one event shape, from the meter and its module."""
    module = event.module or None
    try:
        code = EventCode(event.code)
    except ValueError:
        return EventReport(
            event.seq,
            event.code,
            "",
            f"event {event.code} (unknown to this hub)",
            event.utc,
            meter,
            dict(event.detail),
            module,
        )
    return EventReport.of(
        code, seq=event.seq, utc=event.utc, source=meter, detail=event.detail, module=module
    )

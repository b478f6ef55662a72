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
"""

from __future__ import annotations

import logging

from hal.ports import Clock, NonVolatileStore
from protocol.event_codes import EventCode
from protocol.event_report import EventReport
from protocol.meter_events import PublishedEvent
from protocol.wan import UplinkKind

from .event_treatment import Treatment
from .hub_config import HubConfig
from .outbox import Outbox

__all__ = ["MeterEvents"]

LOGGER = logging.getLogger(__name__)
SCHEMA_COMPONENT = "meter_events"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meter_events_taken (
    source TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
"""


class MeterEvents:
    """The hub's intake of its meters' events (see the module docstring)."""

    def __init__(
        self, store: NonVolatileStore, clock: Clock, outbox: Outbox, config: HubConfig
    ) -> None:
        self._store, self._clock, self._outbox, self._config = store, clock, outbox, config
        store.ensure_schema(SCHEMA_COMPONENT, SCHEMA_VERSION, SCHEMA)

    def taken(self, meter: str) -> int:
        """The highest sequence number taken from `meter` (0 before its first event)."""
        with self._store.transaction() as tx:
            row = tx.execute(
                "SELECT seq FROM meter_events_taken WHERE source = ?", (meter,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    def take(self, meter: str, event: PublishedEvent) -> None:
        """Store `event` from `meter` once, as its treatment says; returns after the commit."""
        report = _report(meter, event)
        code = report.event_code
        # A code this build does not know is sent at once: nobody configured it to wait.
        treatment = (
            Treatment.SEND_NOW
            if code is None
            else self._config.treatments().treatment(code, self._clock.now())
        )
        with self._store.transaction() as tx:
            row = tx.execute(
                "SELECT seq FROM meter_events_taken WHERE source = ?", (meter,)
            ).fetchone()
            if row is not None and event.seq <= int(row[0]):
                LOGGER.info("%s event %d again: held already", meter, event.seq)
                return
            body = report.to_dict()
            if treatment is Treatment.SEND_NOW:
                self._outbox.release(meter, tx)
                self._outbox.enqueue(meter, UplinkKind.ALERT, body, tx)
            elif treatment is Treatment.NEXT_EXCHANGE:
                self._outbox.hold(meter, UplinkKind.EVENT, body, tx)
            tx.execute(
                "INSERT INTO meter_events_taken (source, seq) VALUES (?, ?)"
                " ON CONFLICT (source) DO UPDATE SET seq = excluded.seq",
                (meter, event.seq),
            )
        LOGGER.info("%s event %d (%s) taken: %s", meter, event.seq, report.title, treatment)


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

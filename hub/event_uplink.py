"""The hub's events go up the WAN in order, none left behind (clause 18.6).

An event is logged first (the hub's event log, in its non-volatile store) and sent after, in
sequence order, by this loop: it remembers in the same store the last sequence number the
broker took, so events logged while the WAN was down (the hub's own Power up, logged before the
WAN is up, among them) go up when it is back, and a hub that restarts carries on from where it
was. An event may go up twice after a crash between the broker's acknowledgement and the save
of the cursor; the head-end keys events by (hub, source, seq) and keeps one. The durable outbox
with application-level acknowledgement of every uplink message is the secure-WAN issue's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from firmware.clock_waits import wait_on_clock
from firmware.event_log import EventLog
from hal.ports import Clock, NonVolatileStore
from hal.wan import WanLink
from protocol.errors import TransientLinkError

__all__ = ["EventUplink"]

LOGGER = logging.getLogger(__name__)
_NAMESPACE = "wan"
_CURSOR = "events_sent_seq"
#: Real seconds between looks at the link when nothing new was logged.
IDLE_S = 1.0
BATCH = 50


class EventUplink:
    """Sends the events of `log` up `wan`, from the last one the broker took."""

    def __init__(self, log: EventLog, store: NonVolatileStore, wan: WanLink, clock: Clock) -> None:
        self._log = log
        self._store = store
        self._wan = wan
        self._clock = clock
        self._logged = asyncio.Event()

    @property
    def sent_seq(self) -> int:
        return int(self._store.get(_NAMESPACE, _CURSOR, 0))

    def poke(self) -> None:
        """An event was logged: send it now if the link is up."""
        self._logged.set()

    async def run(self) -> None:
        """Send what is pending whenever the link is up; runs until cancelled."""
        while True:
            self._logged.clear()
            if self._wan.connected:
                await self._send_pending()
            with contextlib.suppress(TimeoutError):
                await wait_on_clock(self._clock, self._logged.wait(), IDLE_S * self._clock.scale)

    async def _send_pending(self) -> None:
        while records := self._log.since(self.sent_seq, BATCH):
            for record in records:
                try:
                    await self._wan.publish_event(record.report())
                except TransientLinkError as exc:
                    LOGGER.info("event %d not sent yet (%s); will retry", record.seq, exc)
                    return
                self._store.put(_NAMESPACE, _CURSOR, record.seq)

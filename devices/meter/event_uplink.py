"""A meter's events on their way to the head-end: published to the hub until it has them for good.

The meter is the server of the SE Events cluster (0x0709) and the hub its client. Each event of
the meter's log (`firmware.event_log`) goes to the hub's ESI endpoint as a PublishEvent
(`protocol.meter_events`), one at a time, oldest first. The hub writes the event into its
durable outbox in the same SQLite transaction as the highest sequence number it holds from this
meter, and only then answers with a Default Response SUCCESS; the meter then moves its cursor
(the highest sequence number the hub has taken) in its own store. So:

- a meter killed after logging an event publishes it after its restart (its cursor is behind);
- a hub killed before answering never committed it, and the meter publishes it again;
- an answer lost on the air, or a hub killed between its commit and its answer, makes the meter
  publish the event again; the hub recognises its sequence number and answers SUCCESS again
  without queueing it twice.

Every event reaches the hub exactly once and in order, whatever is killed when (clauses 18.2,
18.6, 19.1.6). An event without a module of its own is named after the part of the meter its
code belongs to (18.3, 6.4.6).

One bad event never stops the ones behind it: a frame that cannot be built, or that the hub
refuses for good (MALFORMED_COMMAND, INVALID_FIELD...), is published once more with its detail
replaced by `{"dropped": reason}` (the status, or "unframed") (the whole event stays in the meter's log); refused again, it
is skipped, with a warning, and the next goes. Anything else going wrong is logged and the task
tries again later: it never ends but by cancellation. The log keeps every event the hub has not
taken when it is cleared (`EventLog.keep_untaken`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from zigpy.zcl import foundation

from firmware.clock_waits import sleep_real, wait_on_clock
from firmware.event_log import EventLog, EventRecord
from firmware.zcl.client import REPLY_TIMEOUT_REAL_S, parse_default_response
from firmware.zcl.frame import ZclFrame, cluster_command_header
from hal.ports import Clock, NonVolatileStore
from hal.radio import IncomingMessage
from protocol.errors import DecodeError, SmartMeterError, TransientLinkError
from protocol.event_codes import EventCategory, EventCode
from protocol.meter_events import PublishedEvent
from protocol.se import Events

__all__ = ["EventUplink", "module_of"]

LOGGER = logging.getLogger(__name__)
_NAMESPACE = "event_uplink"
_TAKEN = "taken"
#: Real seconds between tries while the hub is away or refuses.
RETRY_REAL_S = 5.0
#: Real seconds between looks at the log when nothing woke us (a safety net only).
IDLE_REAL_S = 60.0
_PUBLISH = Events.ClientCommandDefs.publish_event
Send = Callable[[int, int, int, bytes], Awaitable[None]]
#: The hub's answers that say "this frame will never do": publishing it again cannot help.
PERMANENT_REFUSALS = frozenset(
    {
        foundation.Status.MALFORMED_COMMAND,
        foundation.Status.INVALID_FIELD,
        foundation.Status.INVALID_VALUE,
        foundation.Status.UNSUP_CLUSTER_COMMAND,
    }
)
#: What stands in for the detail of an event the hub refused for good.
DROPPED = "dropped"

_MODULE_OF = {
    EventCategory.TAMPER: "tamper",
    EventCategory.SECURITY: "security",
    EventCategory.COMMUNICATIONS: "han",
    EventCategory.HAN: "han",
    EventCategory.TARIFF_BILLING: "tariff",
    EventCategory.DISCOUNT: "tariff",
    EventCategory.CLOCK: "clock",
    EventCategory.OPERATION: "supply",
    EventCategory.FAULT: "metrology",
    EventCategory.FIRMWARE: "firmware",
}


def module_of(record: EventRecord) -> str:
    """The module of the meter that raised an event: its own word, else its code's part."""
    if record.module:
        return record.module
    return _MODULE_OF.get(EventCode(record.code).category, "core")


class EventUplink:
    """Publishes the meter's events to the hub (see the module docstring)."""

    def __init__(
        self,
        events: EventLog,
        store: NonVolatileStore,
        clock: Clock,
        send: Send,
        hub: tuple[int, int],
        joined: Callable[[], bool],
    ) -> None:
        self._events, self._store, self._clock = events, store, clock
        self._send, self._hub, self._joined = send, hub, joined
        self._wake = asyncio.Event()
        events.on_record(self._wake.set)
        events.keep_untaken(self.taken)
        self._tsn = 0
        self._answer: asyncio.Future[foundation.Status] | None = None

    def taken(self) -> int:
        """The highest sequence number the hub has taken for good."""
        return int(self._store.get(_NAMESPACE, _TAKEN, 0))

    def take_answer(self, message: IncomingMessage) -> bool:
        """Take the hub's Default Response to a PublishEvent; True if it was one (then it is
        nobody else's business)."""
        if message.cluster_id != Events.cluster_id or message.sender != self._hub[0]:
            return False
        try:
            frame = ZclFrame.parse(message.payload)
            if not (frame.to_server and frame.is_general):
                return False
            if frame.command_id != foundation.GeneralCommand.Default_Response:
                return False
            answer = parse_default_response(frame.body)
        except DecodeError:
            return False
        waiting = self._answer
        if (
            waiting is not None
            and not waiting.done()
            and frame.tsn == self._tsn
            and int(answer.command_id) == _PUBLISH.id
        ):
            waiting.set_result(answer.status)
        return True

    async def run(self) -> None:
        """Publish until cancelled; nothing but cancellation ends it."""
        while True:
            self._wake.clear()
            try:
                pending = self._events.since(self.taken(), 1)
                if not pending:
                    with contextlib.suppress(TimeoutError):
                        await wait_on_clock(
                            self._clock, self._wake.wait(), IDLE_REAL_S * self._clock.scale
                        )
                    continue
                if self._joined() and await self._deliver(pending[0]):
                    continue
            except Exception:  # the uplink must outlive any one failure (logged, tried again)
                LOGGER.exception("event uplink: publishing failed; trying again later")
            await sleep_real(self._clock, RETRY_REAL_S)

    async def _deliver(self, record: EventRecord) -> bool:
        """Publish one event, whole or, refused for good, without its detail; True once the
        hub has it or it is skipped (the cursor moved), False to try again later."""
        event = PublishedEvent(
            record.seq,
            int(record.code),
            record.utc,
            module_of(record),
            record.detail,
            self._events.epoch,
        )
        refusal = await self._publish(event)
        if refusal is None:
            return False
        if refusal == "":
            return self._taken(record.seq)
        LOGGER.warning(
            "event %d refused for good (%s); sending it without its detail", record.seq, refusal
        )
        bare = PublishedEvent(
            record.seq,
            int(record.code),
            record.utc,
            module_of(record),
            {DROPPED: refusal},
            self._events.epoch,
        )
        again = await self._publish(bare)
        if again is None:
            return False
        if again:
            LOGGER.error("event %d refused again (%s); skipped", record.seq, again)
        return self._taken(record.seq)

    def _taken(self, seq: int) -> bool:
        self._store.put(_NAMESPACE, _TAKEN, seq)
        return True

    async def _publish(self, event: PublishedEvent) -> str | None:
        """Publish `event` once: "" when the hub took it, a reason when it can never take this
        frame, None when it should be tried again later."""
        try:
            fields = event.fields()
            body = _PUBLISH.schema(**fields).serialize()
        except (SmartMeterError, ValueError, TypeError, OverflowError) as exc:
            LOGGER.warning("event %d cannot be framed: %s", event.seq, exc)
            return "unframed"
        self._tsn = (self._tsn + 1) & 0xFF
        header = cluster_command_header(
            self._tsn, _PUBLISH.id, to_server=False, disable_default_response=False
        )
        payload = bytes(header.serialize() + body)
        self._answer = asyncio.get_running_loop().create_future()
        try:
            await self._send(self._hub[0], Events.cluster_id, self._hub[1], payload)
            status = await wait_on_clock(
                self._clock, self._answer, REPLY_TIMEOUT_REAL_S * self._clock.scale
            )
        except (TransientLinkError, TimeoutError) as exc:
            LOGGER.info("event %d not taken by the hub yet: %r", event.seq, exc)
            return None
        finally:
            self._answer = None
        if status == foundation.Status.SUCCESS:
            return ""
        if status in PERMANENT_REFUSALS:
            return f"{int(status):#04x}"
        LOGGER.warning("the hub refused event %d: %r; trying again later", event.seq, status)
        return None

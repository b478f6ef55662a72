"""The hub as the client of its meters' Events clusters (0x0709): PublishEvent in, its answer out.

A meter publishes each event of its log to the hub's ESI endpoint (`protocol.meter_events`).
The hub hands it to its sink, which stores it durably (`hub.meter_events`), and answers with a
Default Response: SUCCESS once the event is stored (or was already), which moves the meter's
cursor; INVALID_VALUE for a sequence number the hub will never take (`hub.meter_events`);
NOT_AUTHORIZED from a device that is not one of the premises' meters (logged as Unauthenticated
message, 18.11.j, once a minute per sender at most); MALFORMED_COMMAND for a PublishEvent whose
EventData is not ours (logged as Malformed message, 18.11.j). A sink that fails (the store) or
defers the event (the meter's budget) answers nothing: the meter publishes the event again.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any

from zigpy.zcl import foundation

from firmware.zcl.frame import ZclFrame, response_header
from protocol.errors import DecodeError
from protocol.event_codes import EventCode
from protocol.meter_events import PublishedEvent
from protocol.se import Events

from .commissioning import RecordEvent

__all__ = ["EventSink", "Intake", "answer_publish_event"]

LOGGER = logging.getLogger(__name__)


class Intake(enum.Enum):
    """What became of a published event (`hub.meter_events`), and so what the meter hears."""

    TAKEN = "taken"  # stored now: SUCCESS
    AGAIN = "again"  # held already: SUCCESS
    REFUSED = "refused"  # never to be taken: INVALID_VALUE
    DEFERRED = "deferred"  # not now (its budget, its outbox full): no answer, it tries again


#: sink(meter name, event): stores it (once) before returning; raises if it could not.
EventSink = Callable[[str, PublishedEvent], Intake]
Status = foundation.Status
_ANSWER = {
    Intake.TAKEN: Status.SUCCESS,
    Intake.AGAIN: Status.SUCCESS,
    Intake.REFUSED: Status.INVALID_VALUE,
}
_PUBLISH = Events.ClientCommandDefs.publish_event


def answer_publish_event(
    frame: ZclFrame,
    sender: str | None,
    sink: EventSink,
    record: RecordEvent,
    meters: frozenset[str],
    report_stranger: Callable[[str | None], bool] = lambda _sender: True,
) -> bytes | None:
    """The Default Response to a server-to-client Events frame from `sender` (its rig name),
    or None when nothing is to be answered. `report_stranger(sender)` says whether a refused
    stranger is to be logged as a security event this time (a rate limit)."""
    if frame.to_server or frame.is_general:
        return None  # answers to the hub's own requests, reports: nothing asked of us
    if frame.command_id != _PUBLISH.id:
        return _default_response(frame, Status.UNSUP_CLUSTER_COMMAND)
    if sender is None or sender not in meters:
        if report_stranger(sender):
            LOGGER.warning("PublishEvent from %s refused: not one of our meters", sender)
            record(
                EventCode.UNAUTHENTICATED_MESSAGE,
                {"sender": sender, "cluster": "0x0709", "reason": "not one of the meters"},
            )
        return _default_response(frame, Status.NOT_AUTHORIZED)
    try:
        fields: Any
        fields, _rest = _PUBLISH.schema.deserialize(frame.body)
        event = PublishedEvent.parse(
            int(fields.event_id), int(fields.event_time), bytes(fields.event_data)
        )
    except (ValueError, KeyError, TypeError, DecodeError) as exc:
        record(
            EventCode.MALFORMED_MESSAGE,
            {"sender": sender, "cluster": "0x0709", "reason": str(exc)[:200]},
        )
        return _default_response(frame, Status.MALFORMED_COMMAND)
    status = _ANSWER.get(sink(sender, event))
    if status is None or frame.header.frame_control.disable_default_response:
        return None
    return _default_response(frame, status)


def _default_response(frame: ZclFrame, status: Status) -> bytes:
    head = response_header(frame.header, foundation.GeneralCommand.Default_Response)
    body = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Default_Response].schema(
        command_id=frame.command_id, status=status
    )
    return bytes(head.serialize() + body.serialize())

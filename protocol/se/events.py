"""The Events cluster (0x0709; ZigBee SE 1.4 annex D.11): a meter's event logs.

The server is the meter, which publishes events as they happen and its logs on request; the
client (ESI, IHD) reads and clears them. The cluster has no attributes. Event ids are the
SE/GBCS event codes (`protocol.event_codes`).
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl import Cluster
from zigpy.zcl.foundation import BaseCommandDefs, CommandSchema

from .types import LogId, OctetString
from .zcl_defs import GlobalAttributes, as_cluster_id, command, counted_by


class EventLogSelector(t.enum4):
    """Log ID sub-field of GetEventLog (bits 0-3): the LogId values that fit in 4 bits."""

    AllLogs = 0x0
    TamperLog = 0x1
    FaultLog = 0x2
    GeneralEventLog = 0x3
    SecurityEventLog = 0x4
    NetworkEventLog = 0x5
    GbcsGeneralEventLog = 0x6
    GbcsSecurityEventLog = 0x7


class EventControlAndLogId(t.IntStruct, t.uint8_t):
    """EventControl/LogID of GetEventLog: the log (bits 0-3), and in bits 4-7 whether to
    return the full event data (0) or none of it (1)."""

    log_id: EventLogSelector
    event_control: t.uint4_t


class PublishEventControl(t.bitmap8):
    """EventControl of PublishEvent: report the event to the user too."""

    ReportToUserInterface = 0x01


class ClearedEventLogs(t.bitmap8):
    """ClearedEventsLogs of ClearEventLogResponse: which logs were cleared."""

    AllLogsCleared = 0x01
    TamperLogCleared = 0x02
    FaultLogCleared = 0x04
    GeneralEventLogCleared = 0x08
    SecurityEventLogCleared = 0x10
    NetworkEventLogCleared = 0x20


class EventsAndPayloadControl(t.IntStruct, t.uint8_t):
    """NumberOfEvents/LogPayloadControl of PublishEventLog: whether more events follow
    (bits 0-3; 0 more, 1 none) and how many this command carries (bits 4-7)."""

    log_payload_control: t.uint4_t
    number_of_events: t.uint4_t


class EventData(OctetString):
    """EventData: event-specific octets (a ZCL octet string)."""


class LogEvent(t.Struct):
    """One event of PublishEventLog."""

    log_id: LogId
    event_id: t.uint16_t
    event_time: t.UTCTime
    event_data: EventData


class GetEventLog(CommandSchema):
    """GetEventLog: NumberOfEvents of EventID (0x0000: all) between StartTime and EndTime,
    skipping the first EventOffset."""

    event_control_log_id: EventControlAndLogId
    event_id: t.uint16_t
    start_time: t.UTCTime
    end_time: t.UTCTime
    number_of_events: t.uint8_t
    event_offset: t.uint16_t


class ClearEventLogRequest(CommandSchema):
    """ClearEventLogRequest."""

    log_id: LogId


class PublishEvent(CommandSchema):
    """PublishEvent: one event as it happens."""

    log_id: LogId
    event_id: t.uint16_t
    event_time: t.UTCTime
    event_control: PublishEventControl
    event_data: EventData


class PublishEventLog(CommandSchema):
    """PublishEventLog: the answer to GetEventLog, possibly over several commands."""

    total_number_of_matching_events: t.uint16_t
    command_index: t.uint8_t
    total_commands: t.uint8_t
    number_of_events_log_payload_control: EventsAndPayloadControl
    events: t.List[LogEvent] = counted_by(
        lambda s: s.number_of_events_log_payload_control.number_of_events
    )


class ClearEventLogResponse(CommandSchema):
    """ClearEventLogResponse."""

    cleared_events_logs: ClearedEventLogs


class Events(Cluster):
    """Events (0x0709)."""

    cluster_id = as_cluster_id(0x0709)
    ep_attribute = "smartenergy_events"

    class AttributeDefs(GlobalAttributes):
        pass

    class ServerCommandDefs(BaseCommandDefs):
        get_event_log: Final = command(0x00, GetEventLog)
        clear_event_log_request: Final = command(0x01, ClearEventLogRequest)

    class ClientCommandDefs(BaseCommandDefs):
        publish_event: Final = command(0x00, PublishEvent)
        publish_event_log: Final = command(0x01, PublishEventLog)
        clear_event_log_response: Final = command(0x02, ClearEventLogResponse)

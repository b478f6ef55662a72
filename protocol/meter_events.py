"""A meter's event in an SE PublishEvent (Events 0x0709, SE 1.4 D.11.2.4.1), both ends.

The meter (the Events server) publishes each event of its log to the hub (the client) as it is
logged; the hub stores it for the head-end and answers with a Default Response SUCCESS, which is
the meter's sign that the hub has taken it for good (see the README, "How meter events
travel"). PublishEvent's own fields carry what they can: EventID is our event code
(`protocol.event_codes`), EventTime the RTC stamp (whole seconds, UTCTime), LogID the log the
code's category belongs in. EventData, an octet string, carries the rest:

| octets | what                                                                       |
|--------|----------------------------------------------------------------------------|
| 4      | the meter's event sequence number (uint32, little-endian): how the hub     |
|        | recognises an event it already holds, after a crash of either end          |
| 1 + n  | the module that raised it (length-prefixed ASCII, at most `MODULE_OCTETS`) |
| rest   | the event's detail as compact JSON, trimmed to what one frame holds        |

One ZCL frame holds one PublishEvent (no fragmentation on our HAN), so a detail too long for it
keeps the entries that fit, shortest first, and gains `"trim": 1`; the whole detail stays
in the meter's own log, which the bench and the optical port read.

Sans-IO: bytes and values in, bytes and values out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import construct as c

from .construct_errors import build_struct, parse_struct
from .errors import DecodeError
from .event_codes import EventCategory, EventCode
from .json_fields import JsonObject

__all__ = [
    "EVENT_DATA_OCTETS",
    "MODULE_OCTETS",
    "PublishedEvent",
    "log_id_of",
    "utc_time_of",
]

#: EventData room in one PublishEvent: 57 octets of ZCL payload (`firmware.zcl.frame`) less the
#: 3-octet header, LogID (1), EventID (2), EventTime (4), EventControl (1) and the length (1).
EVENT_DATA_OCTETS = 45
MODULE_OCTETS = 12
#: UTCTime counts seconds from 2000-01-01 00:00 UTC (ZCL 2.6.2.x).
_ZCL_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: The mark of a trimmed detail: short, since every octet of the frame counts.
_TRIMMED = "trim"

_EVENT_DATA = c.Struct(
    "seq" / c.Int32ul,
    "module" / c.PascalString(c.Int8ul, "ascii"),
    "detail" / c.GreedyBytes,
)

# LogID of SE 1.4 D.11 (`protocol.se.types.LogId`) by our categories.
_TAMPER_LOG, _FAULT_LOG, _GENERAL_LOG, _SECURITY_LOG, _NETWORK_LOG = 1, 2, 3, 4, 5
_LOG_OF = {
    EventCategory.TAMPER: _TAMPER_LOG,
    EventCategory.FAULT: _FAULT_LOG,
    EventCategory.SECURITY: _SECURITY_LOG,
    EventCategory.COMMUNICATIONS: _NETWORK_LOG,
    EventCategory.HAN: _NETWORK_LOG,
}


def log_id_of(code: EventCode) -> int:
    """The SE event log a code belongs in (LogID)."""
    return _LOG_OF.get(code.category, _GENERAL_LOG)


def utc_time_of(when: datetime) -> int:
    """A UTC instant as ZCL UTCTime (whole seconds since 2000)."""
    return int((when.astimezone(UTC) - _ZCL_EPOCH).total_seconds())


def _compact(detail: Mapping[str, Any]) -> bytes:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str).encode()


def _fitted(detail: Mapping[str, Any], room: int) -> bytes:
    """The detail as compact JSON in at most `room` octets: whole if it fits, else the entries
    that fit (shortest first) and `"trim": 1`."""
    whole = _compact(detail)
    if len(whole) <= room:
        return whole
    kept: dict[str, Any] = {_TRIMMED: 1}
    for key, value in sorted(detail.items(), key=lambda kv: len(_compact({kv[0]: kv[1]}))):
        if len(_compact({**kept, key: value})) <= room:
            kept[key] = value
    text = _compact(kept)
    return text if len(text) <= room else b""


@dataclass(frozen=True)
class PublishedEvent:
    """One meter event as PublishEvent carries it (see the module docstring)."""

    seq: int
    code: int
    utc: datetime
    module: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    WHAT = "PublishEvent EventData"

    def fields(self) -> dict[str, Any]:
        """PublishEvent's fields (zigpy names), EventData built to fit one frame."""
        module = self.module[:MODULE_OCTETS]
        room = EVENT_DATA_OCTETS - 4 - 1 - len(module)
        data = build_struct(
            _EVENT_DATA,
            {"seq": self.seq, "module": module, "detail": _fitted(self.detail, room)},
            self.WHAT,
        )
        code = EventCode(self.code)
        return {
            "log_id": log_id_of(code),
            "event_id": self.code,
            "event_time": utc_time_of(self.utc),
            "event_control": 0,
            "event_data": data,
        }

    @classmethod
    def parse(cls, event_id: int, event_time: int, event_data: bytes) -> PublishedEvent:
        """The event a received PublishEvent carries; DecodeError if EventData is not ours."""
        parsed = parse_struct(
            _EVENT_DATA, bytes(event_data), cls.WHAT, "sequence, module and detail"
        )
        if parsed.seq < 1:
            raise DecodeError(cls.WHAT, "a sequence number from 1", bytes(event_data))
        detail: JsonObject = {}
        if parsed.detail:
            try:
                loaded = json.loads(bytes(parsed.detail))
            except (ValueError, UnicodeDecodeError):
                raise DecodeError(cls.WHAT, "a JSON detail", bytes(parsed.detail)) from None
            if not isinstance(loaded, dict):
                raise DecodeError(cls.WHAT, "a JSON object detail", bytes(parsed.detail))
            detail = loaded
        return cls(
            seq=int(parsed.seq),
            code=int(event_id),
            utc=_ZCL_EPOCH + timedelta(seconds=int(event_time)),
            module=str(parsed.module),
            detail=detail,
        )

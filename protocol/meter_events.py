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
| 4      | the log's epoch (uint32, little-endian): a random number drawn when the    |
|        | meter's event log was created, so a replaced log (a new store) starts a    |
|        | new count at the hub instead of being taken for repeats                    |
| 1 + n  | the module that raised it (length-prefixed ASCII, at most `MODULE_OCTETS`) |
| rest   | the event's detail as compact JSON, trimmed to what one frame holds        |

One ZCL frame holds one PublishEvent (no fragmentation on our HAN), so a detail too long for it
keeps the entries that fit, shortest first, and gains `"trim": 1`; the whole detail stays
in the meter's own log, which the bench and the optical port read. An RTC stamp outside UTCTime
(a clock reset to 1970) is sent as the nearest UTCTime with the true stamp in the detail as
`"at"` (whole seconds since 1970, kept first when the detail is trimmed); the hub takes that
stamp back out. A detail is strict JSON: NaN and Infinity are refused at both ends.

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
from .se.types import LogId

__all__ = [
    "EVENT_DATA_OCTETS",
    "MODULE_OCTETS",
    "PublishedEvent",
    "log_id_of",
    "utc_time_of",
]

#: The largest UTCTime; 0xFFFFFFFF means "invalid" (ZCL 2.6.2.x).
_UTC_TIME_MAX = 0xFFFFFFFE
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The detail key of the true stamp of an event whose time UTCTime cannot hold.
TRUE_TIME = "at"
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
    "epoch" / c.Int32ul,
    "module" / c.PascalString(c.Int8ul, "ascii"),
    "detail" / c.GreedyBytes,
)

_LOG_OF = {
    EventCategory.TAMPER: LogId.TamperLog,
    EventCategory.FAULT: LogId.FaultLog,
    EventCategory.SECURITY: LogId.SecurityEventLog,
    EventCategory.COMMUNICATIONS: LogId.NetworkEventLog,
    EventCategory.HAN: LogId.NetworkEventLog,
}


def log_id_of(code: int) -> int:
    """The SE event log a code belongs in (LogID); a code we do not know is general."""
    try:
        category = EventCode(code).category
    except ValueError:
        return int(LogId.GeneralEventLog)
    return int(_LOG_OF.get(category, LogId.GeneralEventLog))


def utc_time_of(when: datetime) -> int:
    """A UTC instant as ZCL UTCTime (whole seconds since 2000), clamped to what UTCTime holds."""
    seconds = int((when.astimezone(UTC) - _ZCL_EPOCH).total_seconds())
    return min(max(seconds, 0), _UTC_TIME_MAX)


def _zcl_time(seconds: int) -> datetime:
    return _ZCL_EPOCH + timedelta(seconds=seconds)


def _compact(detail: Mapping[str, Any]) -> bytes:
    return json.dumps(
        detail, sort_keys=True, separators=(",", ":"), default=str, allow_nan=False
    ).encode()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _fitted(detail: Mapping[str, Any], room: int) -> bytes:
    """The detail as compact JSON in at most `room` octets: whole if it fits, else the entries
    that fit (shortest first) and `"trim": 1`, or, if that leaves the true stamp out, the true
    stamp alone."""
    try:
        whole = _compact(detail)
    except ValueError:  # NaN or Infinity: never sent (the meter's log refuses them too)
        return b""
    if len(whole) <= room:
        return whole
    kept: dict[str, Any] = {_TRIMMED: 1}
    for key, value in sorted(detail.items(), key=lambda kv: len(_compact({kv[0]: kv[1]}))):
        if len(_compact({**kept, key: value})) <= room:
            kept[key] = value
    if TRUE_TIME in detail and TRUE_TIME not in kept:
        # The true stamp matters more than the rest, and than saying the rest is gone.
        kept = {TRUE_TIME: detail[TRUE_TIME]}
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
    #: The epoch of the meter's log (see the module docstring).
    epoch: int = 0

    WHAT = "PublishEvent EventData"

    def fields(self) -> dict[str, Any]:
        """PublishEvent's fields (zigpy names), EventData built to fit one frame."""
        module = self.module[:MODULE_OCTETS]
        room = EVENT_DATA_OCTETS - 4 - 4 - 1 - len(module)
        event_time = utc_time_of(self.utc)
        detail = dict(self.detail)
        if event_time in (0, _UTC_TIME_MAX) and _zcl_time(event_time) != self.utc.replace(
            microsecond=0
        ):
            detail[TRUE_TIME] = int((self.utc - _UNIX_EPOCH).total_seconds() // 1)
        data = build_struct(
            _EVENT_DATA,
            {
                "seq": self.seq,
                "epoch": self.epoch,
                "module": module.encode("ascii", "replace").decode("ascii"),
                "detail": _fitted(detail, room),
            },
            self.WHAT,
        )
        return {
            "log_id": log_id_of(self.code),
            "event_id": self.code,
            "event_time": event_time,
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
                loaded = json.loads(bytes(parsed.detail), parse_constant=_refuse_constant)
            except (ValueError, UnicodeDecodeError):
                raise DecodeError(cls.WHAT, "a JSON detail", bytes(parsed.detail)) from None
            if not isinstance(loaded, dict):
                raise DecodeError(cls.WHAT, "a JSON object detail", bytes(parsed.detail))
            detail = loaded
        utc = _zcl_time(int(event_time))
        true_time = detail.get(TRUE_TIME)
        if int(event_time) in (0, _UTC_TIME_MAX) and type(true_time) is int:
            try:
                utc = _UNIX_EPOCH + timedelta(seconds=true_time)
            except OverflowError:
                raise DecodeError(cls.WHAT, "a true time within reason", str(true_time)) from None
            detail = {k: v for k, v in detail.items() if k != TRUE_TIME}
        return cls(
            seq=int(parsed.seq),
            code=int(event_id),
            utc=utc,
            module=str(parsed.module),
            detail=detail,
            epoch=int(parsed.epoch),
        )

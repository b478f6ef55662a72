"""WAN topics and message envelopes between the comms hub and the head-end (DESIGN.md §4).

Sans-IO: this module turns envelopes into bytes and bytes into envelopes; paho, sockets and clocks
live in `hal/` and `tools/`. Everything is version 1, both in the topic (`smartmeter/v1/...`) and
in the `"v"` field of every envelope, so a v2 can run beside v1 on the same broker.

Topics, per hub id H (clause 9.1: the head-end reaches the premises over the WAN via the hub):

| topic                     | direction        | envelope        | retained |
|---------------------------|------------------|-----------------|----------|
| `smartmeter/v1/H/status`  | hub -> head-end  | `HubStatus`     | yes, and the hub's last will |
| `smartmeter/v1/H/cmd`     | head-end -> hub  | `WanCommand`    | no       |
| `smartmeter/v1/H/ack`     | hub -> head-end  | `CommandAck`    | no       |
| `smartmeter/v1/H/result`  | hub -> head-end  | `CommandResult` | no       |
| `smartmeter/v1/H/event`   | hub -> head-end  | `EventReport`   | no       |
| `smartmeter/v1/H/uplink`  | hub -> head-end  | `UplinkMessage` | no       |
| `smartmeter/v1/H/uplink_ack` | head-end -> hub | `UplinkAck`   | no       |

Every uplink the hub's durable outbox carries (results, events, alerts, pushed readings,
configuration-change messages, sync) travels as an `UplinkMessage` numbered per source; the
head-end keeps it once, in order, and answers with a cumulative `UplinkAck` (clauses 19.1.6,
19.1.7; the hub deletes what is acknowledged). The `result` and `event` channels remain for
hubs of an earlier build.

A command is acknowledged (accepted or rejected, clause 19.1.6) as soon as the hub has checked it,
and answered later with a result carrying the same request id (clause 6.1.11: within 10 s).

Decoding is strict: unknown versions, unknown or missing keys, wrong types, naive timestamps and
non-UUID request ids all raise `DecodeError` naming the envelope and the offending field, because
anything arriving over the WAN comes from outside (clause 18.11.j: malformed WAN messages are
detected). Versions evolve by adding a new version number, not by tolerating unknown keys.
Sizes are bounded before parsing (a command is at most `COMMAND_MAX_BYTES`, nesting at most
`json_fields.MAX_DEPTH` deep) and a device name is at most `DEVICE_NAME_MAX` characters, so the
hub never parses, stores or echoes unbounded input.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from protocol.errors import DecodeError, LocalProtocolError
from protocol.event_report import EventReport
from protocol.json_fields import (
    MAX_DOCUMENT_BYTES,
    MAX_STRING,
    JsonObject,
    aware_iso,
    check_keys,
    parse_object,
    peek_string,
    require_enum,
    require_int,
    require_object,
    require_str,
    require_time,
    shown,
)

WAN_VERSION = 1
TOPIC_ROOT = f"smartmeter/v{WAN_VERSION}"
# A hub id is one MQTT topic level: no separators or wildcards, short enough for a log line.
_HUB_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: A request id is a UUID in its canonical text form: lower-case, hyphenated.
_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

EVENT_WHAT = "WAN event"
#: Longest command document: most commands are a few hundred octets, a tariff with all 48
#: registers labelled and 200 switch entries about 17 KiB (16.12.1).
COMMAND_MAX_BYTES = 32 * 1024
#: Longest device name in a command (the rig's names are at most 32 characters).
DEVICE_NAME_MAX = 64
#: Longest rejection reason or error text an ack or a result carries.
TEXT_MAX = MAX_STRING


class Channel(StrEnum):
    """The last level of a WAN topic."""

    STATUS = "status"
    CMD = "cmd"
    ACK = "ack"
    RESULT = "result"
    EVENT = "event"
    UPLINK = "uplink"  # hub -> head-end: an outbox message (`UplinkMessage`)
    UPLINK_ACK = "uplink_ack"  # head-end -> hub: application-level ack (`UplinkAck`)


class CommandType(StrEnum):
    """What a head-end command asks the hub to do."""

    READ = "read"  # on-demand read of a device's registers (clauses 6.1.3 pull, 6.1.11, 16.15)
    REMOVE = "remove"  # remove (disassociate) a device from the HAN (clause 17.2.6)
    COMMISSION = "commission"  # admit a removed device to the HAN again (clause 17.2.6)
    # Installation and commissioning (section 20; hub/commands_commissioning.py):
    INSTALL_CODE = "install_code"  # a device's install code, out of band (17.2.9, 20.4.2.b)
    DEVICE_STATUS = "device_status"  # joined, presence, HAN signal both ways, WAN (20.4.1)
    DISPLAY_MESSAGE = "display_message"  # a message on a device's display, e.g. 'Welcome' (20.2.8)
    LOCAL_PASSWORD = "local_password"  # a meter's new local-access password (17.2.21.b.2)
    # Delivery configuration (hub/hub_config.py): event treatment, retries, push schedules.
    CONFIG_GET = "config_get"  # the hub's settings, or one of them (12.1.o, 12.1.s-u)
    CONFIG_SET = "config_set"  # change one setting; a configuration-change message goes up (12.2)
    # The premises' loss-of-communications rules, read or changed (12.7.6; any device of it):
    COMMS_LOSS_RULES = "comms_loss_rules"
    # The network operator's (hub/wan_roles.py):
    CHANGE_SUPPLIER = "change_supplier"  # the device answers to another supplier (12.6)
    DISABLE_COMMS = "disable_comms"  # after a security alert: WAN and/or HAN off (17.2.22)
    RESTORE_COMMS = "restore_comms"  # and back on (17.2.23)
    # Tariffs, carried to the meter through its tunnel (hub/commands_tariff.py):
    SET_TARIFF = "set_tariff"  # the passive tariff and its effective-from instant (16.7)
    CANCEL_TARIFF = "cancel_tariff"  # withdraw the passive tariff before it takes effect (16.7)
    SCHEDULE_CPP = "schedule_cpp"  # a critical peak pricing event (16.11)
    SET_GAS_CONVERSION = "set_gas_conversion"  # calorific value and PTZ factor (13.2, 16.17)
    READ_TARIFF = "read_tariff"  # the tariff registers, billing and costs (16.3, 16.8)
    READ_PROFILE = "read_profile"  # interval data over a time range (16.15, 12.4)
    TARIFF_ITEMS = "tariff_items"  # read, update or suppress an item of 12.1.a-e, q, aa


#: The commands the hub carries to a meter's tunnel unread (hub/commands_tariff.py).
TARIFF_COMMANDS = (
    CommandType.SET_TARIFF,
    CommandType.CANCEL_TARIFF,
    CommandType.SCHEDULE_CPP,
    CommandType.SET_GAS_CONVERSION,
    CommandType.READ_TARIFF,
    CommandType.READ_PROFILE,
    CommandType.TARIFF_ITEMS,
)


class UplinkKind(StrEnum):
    """What an outbox message carries (its `body`)."""

    RESULT = "result"  # a command's result: `CommandResult` fields (no "v")
    EVENT = "event"  # an event sent at the next scheduled exchange: the one event shape
    ALERT = "alert"  # an event sent at once (clause 18.6): the one event shape
    READING = "reading"  # a pushed reading of a meter's registers (clause 6.1.3 push)
    CONFIG_CHANGE = "config_change"  # a configuration-change message (clause 12.2)
    SYNC = "sync"  # periodic synchronisation: clock, registers, configuration (clause 12.4)


class AckStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class HubState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


def check_hub_id(hub_id: str) -> str:
    """Return `hub_id` if it can be one topic level, else raise LocalProtocolError."""
    if not isinstance(hub_id, str) or not _HUB_ID.fullmatch(hub_id):
        raise LocalProtocolError(
            f"hub id {hub_id!r} must be 1-64 characters of letters, digits and . _ : -"
        )
    return hub_id


def topic(hub_id: str, channel: Channel) -> str:
    """The topic of one hub's channel, e.g. `smartmeter/v1/hub-1/cmd`."""
    return f"{TOPIC_ROOT}/{check_hub_id(hub_id)}/{channel.value}"


def all_hubs_topic(channel: Channel) -> str:
    """Subscription filter for a channel of every hub, e.g. `smartmeter/v1/+/result`."""
    return f"{TOPIC_ROOT}/+/{channel.value}"


def parse_topic(name: str) -> tuple[str, Channel]:
    """Split a received topic into (hub id, channel); DecodeError if it is not one of ours."""
    parts = name.split("/")
    expected = f"{TOPIC_ROOT}/<hub id>/<{'|'.join(c.value for c in Channel)}>"
    if len(parts) != 4 or "/".join(parts[:2]) != TOPIC_ROOT or not _HUB_ID.fullmatch(parts[2]):
        raise DecodeError("WAN topic", expected, name)
    try:
        return parts[2], Channel(parts[3])
    except ValueError:
        raise DecodeError("WAN topic", expected, name) from None


# -- field helpers ------------------------------------------------------------------------------


def _load(
    what: str,
    data: bytes,
    required: set[str],
    optional: set[str],
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> JsonObject:
    obj = parse_object(what, data, max_bytes=max_bytes)
    version = obj.get("v")
    # true == 1 and 1.0 == 1 in Python, but neither is the JSON integer 1.
    if type(version) is not int or version != WAN_VERSION:
        raise DecodeError(what, f'"v": {WAN_VERSION}', f'"v": {shown(version)}')
    check_keys(what, {k: v for k, v in obj.items() if k != "v"}, required, optional)
    return obj


def _request_id(what: str, obj: JsonObject, key: str = "id") -> str:
    text = require_str(what, obj, key, max_length=36)
    if not _REQUEST_ID.fullmatch(text):
        raise DecodeError(what, f'"{key}" a lower-case hyphenated UUID', shown(text))
    return text


def _dump(obj: JsonObject) -> bytes:
    return json.dumps(
        {"v": WAN_VERSION, **obj}, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def fit_text(text: str) -> str:
    """`text` cut to `TEXT_MAX` characters, for a reason or an error the hub sends: whatever
    went wrong, the head-end can still decode the answer."""
    return text if len(text) <= TEXT_MAX else f"{text[: TEXT_MAX - 3]}..."


def request_id(random_bytes: bytes) -> str:
    """A request id (a version 4 UUID, RFC 4122) from 16 random bytes the caller draws: the key
    of de-duplication on the hub. Sans-IO: the randomness is the caller's."""
    if len(random_bytes) != 16:
        raise LocalProtocolError("a request id needs 16 random bytes")
    raw = bytearray(random_bytes)
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def peek_request_id(data: bytes) -> str | None:
    """Best effort, never raises: the request id of a command that failed to decode, so it can
    be rejected. Found in the command's first `COMMAND_MAX_BYTES` octets without parsing it,
    so a command refused for its size or its nesting is still answered."""
    text = peek_string(data, "id", COMMAND_MAX_BYTES)
    return text if text is not None and _REQUEST_ID.fullmatch(text) else None


# -- envelopes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WanCommand:
    """Head-end -> hub command, `smartmeter/v1/H/cmd`."""

    id: str
    type: CommandType
    device: str
    issued_at: datetime
    args: JsonObject = field(default_factory=dict)

    WHAT = "WAN command"

    def to_json(self) -> bytes:
        return _dump(
            {
                "id": self.id,
                "type": self.type.value,
                "device": self.device,
                "args": self.args,
                "issued_at": aware_iso(self.issued_at),
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> WanCommand:
        what = cls.WHAT
        keys = {"id", "type", "device", "args", "issued_at"}
        obj = _load(what, data, keys, set(), COMMAND_MAX_BYTES)
        return cls(
            id=_request_id(what, obj),
            type=require_enum(what, obj, "type", CommandType),
            device=require_str(what, obj, "device", max_length=DEVICE_NAME_MAX),
            issued_at=require_time(what, obj, "issued_at"),
            args=require_object(what, obj, "args"),
        )


@dataclass(frozen=True)
class CommandAck:
    """Hub -> head-end acknowledgement of a command, `smartmeter/v1/H/ack` (clause 19.1.6)."""

    id: str
    status: AckStatus
    reason: str | None = None

    WHAT = "WAN command ack"

    def to_json(self) -> bytes:
        obj: JsonObject = {"id": self.id, "status": self.status.value}
        if self.reason is not None:
            obj["reason"] = self.reason
        return _dump(obj)

    @classmethod
    def from_json(cls, data: bytes) -> CommandAck:
        what = cls.WHAT
        obj = _load(what, data, {"id", "status"}, {"reason"})
        status = require_enum(what, obj, "status", AckStatus)
        reason = require_str(what, obj, "reason", max_length=TEXT_MAX) if "reason" in obj else None
        if status is AckStatus.REJECTED and reason is None:
            raise DecodeError(what, 'a "reason" for a rejection', "none")
        return cls(id=_request_id(what, obj), status=status, reason=reason)


@dataclass(frozen=True)
class CommandResult:
    """Hub -> head-end answer to an accepted command, `smartmeter/v1/H/result`.

    Exactly one of `data` (when ok) and `error` (when not) is present.
    """

    id: str
    ok: bool
    data: JsonObject | None = None
    error: str | None = None

    WHAT = "WAN command result"

    def __post_init__(self) -> None:
        if self.ok != (self.data is not None) or self.ok == (self.error is not None):
            raise LocalProtocolError("a result carries data when ok and an error when not")

    def to_json(self) -> bytes:
        return _dump(self.to_dict())

    def to_dict(self) -> JsonObject:
        """The fields without the version: the body of an outbox message."""
        obj: JsonObject = {"id": self.id, "ok": self.ok}
        obj.update({"data": self.data} if self.ok else {"error": self.error})
        return obj

    @classmethod
    def from_json(cls, data: bytes) -> CommandResult:
        return cls.from_dict(_load(cls.WHAT, data, {"id", "ok"}, {"data", "error"}))

    @classmethod
    def from_dict(cls, obj: JsonObject) -> CommandResult:
        what = cls.WHAT
        check_keys(
            what, {k: v for k, v in obj.items() if k != "v"}, {"id", "ok"}, {"data", "error"}
        )
        ok = obj["ok"]
        if not isinstance(ok, bool):
            raise DecodeError(what, '"ok" true or false', shown(ok))
        needed, banned = ("data", "error") if ok else ("error", "data")
        if needed not in obj or banned in obj:
            raise DecodeError(what, f'"{needed}" and no "{banned}" when ok is {ok}', shown(obj))
        if ok:
            return cls(id=_request_id(what, obj), ok=True, data=require_object(what, obj, "data"))
        error = require_str(what, obj, "error", max_length=TEXT_MAX)
        return cls(id=_request_id(what, obj), ok=False, error=error)


@dataclass(frozen=True)
class HubStatus:
    """Retained hub presence, `smartmeter/v1/H/status`; "offline" is also the hub's last will.

    For a last will, `at` is when the hub registered it with the broker (the broker cannot
    rewrite the payload), so receivers should also note when they saw it.
    """

    state: HubState
    at: datetime

    WHAT = "WAN hub status"

    def to_json(self) -> bytes:
        return _dump({"state": self.state.value, "at": aware_iso(self.at)})

    @classmethod
    def from_json(cls, data: bytes) -> HubStatus:
        obj = _load(cls.WHAT, data, {"state", "at"}, set())
        return cls(
            state=require_enum(cls.WHAT, obj, "state", HubState),
            at=require_time(cls.WHAT, obj, "at"),
        )


def event_to_json(report: EventReport) -> bytes:
    """Hub -> head-end event or alert, `smartmeter/v1/H/event` (clause 18.6): the one event
    shape (`protocol.event_report`) in a versioned envelope."""
    return _dump(report.to_dict())


def event_from_json(data: bytes) -> EventReport:
    obj = _load(EVENT_WHAT, data, set(EventReport.KEYS), set(EventReport.OPTIONAL))
    del obj["v"]
    return EventReport.from_dict(obj, EVENT_WHAT)


#: Longest source name of an outbox stream (a component's name: "hub", "esme", ...).
SOURCE_MAX = 64
#: Between a component and a party's label in the name of a stream (`stream_of`).
STREAM_PARTY_SEP = "@"


def stream_of(component: str, party_label: str | None) -> str:
    """The outbox stream of `component`'s messages to one party: the component's own name for
    its first party (None), `component@label` for any other, so that each stream goes to one
    party only and a cumulative `UplinkAck` never covers another party's message."""
    return component if party_label is None else f"{component}{STREAM_PARTY_SEP}{party_label}"


def component_of(stream: str) -> str:
    """The component an outbox stream is about (the inverse of `stream_of`)."""
    return stream.split(STREAM_PARTY_SEP, 1)[0]


@dataclass(frozen=True)
class UplinkMessage:
    """Hub -> head-end outbox message, `smartmeter/v1/H/uplink` (clauses 18.6, 19.1.6, 19.1.7).

    `seq` counts from 1 per `source` (the stream: the component the message is about), with no
    gaps, so the head-end can keep each message exactly once and in order, and acknowledge the
    highest it holds. `at` is when the hub put the message in its outbox (its RTC).
    """

    source: str
    seq: int
    kind: UplinkKind
    at: datetime
    body: JsonObject

    WHAT = "WAN uplink message"

    def __post_init__(self) -> None:
        if self.seq < 1:
            raise LocalProtocolError("outbox sequence numbers start at 1")

    def to_json(self) -> bytes:
        return _dump(
            {
                "source": self.source,
                "seq": self.seq,
                "kind": self.kind.value,
                "at": aware_iso(self.at),
                "body": self.body,
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> UplinkMessage:
        what = cls.WHAT
        obj = _load(what, data, {"source", "seq", "kind", "at", "body"}, set())
        seq = require_int(what, obj, "seq")
        if seq < 1:
            raise DecodeError(what, '"seq" from 1', shown(seq))
        return cls(
            source=require_str(what, obj, "source", max_length=SOURCE_MAX),
            seq=seq,
            kind=require_enum(what, obj, "kind", UplinkKind),
            at=require_time(what, obj, "at"),
            body=require_object(what, obj, "body"),
        )

    def event(self) -> EventReport:
        """The body of an event or alert, in the one event shape; DecodeError if it is not."""
        if self.kind not in (UplinkKind.EVENT, UplinkKind.ALERT):
            raise LocalProtocolError(f"a {self.kind} message carries no event")
        return EventReport.from_dict(dict(self.body), EVENT_WHAT)

    def result(self) -> CommandResult:
        """The body of a command's result; DecodeError if it is not one."""
        if self.kind is not UplinkKind.RESULT:
            raise LocalProtocolError(f"a {self.kind} message carries no result")
        return CommandResult.from_dict(dict(self.body))


@dataclass(frozen=True)
class UplinkAck:
    """Head-end -> hub acknowledgement, `smartmeter/v1/H/uplink_ack`: the head-end holds every
    message of `source` up to and including `upto` (cumulative, so one lost ack costs nothing)."""

    source: str
    upto: int

    WHAT = "WAN uplink ack"

    def to_json(self) -> bytes:
        return _dump({"source": self.source, "upto": self.upto})

    @classmethod
    def from_json(cls, data: bytes) -> UplinkAck:
        what = cls.WHAT
        obj = _load(what, data, {"source", "upto"}, set())
        upto = require_int(what, obj, "upto")
        if upto < 0:
            raise DecodeError(what, '"upto" from 0', shown(upto))
        return cls(require_str(what, obj, "source", max_length=SOURCE_MAX), upto)

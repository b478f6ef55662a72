"""ZigBee NWK frames (ZigBee PRO, nwkcProtocolVersion 2; ZigBee spec 05-3474 clause 3.3).

`NwkFrame.parse(bytes)` / `NwkFrame.build()` for the general NWK frame format (3.3.1), and the
NWK command payloads a joining or leaving node exchanges (3.4): Network Status, Leave, Rejoin
Request and Rejoin Response.

When the frame control's security subfield is set, `payload` holds the bytes that follow the
NWK header untouched: auxiliary security header, encrypted NWK payload and MIC (4.3.1). The
header as sent is `frame.header_bytes()`; `protocol.zigbee_security.unsecure_nwk_frame` takes
those two and gives back the plaintext. Addresses follow the conventions of
`protocol.ieee802154` (ints, extended addresses little-endian on the wire).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum, IntFlag
from typing import Any

import construct as c

from protocol.construct_errors import build_struct, parse_struct

from .errors import DecodeError
from .ieee802154 import Capability

PROTOCOL_VERSION = 2  # nwkcProtocolVersion of ZigBee PRO (ZigBee spec 3.3.1.1.2)
BROADCAST_ALL = 0xFFFF
BROADCAST_RX_ON_WHEN_IDLE = 0xFFFD
BROADCAST_ROUTERS = 0xFFFC


class NwkFrameType(IntEnum):
    """Frame type subfield (ZigBee spec 3.3.1.1.1). Inter-PAN (3) is not carried here."""

    DATA = 0
    COMMAND = 1


class DiscoverRoute(IntEnum):
    """Discover route subfield (ZigBee spec 3.3.1.1.3)."""

    SUPPRESS = 0
    ENABLE = 1


# Little-endian 16-bit frame control (ZigBee spec 3.3.1.1), listed b15..b0 for BitStruct.
_FRAME_CONTROL = c.ByteSwapped(
    c.BitStruct(
        "reserved" / c.Const(0, c.BitsInteger(2)),
        "end_device_initiator" / c.Flag,
        "src_ieee" / c.Flag,
        "dst_ieee" / c.Flag,
        "source_route" / c.Flag,
        "security" / c.Flag,
        "multicast" / c.Flag,
        "discover_route" / c.BitsInteger(2),
        "protocol_version" / c.Const(PROTOCOL_VERSION, c.BitsInteger(4)),
        "frame_type" / c.BitsInteger(2),
    )
)

_HEADER = c.Struct(
    "fc" / _FRAME_CONTROL,
    "dst" / c.Int16ul,
    "src" / c.Int16ul,
    "radius" / c.Int8ul,
    "seq" / c.Int8ul,
    "dst64" / c.If(c.this.fc.dst_ieee, c.Int64ul),
    "src64" / c.If(c.this.fc.src_ieee, c.Int64ul),
    "multicast_control" / c.If(c.this.fc.multicast, c.Int8ul),
    # Source route subframe (ZigBee spec 3.3.1.9): relay count, relay index, relay list.
    "source_route"
    / c.If(
        c.this.fc.source_route,
        c.Struct(
            "relay_count" / c.Rebuild(c.Int8ul, c.len_(c.this.relays)),
            "relay_index" / c.Int8ul,
            "relays" / c.Array(c.this.relay_count, c.Int16ul),
        ),
    ),
)

_FRAME = c.Struct("header" / _HEADER, "payload" / c.GreedyBytes)


@dataclass(frozen=True)
class SourceRoute:
    """Source route subframe: the relay list, and the index of the next relay to use."""

    relay_index: int
    relays: tuple[int, ...]


@dataclass(frozen=True)
class NwkFrame:
    """A ZigBee NWK frame (NPDU).

    `dst64`/`src64`/`multicast_control`/`source_route` are None when their frame control bit is
    clear. With `security` set, `payload` is auxiliary header || encrypted payload || MIC.
    """

    frame_type: NwkFrameType
    dst: int
    src: int
    radius: int
    seq: int
    discover_route: DiscoverRoute = DiscoverRoute.SUPPRESS
    security: bool = False
    end_device_initiator: bool = False
    dst64: int | None = None
    src64: int | None = None
    multicast_control: int | None = None
    source_route: SourceRoute | None = None
    payload: bytes = b""

    def _raw_header(self) -> dict[str, Any]:
        route = self.source_route
        return {
            "fc": {
                "end_device_initiator": self.end_device_initiator,
                "src_ieee": self.src64 is not None,
                "dst_ieee": self.dst64 is not None,
                "source_route": route is not None,
                "security": self.security,
                "multicast": self.multicast_control is not None,
                "discover_route": self.discover_route,
                "frame_type": self.frame_type,
            },
            "dst": self.dst,
            "src": self.src,
            "radius": self.radius,
            "seq": self.seq,
            "dst64": self.dst64,
            "src64": self.src64,
            "multicast_control": self.multicast_control,
            "source_route": None
            if route is None
            else {"relay_index": route.relay_index, "relays": list(route.relays)},
        }

    def header_bytes(self) -> bytes:
        """The NWK header alone, as sent: the first part of the a_data of NWK security."""
        return build_struct(_HEADER, self._raw_header(), "NWK header")

    def build(self) -> bytes:
        return self.header_bytes() + bytes(self.payload)

    def with_payload(self, payload: bytes) -> NwkFrame:
        return replace(self, payload=payload)

    @classmethod
    def parse(cls, data: bytes) -> NwkFrame:
        raw = parse_struct(_FRAME, bytes(data), "NWK frame", "a ZigBee PRO NWK header")
        hdr, fc = raw.header, raw.header.fc
        try:
            frame_type, discover = NwkFrameType(fc.frame_type), DiscoverRoute(fc.discover_route)
        except ValueError as exc:
            raise DecodeError("NWK frame", "frame type 0/1, discover route 0/1", data) from exc
        route = hdr.source_route
        return cls(
            frame_type=frame_type,
            dst=hdr.dst,
            src=hdr.src,
            radius=hdr.radius,
            seq=hdr.seq,
            discover_route=discover,
            security=fc.security,
            end_device_initiator=fc.end_device_initiator,
            dst64=hdr.dst64,
            src64=hdr.src64,
            multicast_control=hdr.multicast_control,
            source_route=None
            if route is None
            else SourceRoute(route.relay_index, tuple(route.relays)),
            payload=raw.payload,
        )


# --- NWK commands (ZigBee spec 3.4) ------------------------------------------------------------


class NwkCommandId(IntEnum):
    """NWK command identifiers (ZigBee spec 3.4), the subset implemented here."""

    NETWORK_STATUS = 0x03
    LEAVE = 0x04
    REJOIN_REQUEST = 0x06
    REJOIN_RESPONSE = 0x07


class LeaveOptions(IntFlag):
    """Leave command options field (ZigBee spec 3.4.4)."""

    NONE = 0
    REJOIN = 0x20
    REQUEST = 0x40
    REMOVE_CHILDREN = 0x80


@dataclass(frozen=True)
class NetworkStatus:
    """Network Status (0x03): a status code (3.4.3) about a destination address."""

    status: int
    dst: int

    def build(self) -> bytes:
        body = {"status": self.status, "dst": self.dst}
        return build_struct(_COMMANDS, {"id": NwkCommandId.NETWORK_STATUS, "body": body}, "Status")


@dataclass(frozen=True)
class Leave:
    """Leave (0x04): a device announces it leaves, or (REQUEST) is asked to leave."""

    options: LeaveOptions = LeaveOptions.NONE

    def build(self) -> bytes:
        body = {"options": int(self.options)}
        return build_struct(_COMMANDS, {"id": NwkCommandId.LEAVE, "body": body}, "Leave")


@dataclass(frozen=True)
class RejoinRequest:
    """Rejoin Request (0x06): a device's capability information (same bits as the MAC's)."""

    capability: Capability

    def build(self) -> bytes:
        body = {"capability": int(self.capability)}
        return build_struct(_COMMANDS, {"id": NwkCommandId.REJOIN_REQUEST, "body": body}, "Rejoin")


@dataclass(frozen=True)
class RejoinResponse:
    """Rejoin Response (0x07): the network address given, and a MAC association status."""

    network_address: int
    status: int = 0

    def build(self) -> bytes:
        body = {"network_address": self.network_address, "status": self.status}
        return build_struct(_COMMANDS, {"id": NwkCommandId.REJOIN_RESPONSE, "body": body}, "Rejoin")


NwkCommand = NetworkStatus | Leave | RejoinRequest | RejoinResponse

_COMMANDS = c.Struct(
    "id" / c.Int8ul,
    "body"
    / c.Switch(
        c.this.id,
        {
            NwkCommandId.NETWORK_STATUS: c.Struct("status" / c.Int8ul, "dst" / c.Int16ul),
            # Bits 0-4 of the leave options are reserved (3.4.4).
            NwkCommandId.LEAVE: c.Struct("options" / c.Int8ul, c.Check(c.this.options & 0x1F == 0)),
            NwkCommandId.REJOIN_REQUEST: c.Struct("capability" / c.Int8ul),
            NwkCommandId.REJOIN_RESPONSE: c.Struct(
                "network_address" / c.Int16ul, "status" / c.Int8ul
            ),
        },
        c.Error,
    ),
    c.Terminated,
)


def parse_nwk_command(payload: bytes) -> NwkCommand:
    """Decode a NWK command payload (command identifier first)."""
    raw = parse_struct(_COMMANDS, bytes(payload), "NWK command", "command 0x03, 0x04, 0x06 or 0x07")
    body = raw.body
    if raw.id == NwkCommandId.NETWORK_STATUS:
        return NetworkStatus(body.status, body.dst)
    if raw.id == NwkCommandId.LEAVE:
        return Leave(LeaveOptions(body.options))
    if raw.id == NwkCommandId.REJOIN_REQUEST:
        return RejoinRequest(Capability(body.capability))
    return RejoinResponse(body.network_address, body.status)

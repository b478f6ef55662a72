"""ZigBee APS frames and APS commands (ZigBee spec 05-3474 clauses 2.2.5 and 4.4.10).

`ApsFrame.parse(bytes)` / `ApsFrame.build()` cover data, command and acknowledgement frames with
every delivery mode ZigBee PRO uses (unicast, broadcast, group). APS commands are carried in the
frame's `payload` starting with the command identifier, because APS security encrypts the
identifier along with the command (4.4.1.1); `parse_aps_command` decodes that payload.

With `security` set, `payload` is auxiliary header || encrypted payload || MIC (4.4.1), to be
passed with `frame.header_bytes()` to `protocol.zigbee_security.unsecure_aps_frame`.
Addresses follow `protocol.ieee802154`'s conventions (ints; EUI-64s little-endian on the wire).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any

import construct as c

from protocol.construct_errors import build_struct, parse_struct

from .errors import DecodeError, LocalProtocolError


class ApsFrameType(IntEnum):
    """Frame type subfield (ZigBee spec 2.2.5.1.1); inter-PAN (3) is not carried here."""

    DATA = 0
    COMMAND = 1
    ACK = 2


class DeliveryMode(IntEnum):
    """Delivery mode subfield (ZigBee spec 2.2.5.1.1); 1 (indirect) is retired in PRO."""

    UNICAST = 0
    BROADCAST = 2
    GROUP = 3


class Fragmentation(IntEnum):
    """Fragmentation subfield of the extended frame control (ZigBee spec 2.2.5.1.8)."""

    NONE = 0
    FIRST = 1
    SUBSEQUENT = 2


def _has_endpoints(frame_type: int, ack_format: bool) -> bool:
    """Data frames, and acks in the long format, carry cluster, profile and source endpoint."""
    return frame_type == ApsFrameType.DATA or (frame_type == ApsFrameType.ACK and not ack_format)


def _has_dst_endpoint(frame_type: int, ack_format: bool, delivery_mode: int) -> bool:
    """The destination endpoint is left out only in group delivery (ZigBee spec 2.2.5.1.2)."""
    return _has_endpoints(frame_type, ack_format) and delivery_mode != DeliveryMode.GROUP


def _has_group(frame_type: int, delivery_mode: int) -> bool:
    """The group address replaces the destination endpoint in group delivery."""
    return frame_type == ApsFrameType.DATA and delivery_mode == DeliveryMode.GROUP


_FRAME_CONTROL = c.BitStruct(
    "extended_header" / c.Flag,
    "ack_request" / c.Flag,
    "security" / c.Flag,
    "ack_format" / c.Flag,
    "delivery_mode" / c.BitsInteger(2),
    "frame_type" / c.BitsInteger(2),
)

_EXTENDED_HEADER = c.Struct(
    "control"
    / c.BitStruct("reserved" / c.Const(0, c.BitsInteger(6)), "fragmentation" / c.BitsInteger(2)),
    "block_number" / c.If(c.this.control.fragmentation != 0, c.Int8ul),
    "ack_bitfield"
    / c.If(
        lambda ctx: ctx.control.fragmentation != 0 and ctx._.fc.frame_type == ApsFrameType.ACK,
        c.Int8ul,
    ),
)

_HEADER = c.Struct(
    "fc" / _FRAME_CONTROL,
    "dst_endpoint"
    / c.If(
        lambda ctx: _has_dst_endpoint(ctx.fc.frame_type, ctx.fc.ack_format, ctx.fc.delivery_mode),
        c.Int8ul,
    ),
    "group" / c.If(lambda ctx: _has_group(ctx.fc.frame_type, ctx.fc.delivery_mode), c.Int16ul),
    "cluster" / c.If(lambda ctx: _has_endpoints(ctx.fc.frame_type, ctx.fc.ack_format), c.Int16ul),
    "profile" / c.If(lambda ctx: _has_endpoints(ctx.fc.frame_type, ctx.fc.ack_format), c.Int16ul),
    "src_endpoint"
    / c.If(lambda ctx: _has_endpoints(ctx.fc.frame_type, ctx.fc.ack_format), c.Int8ul),
    "counter" / c.Int8ul,
    "extended" / c.If(c.this.fc.extended_header, _EXTENDED_HEADER),
)

_FRAME = c.Struct("header" / _HEADER, "payload" / c.GreedyBytes)


@dataclass(frozen=True)
class ExtendedHeader:
    """APS extended header (ZigBee spec 2.2.5.1.8), used for fragmented transmissions.

    `block_number` is present unless `fragmentation` is NONE; `ack_bitfield` only in acks.
    """

    fragmentation: Fragmentation = Fragmentation.NONE
    block_number: int | None = None
    ack_bitfield: int | None = None


@dataclass(frozen=True)
class ApsFrame:
    """A ZigBee APS frame (APDU).

    Which addressing fields are present follows the frame type and delivery mode, and the
    constructor checks it: data frames carry `cluster`, `profile`, `src_endpoint` and either
    `dst_endpoint` (unicast, broadcast) or `group`; acks carry the endpoints, cluster and
    profile unless `ack_format` is set (an ack of an APS command); commands carry none.
    """

    frame_type: ApsFrameType
    counter: int
    delivery_mode: DeliveryMode = DeliveryMode.UNICAST
    dst_endpoint: int | None = None
    group: int | None = None
    cluster: int | None = None
    profile: int | None = None
    src_endpoint: int | None = None
    ack_format: bool = False
    security: bool = False
    ack_request: bool = False
    extended_header: ExtendedHeader | None = None
    payload: bytes = b""

    def __post_init__(self) -> None:
        endpoints = _has_endpoints(self.frame_type, self.ack_format)
        expected = {
            "dst_endpoint": _has_dst_endpoint(self.frame_type, self.ack_format, self.delivery_mode),
            "group": _has_group(self.frame_type, self.delivery_mode),
            "cluster": endpoints,
            "profile": endpoints,
            "src_endpoint": endpoints,
        }
        for name, present in expected.items():
            if (getattr(self, name) is not None) != present:
                raise LocalProtocolError(
                    f"APS {self.frame_type.name} frame in {self.delivery_mode.name} delivery "
                    f"{'needs' if present else 'has no'} {name}"
                )
        if self.ack_format and self.frame_type != ApsFrameType.ACK:
            raise LocalProtocolError("the ack format bit is only for APS acknowledgements")
        if self.frame_type == ApsFrameType.ACK and self.delivery_mode != DeliveryMode.UNICAST:
            raise LocalProtocolError("APS acknowledgements are unicast (2.2.5.2.3)")
        ext = self.extended_header
        if ext is not None:
            if (ext.block_number is not None) != (ext.fragmentation != Fragmentation.NONE):
                raise LocalProtocolError("block number goes with fragmentation")
            is_fragment_ack = self.frame_type == ApsFrameType.ACK and ext.block_number is not None
            if (ext.ack_bitfield is not None) != is_fragment_ack:
                raise LocalProtocolError("ack bitfield goes with acks of fragments")

    def _fc(self) -> dict[str, Any]:
        return {
            "extended_header": self.extended_header is not None,
            "ack_request": self.ack_request,
            "security": self.security,
            "ack_format": self.ack_format,
            "delivery_mode": self.delivery_mode,
            "frame_type": self.frame_type,
        }

    def header_bytes(self) -> bytes:
        """The APS header alone, as sent: the first part of the a_data of APS security."""
        ext = self.extended_header
        raw = {
            "fc": self._fc(),
            "dst_endpoint": self.dst_endpoint,
            "group": self.group,
            "cluster": self.cluster,
            "profile": self.profile,
            "src_endpoint": self.src_endpoint,
            "counter": self.counter,
            "extended": None
            if ext is None
            else {
                "control": {"fragmentation": ext.fragmentation},
                "block_number": ext.block_number,
                "ack_bitfield": ext.ack_bitfield,
            },
        }
        return build_struct(_HEADER, raw, "APS header")

    def build(self) -> bytes:
        return self.header_bytes() + bytes(self.payload)

    def with_payload(self, payload: bytes) -> ApsFrame:
        return replace(self, payload=payload)

    @classmethod
    def parse(cls, data: bytes) -> ApsFrame:
        raw = parse_struct(_FRAME, bytes(data), "APS frame", "a ZigBee APS header")
        hdr, fc = raw.header, raw.header.fc
        try:
            frame_type = ApsFrameType(fc.frame_type)
            delivery = DeliveryMode(fc.delivery_mode)
            ext = None
            if hdr.extended is not None:
                e = hdr.extended
                fragmentation = Fragmentation(e.control.fragmentation)
                ext = ExtendedHeader(fragmentation, e.block_number, e.ack_bitfield)
            return cls(
                frame_type=frame_type,
                counter=hdr.counter,
                delivery_mode=delivery,
                dst_endpoint=hdr.dst_endpoint,
                group=hdr.group,
                cluster=hdr.cluster,
                profile=hdr.profile,
                src_endpoint=hdr.src_endpoint,
                ack_format=fc.ack_format,
                security=fc.security,
                ack_request=fc.ack_request,
                extended_header=ext,
                payload=raw.payload,
            )
        except (ValueError, LocalProtocolError) as exc:
            raise DecodeError("APS frame", "a valid APS frame control", str(exc)) from exc


# --- APS commands (ZigBee spec 4.4.10) ---------------------------------------------------------


class ApsCommandId(IntEnum):
    """APS command identifiers (ZigBee spec 4.4.10), the security subset implemented."""

    TRANSPORT_KEY = 0x05
    UPDATE_DEVICE = 0x06
    REMOVE_DEVICE = 0x07
    REQUEST_KEY = 0x08
    SWITCH_KEY = 0x09


class KeyType(IntEnum):
    """StandardKeyType of Transport-Key (ZigBee spec 4.4.10.1)."""

    STANDARD_NETWORK_KEY = 0x01
    APPLICATION_LINK_KEY = 0x03
    TRUST_CENTER_LINK_KEY = 0x04


class RequestKeyType(IntEnum):
    """Key type of Request-Key (ZigBee spec 4.4.10): note 2, not 3, for application keys."""

    APPLICATION_LINK_KEY = 0x02
    TRUST_CENTER_LINK_KEY = 0x04


class UpdateDeviceStatus(IntEnum):
    """Status of Update-Device (ZigBee spec 4.4.10.2)."""

    SECURED_REJOIN = 0x00
    UNSECURED_JOIN = 0x01
    DEVICE_LEFT = 0x02
    TRUST_CENTER_REJOIN = 0x03


_KEY = c.Bytes(16)
_BOOL = c.OneOf(c.Int8ul, [0, 1])

_COMMANDS = c.Struct(
    "id" / c.Int8ul,
    "body"
    / c.Switch(
        c.this.id,
        {
            ApsCommandId.TRANSPORT_KEY: c.Struct(
                "key_type" / c.Int8ul,
                "descriptor"
                / c.Switch(
                    c.this.key_type,
                    {
                        KeyType.STANDARD_NETWORK_KEY: c.Struct(
                            "key" / _KEY,
                            "key_seq" / c.Int8ul,
                            "dst64" / c.Int64ul,
                            "src64" / c.Int64ul,
                        ),
                        KeyType.APPLICATION_LINK_KEY: c.Struct(
                            "key" / _KEY, "partner64" / c.Int64ul, "initiator" / _BOOL
                        ),
                        KeyType.TRUST_CENTER_LINK_KEY: c.Struct(
                            "key" / _KEY, "dst64" / c.Int64ul, "src64" / c.Int64ul
                        ),
                    },
                    c.Error,
                ),
            ),
            ApsCommandId.UPDATE_DEVICE: c.Struct(
                "device64" / c.Int64ul, "device16" / c.Int16ul, "status" / c.Int8ul
            ),
            ApsCommandId.REMOVE_DEVICE: c.Struct("target64" / c.Int64ul),
            ApsCommandId.REQUEST_KEY: c.Struct(
                "key_type" / c.Int8ul,
                "partner64"
                / c.If(c.this.key_type == RequestKeyType.APPLICATION_LINK_KEY, c.Int64ul),
            ),
            ApsCommandId.SWITCH_KEY: c.Struct("key_seq" / c.Int8ul),
        },
        c.Error,
    ),
    c.Terminated,
)


def _command(command_id: ApsCommandId, body: dict[str, Any]) -> bytes:
    return build_struct(_COMMANDS, {"id": command_id, "body": body}, command_id.name)


def _transport(key_type: KeyType, descriptor: dict[str, Any]) -> bytes:
    body = {"key_type": key_type, "descriptor": descriptor}
    return _command(ApsCommandId.TRANSPORT_KEY, body)


@dataclass(frozen=True)
class TransportNetworkKey:
    """Transport-Key (0x05), key type 1: the trust centre hands out the network key.

    Sent APS-secured with the key-transport key (key identifier 2) during joining.
    """

    key: bytes
    key_seq: int
    dst64: int
    src64: int

    def build(self) -> bytes:
        return _transport(KeyType.STANDARD_NETWORK_KEY, vars(self))


@dataclass(frozen=True)
class TransportTcLinkKey:
    """Transport-Key (0x05), key type 4: a (new) trust centre link key."""

    key: bytes
    dst64: int
    src64: int

    def build(self) -> bytes:
        return _transport(KeyType.TRUST_CENTER_LINK_KEY, vars(self))


@dataclass(frozen=True)
class TransportAppLinkKey:
    """Transport-Key (0x05), key type 3: an application link key shared with a partner."""

    key: bytes
    partner64: int
    initiator: bool

    def build(self) -> bytes:
        return _transport(
            KeyType.APPLICATION_LINK_KEY, {**vars(self), "initiator": int(self.initiator)}
        )


@dataclass(frozen=True)
class UpdateDevice:
    """Update-Device (0x06): a router tells the trust centre a device joined, rejoined or left."""

    device64: int
    device16: int
    status: UpdateDeviceStatus

    def build(self) -> bytes:
        return _command(ApsCommandId.UPDATE_DEVICE, vars(self))


@dataclass(frozen=True)
class RemoveDevice:
    """Remove-Device (0x07): the trust centre asks a parent to remove a child."""

    target64: int

    def build(self) -> bytes:
        return _command(ApsCommandId.REMOVE_DEVICE, vars(self))


@dataclass(frozen=True)
class RequestKey:
    """Request-Key (0x08): ask the trust centre for a key; `partner64` only for app keys."""

    key_type: RequestKeyType
    partner64: int | None = None

    def __post_init__(self) -> None:
        wants_partner = self.key_type == RequestKeyType.APPLICATION_LINK_KEY
        if wants_partner != (self.partner64 is not None):
            raise LocalProtocolError("Request-Key names a partner exactly for application keys")

    def build(self) -> bytes:
        return _command(ApsCommandId.REQUEST_KEY, vars(self))


@dataclass(frozen=True)
class SwitchKey:
    """Switch-Key (0x09): make the network key with this sequence number the active one."""

    key_seq: int

    def build(self) -> bytes:
        return _command(ApsCommandId.SWITCH_KEY, vars(self))


ApsCommand = (
    TransportNetworkKey
    | TransportTcLinkKey
    | TransportAppLinkKey
    | UpdateDevice
    | RemoveDevice
    | RequestKey
    | SwitchKey
)


def parse_aps_command(payload: bytes) -> ApsCommand:
    """Decode an APS command payload (after security processing; identifier first)."""
    raw = parse_struct(_COMMANDS, bytes(payload), "APS command", "a known APS security command")
    body = raw.body
    try:
        if raw.id == ApsCommandId.TRANSPORT_KEY:
            d = body.descriptor
            if body.key_type == KeyType.STANDARD_NETWORK_KEY:
                return TransportNetworkKey(d.key, d.key_seq, d.dst64, d.src64)
            if body.key_type == KeyType.TRUST_CENTER_LINK_KEY:
                return TransportTcLinkKey(d.key, d.dst64, d.src64)
            return TransportAppLinkKey(d.key, d.partner64, bool(d.initiator))
        if raw.id == ApsCommandId.UPDATE_DEVICE:
            status = UpdateDeviceStatus(body.status)
            return UpdateDevice(body.device64, body.device16, status)
        if raw.id == ApsCommandId.REMOVE_DEVICE:
            return RemoveDevice(body.target64)
        if raw.id == ApsCommandId.REQUEST_KEY:
            return RequestKey(RequestKeyType(body.key_type), body.partner64)
        return SwitchKey(body.key_seq)
    except (ValueError, LocalProtocolError) as exc:
        raise DecodeError("APS command", "known enumeration values", bytes(payload)) from exc

"""IEEE 802.15.4 MAC frames as ZigBee PRO uses them (802.15.4-2003 and -2006 frame versions).

Sans-IO codec: `MacFrame.parse(bytes)` and `MacFrame.build()`, plus the MAC command payloads a
ZigBee node exchanges while joining (Association Request/Response, Data Request, Beacon Request)
and the beacon payload that carries the ZigBee beacon (ZigBee spec 3.6.7).

Conventions, used by every ZigBee codec in this package:

- Addresses are ints. A short address is 16 bits; an extended address (EUI-64) is a 64-bit int
  whose least significant octet is sent first, as 802.15.4 sends every multi-octet field.
  `eui64_to_str` shows one the way zigpy and Wireshark do (most significant octet first).
- Codecs are canonical: anything `parse` accepts, `build` gives back byte for byte. Reserved bits
  that are not zero are refused rather than silently dropped.
- Malformed bytes from outside raise `DecodeError`; inconsistent fields given by our own code
  raise `LocalProtocolError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

import construct as c

from protocol.construct_errors import build_struct, parse_struct

from .errors import DecodeError, LocalProtocolError

MAX_PSDU = 127  # aMaxPHYPacketSize: MAC header, payload and FCS together
BROADCAST_PAN = 0xFFFF
BROADCAST_ADDR = 0xFFFF


class FrameType(IntEnum):
    """Frame Type subfield of the MAC frame control field (802.15.4-2006 7.2.1.1)."""

    BEACON = 0
    DATA = 1
    ACK = 2
    COMMAND = 3


class AddrMode(IntEnum):
    """Destination/Source Addressing Mode subfields (802.15.4-2006 7.2.1.1); 1 is reserved."""

    NONE = 0
    SHORT = 2
    EXTENDED = 3


def eui64_to_str(value: int) -> str:
    """Show an EUI-64 as zigpy and Wireshark do: `00:0d:6f:00:0a:90:69:e8` (MSB first)."""
    return ":".join(f"{b:02x}" for b in value.to_bytes(8, "big"))


def eui64_from_str(text: str) -> int:
    """Inverse of `eui64_to_str`; accepts colons or none."""
    digits = text.replace(":", "").replace("-", "")
    if len(digits) != 16:
        raise LocalProtocolError(f"an EUI-64 has 16 hex digits, got {text!r}")
    return int(digits, 16)


def _fcs_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_FCS_TABLE = _fcs_table()


def fcs16(data: bytes) -> int:
    """The MAC FCS: CRC-16/KERMIT (ITU-T polynomial x^16+x^12+x^5+1, reflected, init 0).

    802.15.4-2006 clause 7.2.1.9; sent least significant octet first. A table per octet, as
    every frame on the air is checked by every receiver.
    """
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _FCS_TABLE[(crc ^ byte) & 0xFF]
    return crc


@dataclass(frozen=True, slots=True)
class MacAddressing:
    """The MHR fields a radio channel routes by, read by `peek_addressing`."""

    frame_type: int
    seq: int
    ack_request: bool
    #: The destination short address, or EUI-64 when `dst_extended`; None without one.
    dst: int | None
    dst_extended: bool
    #: The sender's short address, when it sent one.
    src_short: int | None


def peek_addressing(psdu: bytes) -> MacAddressing | None:
    """Frame type, sequence number and addresses from the front of a PSDU, without decoding the
    frame or checking its FCS; None if the header is cut short or its address modes reserved.

    What a medium needs to decide who is addressed, at the cost of a few integer operations per
    frame (`MacFrame.parse` is what a receiver's MAC uses).
    """
    if len(psdu) < 3:
        return None
    fc = psdu[0] | psdu[1] << 8
    dst_mode, src_mode = (fc >> 10) & 3, (fc >> 14) & 3
    if dst_mode == 1 or src_mode == 1:
        return None
    at = 3
    dst: int | None = None
    if dst_mode:
        size = 2 if dst_mode == AddrMode.SHORT else 8
        at += 2  # the destination PAN
        dst = int.from_bytes(psdu[at : at + size], "little")
        at += size
    src_short: int | None = None
    if src_mode:
        if not fc & 0x40:  # no PAN ID compression: the source PAN is sent
            at += 2
        if src_mode == AddrMode.SHORT:
            src_short = int.from_bytes(psdu[at : at + 2], "little")
        at += 2 if src_mode == AddrMode.SHORT else 8
    if at > len(psdu):
        return None
    return MacAddressing(
        frame_type=fc & 7,
        seq=psdu[2],
        ack_request=bool(fc & 0x20),
        dst=dst,
        dst_extended=dst_mode == AddrMode.EXTENDED,
        src_short=src_short,
    )


# Frame control is a little-endian 16-bit field; BitStruct reads MSB first, so list the bits
# from b15 down to b0 and byte-swap.
_FRAME_CONTROL = c.ByteSwapped(
    c.BitStruct(
        "src_addr_mode" / c.BitsInteger(2),
        "frame_version" / c.BitsInteger(2),
        "dst_addr_mode" / c.BitsInteger(2),
        "reserved" / c.Const(0, c.BitsInteger(3)),
        "pan_id_compression" / c.Flag,
        "ack_request" / c.Flag,
        "frame_pending" / c.Flag,
        "security_enabled" / c.Flag,
        "frame_type" / c.BitsInteger(3),
    )
)

_ADDRESS = {AddrMode.SHORT: c.Int16ul, AddrMode.EXTENDED: c.Int64ul}

_MAC_FRAME = c.Struct(
    "fc" / _FRAME_CONTROL,
    "seq" / c.Int8ul,
    "dst_pan" / c.If(c.this.fc.dst_addr_mode != 0, c.Int16ul),
    "dst_addr" / c.Switch(c.this.fc.dst_addr_mode, _ADDRESS),
    # With PAN ID compression the source PAN equals the destination PAN and is not sent.
    "src_pan"
    / c.If(lambda ctx: ctx.fc.src_addr_mode != 0 and not ctx.fc.pan_id_compression, c.Int16ul),
    "src_addr" / c.Switch(c.this.fc.src_addr_mode, _ADDRESS),
    "payload" / c.GreedyBytes,
)


@dataclass(frozen=True)
class MacFrame:
    """An IEEE 802.15.4 MAC frame (MPDU without the PHY header).

    `dst_pan`/`src_pan` hold what is on the wire: `src_pan` is None when PAN ID compression
    leaves it out (use `source_pan` for the effective value). With `security_enabled` the MAC
    auxiliary security header stays at the front of `payload` (ZigBee does not use MAC security).
    """

    frame_type: FrameType
    seq: int
    dst_addr_mode: AddrMode = AddrMode.NONE
    dst_pan: int | None = None
    dst_addr: int | None = None
    src_addr_mode: AddrMode = AddrMode.NONE
    src_pan: int | None = None
    src_addr: int | None = None
    ack_request: bool = False
    pan_id_compression: bool = False
    frame_pending: bool = False
    security_enabled: bool = False
    frame_version: int = 0
    payload: bytes = b""

    def __post_init__(self) -> None:
        for side, mode, pan, addr in (
            ("destination", self.dst_addr_mode, self.dst_pan, self.dst_addr),
            ("source", self.src_addr_mode, None, self.src_addr),
        ):
            if (mode == AddrMode.NONE) != (addr is None):
                raise LocalProtocolError(f"{side} address {addr} does not fit mode {mode!r}")
            if side == "destination" and (mode == AddrMode.NONE) != (pan is None):
                raise LocalProtocolError("destination PAN is sent exactly when an address is")
        both = self.dst_addr_mode != AddrMode.NONE and self.src_addr_mode != AddrMode.NONE
        if self.pan_id_compression and not both:
            raise LocalProtocolError("PAN ID compression needs both addresses (7.2.1.1.5)")
        src_pan_sent = self.src_addr_mode != AddrMode.NONE and not self.pan_id_compression
        if src_pan_sent != (self.src_pan is not None):
            raise LocalProtocolError("source PAN is sent only without PAN ID compression")
        if self.frame_version not in (0, 1):
            raise LocalProtocolError("frame version must be 0 (2003) or 1 (2006)")

    @property
    def source_pan(self) -> int | None:
        """The source PAN identifier, filling in the one that PAN ID compression leaves out."""
        return self.dst_pan if self.pan_id_compression else self.src_pan

    def build(self, include_fcs: bool = True) -> bytes:
        """Serialise the MHR and payload, with the 2-octet FCS unless told otherwise."""
        body = build_struct(
            _MAC_FRAME,
            {
                "fc": {
                    "src_addr_mode": self.src_addr_mode,
                    "frame_version": self.frame_version,
                    "dst_addr_mode": self.dst_addr_mode,
                    "pan_id_compression": self.pan_id_compression,
                    "ack_request": self.ack_request,
                    "frame_pending": self.frame_pending,
                    "security_enabled": self.security_enabled,
                    "frame_type": self.frame_type,
                },
                "seq": self.seq,
                "dst_pan": self.dst_pan,
                "dst_addr": self.dst_addr,
                "src_pan": self.src_pan,
                "src_addr": self.src_addr,
                "payload": self.payload,
            },
            "MAC frame",
        )
        if len(body) + 2 > MAX_PSDU:
            raise LocalProtocolError(f"MAC frame of {len(body) + 2} octets exceeds {MAX_PSDU}")
        return body + fcs16(body).to_bytes(2, "little") if include_fcs else body

    @classmethod
    def parse(cls, data: bytes, has_fcs: bool = True) -> MacFrame:
        """Decode a MAC frame; with `has_fcs` the last two octets are checked and removed."""
        data = bytes(data)
        if has_fcs:
            if len(data) < 5:
                raise DecodeError("MAC frame", "at least 3 octets of MHR and a 2-octet FCS", data)
            body, fcs = data[:-2], int.from_bytes(data[-2:], "little")
            if fcs16(body) != fcs:
                raise DecodeError("MAC frame", f"FCS 0x{fcs16(body):04x}", f"0x{fcs:04x}")
        else:
            body = data
        if len(body) + 2 > MAX_PSDU:
            raise DecodeError("MAC frame", f"at most {MAX_PSDU} octets with the FCS", data)
        raw = parse_struct(_MAC_FRAME, body, "MAC frame", "802.15.4 MHR")
        fc = raw.fc
        try:
            return cls(
                frame_type=FrameType(fc.frame_type),
                seq=raw.seq,
                dst_addr_mode=AddrMode(fc.dst_addr_mode),
                dst_pan=raw.dst_pan,
                dst_addr=raw.dst_addr,
                src_addr_mode=AddrMode(fc.src_addr_mode),
                src_pan=raw.src_pan,
                src_addr=raw.src_addr,
                ack_request=fc.ack_request,
                pan_id_compression=fc.pan_id_compression,
                frame_pending=fc.frame_pending,
                security_enabled=fc.security_enabled,
                frame_version=fc.frame_version,
                payload=raw.payload,
            )
        except (ValueError, LocalProtocolError) as exc:
            raise DecodeError("MAC frame", "a valid frame control field", str(exc)) from exc


# --- MAC command frames (802.15.4-2006 clause 7.3) -------------------------------------------


class MacCommandId(IntEnum):
    """Command Frame Identifier (802.15.4-2006 7.3), the ones a ZigBee join uses."""

    ASSOCIATION_REQUEST = 0x01
    ASSOCIATION_RESPONSE = 0x02
    DATA_REQUEST = 0x04
    BEACON_REQUEST = 0x07


class Capability(IntFlag):
    """Capability Information field (802.15.4-2006 7.3.1.2), also used by NWK Rejoin."""

    NONE = 0
    ALTERNATE_PAN_COORDINATOR = 0x01
    FULL_FUNCTION_DEVICE = 0x02
    MAINS_POWERED = 0x04
    RX_ON_WHEN_IDLE = 0x08
    SECURITY_CAPABLE = 0x40
    ALLOCATE_ADDRESS = 0x80


class AssociationStatus(IntEnum):
    """Association Status field (802.15.4-2006 7.3.2.3)."""

    SUCCESS = 0x00
    PAN_AT_CAPACITY = 0x01
    PAN_ACCESS_DENIED = 0x02


_COMMANDS = c.Struct(
    "id" / c.Int8ul,
    "body"
    / c.Switch(
        c.this.id,
        {
            MacCommandId.ASSOCIATION_REQUEST: c.Struct("capability" / c.Int8ul),
            MacCommandId.ASSOCIATION_RESPONSE: c.Struct(
                "short_addr" / c.Int16ul, "status" / c.Int8ul
            ),
            MacCommandId.DATA_REQUEST: c.Struct(),
            MacCommandId.BEACON_REQUEST: c.Struct(),
        },
        c.Error,
    ),
    c.Terminated,
)


def _command(command_id: MacCommandId, body: dict[str, Any]) -> bytes:
    return build_struct(_COMMANDS, {"id": command_id, "body": body}, command_id.name)


@dataclass(frozen=True)
class AssociationRequest:
    """MAC command 0x01: a device asks a coordinator to let it join."""

    capability: Capability

    def build(self) -> bytes:
        return _command(MacCommandId.ASSOCIATION_REQUEST, {"capability": int(self.capability)})


@dataclass(frozen=True)
class AssociationResponse:
    """MAC command 0x02: the short address given to the joining device, and a status."""

    short_addr: int
    status: AssociationStatus = AssociationStatus.SUCCESS

    def build(self) -> bytes:
        body = {"short_addr": self.short_addr, "status": int(self.status)}
        return _command(MacCommandId.ASSOCIATION_RESPONSE, body)


@dataclass(frozen=True)
class DataRequest:
    """MAC command 0x04: a polling device asks its parent for pending data."""

    def build(self) -> bytes:
        return _command(MacCommandId.DATA_REQUEST, {})


@dataclass(frozen=True)
class BeaconRequest:
    """MAC command 0x07: an active scan asks coordinators and routers to send beacons."""

    def build(self) -> bytes:
        return _command(MacCommandId.BEACON_REQUEST, {})


MacCommand = AssociationRequest | AssociationResponse | DataRequest | BeaconRequest


def parse_mac_command(payload: bytes) -> MacCommand:
    """Decode the payload of a MAC command frame (command identifier first)."""
    raw = parse_struct(_COMMANDS, bytes(payload), "MAC command", "command 0x01, 0x02, 0x04 or 0x07")
    if raw.id == MacCommandId.ASSOCIATION_REQUEST:
        return AssociationRequest(Capability(raw.body.capability))
    if raw.id == MacCommandId.ASSOCIATION_RESPONSE:
        try:
            status = AssociationStatus(raw.body.status)
        except ValueError as exc:
            raise DecodeError("Association Response", "status 0, 1 or 2", bytes(payload)) from exc
        return AssociationResponse(raw.body.short_addr, status)
    if raw.id == MacCommandId.DATA_REQUEST:
        return DataRequest()
    return BeaconRequest()


# --- Beacon frame payload (802.15.4-2006 clause 7.2.2.1, ZigBee spec 3.6.7) ------------------

_BEACON = c.Struct(
    # Superframe Specification (802.15.4-2006 7.2.2.1.2), little-endian 16 bits.
    "superframe"
    / c.ByteSwapped(
        c.BitStruct(
            "association_permit" / c.Flag,
            "pan_coordinator" / c.Flag,
            "reserved" / c.Const(0, c.BitsInteger(1)),
            "battery_life_extension" / c.Flag,
            "final_cap_slot" / c.BitsInteger(4),
            "superframe_order" / c.BitsInteger(4),
            "beacon_order" / c.BitsInteger(4),
        )
    ),
    # GTS Specification: ZigBee beacons carry no GTS descriptors; only the permit bit may vary.
    "gts" / c.BitStruct("gts_permit" / c.Flag, "rest" / c.Const(0, c.BitsInteger(7))),
    # Pending Address Specification: ZigBee signals pending data with the frame-pending bit.
    "pending" / c.Const(0, c.Int8ul),
    # ZigBee beacon payload (ZigBee spec 3.6.7).
    "protocol_id" / c.Const(0, c.Int8ul),
    "stack"
    / c.BitStruct("protocol_version" / c.BitsInteger(4), "stack_profile" / c.BitsInteger(4)),
    "capacity"
    / c.BitStruct(
        "end_device_capacity" / c.Flag,
        "device_depth" / c.BitsInteger(4),
        "router_capacity" / c.Flag,
        "reserved" / c.Const(0, c.BitsInteger(2)),
    ),
    "extended_pan_id" / c.Int64ul,
    "tx_offset" / c.Int24ul,
    "update_id" / c.Int8ul,
    c.Terminated,
)


@dataclass(frozen=True)
class BeaconPayload:
    """The MAC payload of a ZigBee beacon: superframe spec, empty GTS/pending fields, then the
    ZigBee beacon payload (protocol ID 0, stack profile 2 = ZigBee PRO, nwkcProtocolVersion 2).

    ZigBee networks are non-beacon-enabled, hence beacon order and superframe order 15.
    """

    extended_pan_id: int
    association_permit: bool = False
    pan_coordinator: bool = False
    router_capacity: bool = True
    end_device_capacity: bool = True
    device_depth: int = 0
    update_id: int = 0
    beacon_order: int = 15
    superframe_order: int = 15
    final_cap_slot: int = 15
    battery_life_extension: bool = False
    gts_permit: bool = False
    stack_profile: int = 2
    protocol_version: int = 2
    tx_offset: int = 0xFFFFFF

    def build(self) -> bytes:
        return build_struct(
            _BEACON,
            {
                "superframe": {
                    "association_permit": self.association_permit,
                    "pan_coordinator": self.pan_coordinator,
                    "battery_life_extension": self.battery_life_extension,
                    "final_cap_slot": self.final_cap_slot,
                    "superframe_order": self.superframe_order,
                    "beacon_order": self.beacon_order,
                },
                "gts": {"gts_permit": self.gts_permit},
                "stack": {
                    "protocol_version": self.protocol_version,
                    "stack_profile": self.stack_profile,
                },
                "capacity": {
                    "end_device_capacity": self.end_device_capacity,
                    "device_depth": self.device_depth,
                    "router_capacity": self.router_capacity,
                },
                "extended_pan_id": self.extended_pan_id,
                "tx_offset": self.tx_offset,
                "update_id": self.update_id,
            },
            "beacon payload",
        )

    @classmethod
    def parse(cls, payload: bytes) -> BeaconPayload:
        raw = parse_struct(_BEACON, bytes(payload), "beacon payload", "a 19-octet ZigBee beacon")
        sf, cap = raw.superframe, raw.capacity
        return cls(
            extended_pan_id=raw.extended_pan_id,
            association_permit=sf.association_permit,
            pan_coordinator=sf.pan_coordinator,
            router_capacity=cap.router_capacity,
            end_device_capacity=cap.end_device_capacity,
            device_depth=cap.device_depth,
            update_id=raw.update_id,
            beacon_order=sf.beacon_order,
            superframe_order=sf.superframe_order,
            final_cap_slot=sf.final_cap_slot,
            battery_life_extension=sf.battery_life_extension,
            gts_permit=raw.gts.gts_permit,
            stack_profile=raw.stack.stack_profile,
            protocol_version=raw.stack.protocol_version,
            tx_offset=raw.tx_offset,
        )

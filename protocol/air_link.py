"""Framing between an emulated radio and the virtual 2.4 GHz channel (the "air").

The air is a hub-and-spoke TCP service: each emulated NCP connects, says who it is, then sends
the PSDUs it transmits and receives the PSDUs other nodes transmitted, each tagged with the
channel, and on reception with the RSSI and LQI the channel model gave it. Every message is a
2-byte big-endian length followed by a body whose first byte says what it is. The PSDUs are
complete IEEE 802.15.4 frames including the FCS, so a capture of the air is a real capture.

A capture tool connects the same way but opens with `Monitor` instead of `Hello`: it never
transmits, is no node of the network (it has no EUI-64), and receives every frame transmitted on
any channel as a `Receive`, like a sniffer dongle in promiscuous mode.
"""

from __future__ import annotations

import dataclasses

import construct as c

from .errors import DecodeError

_HELLO, _TRANSMIT, _RECEIVE, _MONITOR = 1, 2, 3, 4
_MAX_PSDU = 127

_BODY = c.Struct(
    "kind" / c.Int8ub,
    "payload"
    / c.Switch(
        c.this.kind,
        {
            _HELLO: c.Struct("eui64" / c.Int64ub, "name" / c.PascalString(c.Int8ub, "utf8")),
            _TRANSMIT: c.Struct("channel" / c.Int8ub, "psdu" / c.GreedyBytes),
            _RECEIVE: c.Struct(
                "channel" / c.Int8ub, "rssi" / c.Int8sb, "lqi" / c.Int8ub, "psdu" / c.GreedyBytes
            ),
            _MONITOR: c.Struct(),
        },
    ),
)


@dataclasses.dataclass(frozen=True)
class Hello:
    """First message of a node: its EUI-64 and a name for logs and captures."""

    eui64: int
    name: str


@dataclasses.dataclass(frozen=True)
class Transmit:
    """A node puts a frame on the air."""

    channel: int
    psdu: bytes


@dataclasses.dataclass(frozen=True)
class Receive:
    """The air hands a frame to a node, with the link quality the channel model gave it."""

    channel: int
    rssi: int
    lqi: int
    psdu: bytes


@dataclasses.dataclass(frozen=True)
class Monitor:
    """First message of a capture tool: send me every frame on every channel, never deliver
    mine (a monitor transmits nothing). The body is the kind octet alone."""


AirMessage = Hello | Transmit | Receive | Monitor


def encode(message: AirMessage) -> bytes:
    body: bytes
    if isinstance(message, Hello):
        body = _BODY.build(
            {"kind": _HELLO, "payload": {"eui64": message.eui64, "name": message.name}}
        )
    elif isinstance(message, Monitor):
        body = _BODY.build({"kind": _MONITOR, "payload": {}})
    elif isinstance(message, Transmit):
        body = _BODY.build({"kind": _TRANSMIT, "payload": dataclasses.asdict(message)})
    else:
        body = _BODY.build({"kind": _RECEIVE, "payload": dataclasses.asdict(message)})
    return len(body).to_bytes(2, "big") + body


def decode_body(body: bytes) -> AirMessage:
    try:
        parsed = _BODY.parse(body)
    except c.ConstructError as exc:
        raise DecodeError(
            "air link message", "a hello, transmit, receive or monitor body", body
        ) from exc
    p = parsed.payload
    if parsed.kind == _HELLO:
        return Hello(p.eui64, p.name)
    if parsed.kind == _MONITOR:
        if len(body) != 1:
            raise DecodeError("air link monitor message", "the kind octet alone", body)
        return Monitor()
    if p is None:
        raise DecodeError("air link message", "kind 1, 2, 3 or 4", body[:1])
    if len(p.psdu) > _MAX_PSDU + 2:
        raise DecodeError("air link PSDU", f"at most {_MAX_PSDU} bytes", body)
    if parsed.kind == _TRANSMIT:
        return Transmit(p.channel, bytes(p.psdu))
    return Receive(p.channel, p.rssi, p.lqi, bytes(p.psdu))


class AirLinkDecoder:
    """Sans-IO reassembly of length-prefixed messages from a byte stream."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[AirMessage]:
        self._buffer += data
        out: list[AirMessage] = []
        while len(self._buffer) >= 2:
            size = int.from_bytes(self._buffer[:2], "big")
            if len(self._buffer) < 2 + size:
                break
            body = bytes(self._buffer[2 : 2 + size])
            del self._buffer[: 2 + size]
            out.append(decode_body(body))
        return out

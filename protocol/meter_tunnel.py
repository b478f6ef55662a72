"""Head-end commands for a meter carried through the SE Tunneling cluster (0x0704): the framing.

The tariff commands of the head-end (set the passive tariff, schedule a CPP event, set the gas
conversion factors, read the tariff registers or the profile, 16.7, 16.11, 13.2, 16.15) carry
documents far longer than one ZCL frame. The hub passes them to the meter the way a GB comms
hub passes GBCS commands: through a tunnel the meter serves (SE 1.4 annex D.6), the same on any
manufacturer's meter. Both ends speak this module:

- a message is one JSON object (a request `{"command": ..., "args": {...}}`, or a reply
  `{"ok": true, "data": {...}}` / `{"ok": false, "error": "..."}`), UTF-8, prefixed by its
  length as a 32-bit big-endian integer;
- it travels as TransferData payloads of at most `chunk` octets, in order; the receiver knows
  from the prefix when the message is complete.

Sans-IO: `chunks` cuts a message, `Reassembly` takes chunks back in and hands out the object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from protocol.errors import DecodeError, LocalProtocolError
from protocol.json_fields import JsonObject, parse_object

__all__ = [
    "MAX_MESSAGE_OCTETS",
    "TUNNEL_MANUFACTURER",
    "Reassembly",
    "chunks",
    "encode",
]

#: Longest message either way: a tariff of 200 switches or a day of half-hour profile.
MAX_MESSAGE_OCTETS = 65_536
_PREFIX = 4
#: Manufacturer code of the tunnel: 0, i.e. no manufacturer's protocol but a public one.
TUNNEL_MANUFACTURER = 0x0000
WHAT = "tunnelled meter message"


def encode(message: JsonObject) -> bytes:
    """A message with its length prefix."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    if len(body) > MAX_MESSAGE_OCTETS:
        raise LocalProtocolError(f"a tunnelled message is at most {MAX_MESSAGE_OCTETS} octets")
    return len(body).to_bytes(_PREFIX, "big") + body


def chunks(message: JsonObject, chunk: int) -> list[bytes]:
    """The TransferData payloads that carry `message`, each at most `chunk` octets."""
    if chunk < 1:
        raise LocalProtocolError("a chunk holds at least one octet")
    data = encode(message)
    return [data[i : i + chunk] for i in range(0, len(data), chunk)]


@dataclass
class Reassembly:
    """Chunks of one message in, the message out; DecodeError for anything malformed."""

    buffer: bytearray = field(default_factory=bytearray)

    @property
    def expected(self) -> int | None:
        """Octets of the whole message (prefix included), once the prefix has come."""
        if len(self.buffer) < _PREFIX:
            return None
        return _PREFIX + int.from_bytes(self.buffer[:_PREFIX], "big")

    @property
    def missing(self) -> int:
        """Octets still to come (an estimate of 0xFFFF before the prefix has come)."""
        expected = self.expected
        return 0xFFFF if expected is None else expected - len(self.buffer)

    def take(self, data: bytes) -> JsonObject | None:
        """Add a chunk; the message once complete (the reassembly is then empty again)."""
        self.buffer.extend(data)
        expected = self.expected
        if expected is not None and expected - _PREFIX > MAX_MESSAGE_OCTETS:
            self.buffer.clear()
            raise DecodeError(WHAT, f"at most {MAX_MESSAGE_OCTETS} octets", f"{expected} octets")
        if expected is None or len(self.buffer) < expected:
            return None
        if len(self.buffer) > expected:
            extra = bytes(self.buffer[expected:])
            self.buffer.clear()
            raise DecodeError(WHAT, "nothing after the message", extra)
        body = bytes(self.buffer[_PREFIX:])
        self.buffer.clear()
        return parse_object(WHAT, body, max_bytes=MAX_MESSAGE_OCTETS)

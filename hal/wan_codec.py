"""What turns WAN payloads into commands and back, at the hub's end of the link.

The WAN link (`hal.real.mqtt_wan`) hands every received payload to a codec and every payload it
sends through it. `PlainCodec` is the JSON of `protocol.wan` as is; the hub's firmware plugs in
its sealing codec (`hub.wan_security`), so the link never sees a key.
"""

from __future__ import annotations

from typing import Protocol

from protocol.wan import Channel, UplinkAck, WanCommand

__all__ = ["PlainCodec", "WanCodec"]


class WanCodec(Protocol):
    def open_command(self, payload: bytes) -> WanCommand:
        """The command a received payload carries; `protocol.wan_security.SecurityRefusal` or
        `DecodeError` if it is refused (the codec has already logged a security refusal)."""
        ...

    def open_uplink_ack(self, payload: bytes) -> UplinkAck:
        """The head-end's acknowledgement of outbox messages a received payload carries;
        `SecurityRefusal` or `DecodeError` if it is refused."""
        ...

    def seal(self, channel: Channel, payload: bytes, ref: str | None = None) -> bytes:
        """The bytes to send for `payload` on `channel`; `ref` is the request id an ack or a
        result answers (whose sender it goes back to). Called for every send: a message sent
        again is sealed again, with a new counter."""
        ...


class PlainCodec:
    """No sealing: the plain JSON envelopes (tests of the link, `wan_sealed = false`)."""

    def open_command(self, payload: bytes) -> WanCommand:
        return WanCommand.from_json(payload)

    def open_uplink_ack(self, payload: bytes) -> UplinkAck:
        return UplinkAck.from_json(payload)

    def seal(self, channel: Channel, payload: bytes, ref: str | None = None) -> bytes:
        return payload

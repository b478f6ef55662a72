"""The WAN port of the comms hub: a link to the head-end that carries commands down and
acknowledgements, results and events up (DESIGN.md §4; requirements 6.1.1, 19.1.1.a).

The hub's firmware sees only this Protocol. The emulated backend speaks MQTT to a broker
(`hal.real.mqtt_wan.MqttWanLink`); requirement 6.1.7 (a pluggable WAN bearer) is why the hub
must not know that. The composition root picks the backend from a URL (`firmware.wiring.build_wan`), as zigpy
picks TCP or serial from its path: `mqtt://host:port` is the only scheme so far.

Contract every backend keeps:

- `start()` never fails because the far end is down: it keeps retrying in the background
  (requirement 19.1.7, the hub retries continuously) while the HAN carries on (12.7.1).
- Each command is acknowledged (accepted or rejected with a reason, 19.1.6) and handed to the
  handler, every time it is delivered: de-duplication and the answer are the hub's, which keeps
  its command journal and outbox in its own store so both survive a restart (19.1.6; the
  journal is `hub.command_journal`, the outbox `hub.outbox`).
- Uplink messages go up one at a time through `publish_uplink`; the head-end's application
  acknowledgements come back to `on_uplink_ack`. The link keeps nothing: an unacknowledged
  message is the outbox's to send again.
- Every payload goes through the hub's codec (`hal.wan_codec`) at the link's one way out and
  its one way in: each send of an outbox message, a retry included, is sealed afresh (a new
  counter), so the head-end never takes a retry for a replay.
- `stop()` tells the head-end the hub is going offline before closing the link.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from protocol.wan import UplinkAck, UplinkMessage, WanCommand

from .wan_codec import WanCodec

# What the hub does with an accepted command: carry it out (once) and answer it via its outbox.
CommandHandler = Callable[[WanCommand], Awaitable[None]]
#: Told of every message refused before it reached the handler: (request id if any, reason).
RefusalHandler = Callable[[str | None, str], None]
#: Told of every application acknowledgement the head-end sends.
UplinkAckHandler = Callable[[UplinkAck], None]


@runtime_checkable
class WanLink(Protocol):
    """Hub side of the WAN."""

    @property
    def connected(self) -> bool:
        """True while the link is up and commands can arrive."""
        ...

    async def start(
        self,
        handler: CommandHandler,
        on_refused: RefusalHandler | None = None,
        on_uplink_ack: UplinkAckHandler | None = None,
        codec: WanCodec | None = None,
    ) -> None:
        """Bring the link up (or start trying to), handing every command to `handler`, every
        malformed message it refused to `on_refused` (clause 18.11.j: the hub logs it) and every
        uplink acknowledgement to `on_uplink_ack`, every payload both ways through `codec`
        (sealing, `hal.wan_codec`); returns without raising if the far end is down."""
        ...

    async def stop(self) -> None:
        """Announce offline and close the link."""
        ...

    async def publish_uplink(self, message: UplinkMessage, timeout: float = ...) -> None:
        """Send an outbox message up to the head-end, returning once the next hop (the broker)
        has taken it; TransientLinkError if it did not within `timeout` seconds. Delivery is
        only certain when the head-end's `UplinkAck` comes back."""
        ...

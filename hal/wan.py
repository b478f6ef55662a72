"""The WAN port of the comms hub: a link to the head-end that carries commands down and
acknowledgements, results and events up (DESIGN.md §4; requirements 6.1.1, 19.1.1.a).

The hub's firmware sees only this Protocol. The emulated backend speaks MQTT to a broker
(`hal.real.mqtt_wan.MqttWanLink`); requirement 6.1.7 (a pluggable WAN bearer) is why the hub
must not know that. The composition root picks the backend from a URL (`firmware.wiring.build_wan`), as zigpy
picks TCP or serial from its path: `mqtt://host:port` is the only scheme so far.

Contract every backend keeps:

- `start()` never fails because the far end is down: it keeps retrying in the background
  (requirement 19.1.7, the hub retries continuously) while the HAN carries on (12.7.1).
- Each command is acknowledged (accepted or rejected with a reason, 19.1.6), executed at most
  once per request id even if delivered again, and answered with a result.
- `stop()` tells the head-end the hub is going offline before closing the link.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from protocol.event_report import EventReport
from protocol.wan import WanCommand

from .wan_codec import WanCodec

# What the hub does with a command: return the result's data, or raise SmartMeterError.
CommandHandler = Callable[[WanCommand], Awaitable[dict[str, Any]]]
#: Told of every message refused before it reached the handler: (request id if any, reason).
RefusalHandler = Callable[[str | None, str], None]


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
        codec: WanCodec | None = None,
    ) -> None:
        """Bring the link up (or start trying to), handing every command to `handler` and every
        malformed message it refused to `on_refused` (clause 18.11.j: the hub logs it), every
        payload through `codec` (sealing, `hal.wan_codec`); returns without raising if the far
        end is down."""
        ...

    async def stop(self) -> None:
        """Announce offline and close the link."""
        ...

    async def publish_event(self, event: EventReport, timeout: float = ...) -> None:
        """Send an event or alert up to the head-end (clause 18.6), returning once the far end
        (the broker) has taken it; TransientLinkError if it did not within `timeout` seconds."""
        ...

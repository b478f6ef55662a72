"""The WAN port of the comms hub: a link to the head-end that carries commands down and
acknowledgements, results and events up (DESIGN.md §4; requirements 6.1.1, 19.1.1.a).

The hub's firmware sees only this Protocol. The emulated backend speaks MQTT to a broker
(`hal.real.mqtt_wan.MqttWanLink`); requirement 6.1.7 (a pluggable WAN bearer) is why the hub
must not know that. A backend is chosen from a URL, as zigpy picks TCP or serial from its path:
`mqtt://host:port` is the only scheme so far.

Contract every backend keeps:

- `start()` never fails because the far end is down: it keeps retrying in the background
  (requirement 19.1.7, the hub retries continuously) while the HAN carries on (12.7.1).
- Each command is acknowledged (accepted or rejected with a reason, 19.1.6), executed at most
  once per request id even if delivered again, and answered with a result.
- `stop()` tells the head-end the hub is going offline before closing the link.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from protocol.errors import ConfigError
from protocol.event_report import EventReport
from protocol.wan import WanCommand

# What the hub does with a command: return the result's data, or raise SmartMeterError.
CommandHandler = Callable[[WanCommand], Awaitable[dict[str, Any]]]

DEFAULT_MQTT_PORT = 1883


@runtime_checkable
class WanLink(Protocol):
    """Hub side of the WAN."""

    @property
    def connected(self) -> bool:
        """True while the link is up and commands can arrive."""
        ...

    async def start(self, handler: CommandHandler) -> None:
        """Bring the link up (or start trying to), handing every command to `handler`; returns
        without raising if the far end is down."""
        ...

    async def stop(self) -> None:
        """Announce offline and close the link."""
        ...

    async def publish_event(self, event: EventReport) -> None:
        """Send an event or alert up to the head-end (clause 18.6)."""
        ...


def wan_link_from_url(url: str, hub_id: str, clock: Callable[[], datetime]) -> WanLink:
    """Build the WAN backend a configuration value names, e.g. `mqtt://127.0.0.1:1883`;
    `clock` gives the (aware, UTC) times stamped on what the hub sends."""
    parts = urlsplit(url)
    if parts.scheme == "mqtt":
        if not parts.hostname:
            raise ConfigError(f"WAN URL {url!r} has no host")
        from hal.real.mqtt_wan import MqttWanLink  # only a configured backend is imported

        return MqttWanLink(parts.hostname, parts.port or DEFAULT_MQTT_PORT, hub_id, clock=clock)
    raise ConfigError(f"WAN URL {url!r}: unknown scheme {parts.scheme!r}; known: mqtt")

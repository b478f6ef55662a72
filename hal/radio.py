"""The ZigBee radio ports: the EZSP co-processor, and a joining node's radio as firmware sees it.

`Ncp` is the hardware: something a host opens as an EZSP serial device (a USB dongle, a
network-attached one at `socket://host:port`, or our emulated NCP behind a pseudo-terminal).
The hub hands its path to zigpy/bellows as a coordinator. A meter or IHD sees a `HanRadio`:
join with an install-code key, resume from the radio's tokens, send and receive APS frames; its
one implementation (`hal.ezsp_node.EzspNodeRadio`) drives any `Ncp` through stock bellows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from protocol.zigbee_ids import SE_PROFILE

__all__ = [
    "EndpointDescriptor",
    "HanRadio",
    "IncomingMessage",
    "Ncp",
    "OnMessage",
    "OnNetworkDown",
]


@runtime_checkable
class Ncp(Protocol):
    """An EZSP network co-processor, as its host finds it."""

    @property
    def name(self) -> str:
        """What to call it in logs: the dongle's path, or the emulated NCP's name."""
        ...

    async def power_on(self) -> str:
        """Make the NCP reachable; returns the device path bellows opens (a tty, `socket://`)."""
        ...

    async def power_off(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class EndpointDescriptor:
    """A simple descriptor: the endpoint a device registers with its NCP (ZigBee 2.3.2.5)."""

    endpoint: int
    device_id: int
    input_clusters: tuple[int, ...]
    output_clusters: tuple[int, ...]
    profile_id: int = SE_PROFILE


@dataclasses.dataclass(frozen=True)
class IncomingMessage:
    """An APS data frame delivered to one of our endpoints."""

    sender: int
    profile_id: int
    cluster_id: int
    src_endpoint: int
    dst_endpoint: int
    payload: bytes
    lqi: int
    rssi: int
    broadcast: bool


OnMessage = Callable[[IncomingMessage], None]
OnNetworkDown = Callable[[], None]


class HanRadio(Protocol):
    """A joining (router or end device) node on the HAN."""

    @property
    def node_id(self) -> int | None:
        """Our NWK address while on a network, else None."""
        ...

    async def connect(
        self,
        endpoint: EndpointDescriptor,
        *,
        router: bool,
        on_message: OnMessage,
        on_network_down: OnNetworkDown | None = None,
    ) -> None:
        """Power the NCP up and open the host link; TransientLinkError if it does not answer."""
        ...

    async def close(self) -> None: ...

    async def resume(self) -> int | None:
        """Rejoin the network the radio's tokens remember; our node id, or None to join."""
        ...

    async def join(self, *, link_key: bytes, channel: int, extended_pan_id: int = 0) -> int:
        """Join with an install-code link key; our node id, or TransientLinkError."""
        ...

    async def send(
        self,
        destination: int,
        cluster_id: int,
        dst_endpoint: int,
        payload: bytes,
        *,
        profile_id: int = SE_PROFILE,
    ) -> None:
        """APS-acknowledged unicast; TransientLinkError if it was not delivered."""
        ...

    async def broadcast(
        self,
        cluster_id: int,
        payload: bytes,
        *,
        profile_id: int = 0,
        dst_endpoint: int = 0,
        destination: int = 0xFFFD,
    ) -> None: ...

    async def counters(self) -> dict[str, int]:
        """The NCP's counters by EmberCounterType name without COUNTER_."""
        ...

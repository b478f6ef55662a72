"""The PHY port of an emulated NCP: how its radio reaches the air.

Two backends: `hal.emulated.air_tcp_link.TcpRadioLink` (an air process, for rigs) and
`hal.emulated.air_channel.InProcessRadioLink` (an in-process channel, for tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from protocol.air_link import Receive

__all__ = ["OnReceive", "RadioLink"]

OnReceive = Callable[[Receive], None]


class RadioLink(Protocol):
    """The PHY as the emulated NCP sees it: send a PSDU, get PSDUs with RSSI/LQI back."""

    async def open(self, on_receive: OnReceive) -> None: ...

    def transmit(self, channel: int, psdu: bytes) -> None: ...

    async def close(self) -> None: ...

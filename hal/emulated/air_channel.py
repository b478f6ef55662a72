"""The virtual 2.4 GHz channel ("the air") shared by emulated NCPs, in-process.

Every frame a node transmits reaches the other nodes it is addressed to (`air_addressing`:
broadcasts and frames whose addressee is not known yet reach all of them, whose MACs filter by
address as real ones do). A `RadioModel` (`hal.radio_model`) gives
each reception an RSSI and an LQI from the two nodes' positions, and loses frames near the
receiver's sensitivity; without one every link is a good one. `AirServer`
(`hal.emulated.air_server`) serves a channel to NCPs in other processes; tests attach NCPs
in-process with `InProcessRadioLink`. Capture taps (monitors) get a copy of every frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections.abc import Callable

from hal.emulated.air_addressing import AirAddressing
from hal.radio_model import FADE_MARGIN_DB, SENSITIVITY_DBM, RadioModel, lqi_from_rssi
from protocol.air_link import Receive, Transmit

__all__ = ["DEFAULT_LQI", "DEFAULT_RSSI", "AirChannel", "AirNode", "InProcessRadioLink"]

LOGGER = logging.getLogger(__name__)
#: The signal of every link on an air without a radio model (and of unknown nodes on one).
DEFAULT_RSSI = -45
DEFAULT_LQI = 255

Deliver = Callable[[Receive], object]  # what it returns is ignored
MonitorTap = Callable[[int, bytes], None]


@dataclasses.dataclass(eq=False)  # a node is itself: hashed and compared by identity
class AirNode:
    eui64: int
    name: str
    deliver: Deliver
    frames_sent: int = 0
    frames_received: int = 0
    frames_lost: int = 0


class AirChannel:
    """Broadcast medium: the in-process core the TCP service and tests share.

    Without a `RadioModel` every node hears every frame at DEFAULT_RSSI / DEFAULT_LQI.
    """

    def __init__(self, model: RadioModel | None = None) -> None:
        self.model = model
        self._random = random.Random(model.seed if model else 0)
        self._nodes: list[AirNode] = []
        self._addressing: AirAddressing[AirNode] = AirAddressing()
        self._monitors: list[MonitorTap] = []

    def attach(self, eui64: int, name: str, deliver: Deliver) -> AirNode:
        node = AirNode(eui64, name, deliver)
        self._nodes.append(node)
        LOGGER.info("node %s (%016x) attached to the air", name, eui64)
        return node

    def detach(self, node: AirNode) -> None:
        with contextlib.suppress(ValueError):
            self._nodes.remove(node)
        self._addressing.forget(node)

    def add_monitor(self, monitor: MonitorTap) -> None:
        """A capture tap: sees every frame transmitted on any channel."""
        self._monitors.append(monitor)

    def remove_monitor(self, monitor: MonitorTap) -> None:
        """Stop calling `monitor`; a tap that was never added (or already removed) is ignored."""
        with contextlib.suppress(ValueError):
            self._monitors.remove(monitor)

    def transmit(self, sender: AirNode, frame: Transmit) -> None:
        sender.frames_sent += 1
        for monitor in list(self._monitors):
            monitor(frame.channel, frame.psdu)
        for node in self._addressing.receivers(sender, frame.psdu, self._nodes):
            reception = self.reception(sender.name, node.name)
            if reception is None:
                node.frames_lost += 1
                continue
            node.frames_received += 1
            node.deliver(Receive(frame.channel, *reception, frame.psdu))

    def reception(self, sender: str, receiver: str) -> tuple[int, int] | None:
        """(RSSI, LQI) of one reception, or None when the frame is lost on the way."""
        rssi = self.model.rssi(sender, receiver) if self.model else None
        if rssi is None:
            return DEFAULT_RSSI, DEFAULT_LQI
        if rssi < SENSITIVITY_DBM:
            return None
        if rssi < SENSITIVITY_DBM + FADE_MARGIN_DB:
            chance = (rssi - SENSITIVITY_DBM + 1) / (FADE_MARGIN_DB + 1)
            if self._random.random() >= chance:
                return None
        return rssi, lqi_from_rssi(rssi)

    @property
    def nodes(self) -> list[AirNode]:
        return list(self._nodes)

    @property
    def monitor_count(self) -> int:
        """How many capture taps are attached (tests wait on it; logs report it)."""
        return len(self._monitors)


class InProcessRadioLink:
    """A `hal.radio_link.RadioLink` attached directly to an in-process `AirChannel` (tests)."""

    def __init__(self, channel: AirChannel, eui64: int, name: str) -> None:
        self._channel = channel
        self._eui64, self._name = eui64, name
        self._node: AirNode | None = None

    async def open(self, on_receive: Callable[[Receive], None]) -> None:
        loop = asyncio.get_running_loop()
        # Deliver on a later loop iteration, as a radio would: never re-enter the sender.
        self._node = self._channel.attach(
            self._eui64, self._name, lambda m: loop.call_soon(on_receive, m)
        )

    def transmit(self, channel: int, psdu: bytes) -> None:
        if self._node is not None:
            self._channel.transmit(self._node, Transmit(channel, psdu))

    async def close(self) -> None:
        if self._node is not None:
            self._channel.detach(self._node)
            self._node = None

"""The virtual 2.4 GHz channel ("the air") shared by emulated NCPs.

Every frame a node transmits reaches every other node tuned to the same channel, as on a real
radio channel; the receiving MAC filters by address. The channel model gives each reception an
RSSI and an LQI (a fixed good link for now: per-link attenuation and loss arrive with the radio
model). Run it as its own process (`python -m hal.emulated.air --port P`) for a rig, or use
`AirChannel` in-process in unit tests; nodes reach it through `hal.radio_link`. Capture tools
(`smartmeter han capture`) connect as monitors and get a copy of every frame on every channel.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import Callable

from protocol.air_link import AirLinkDecoder, Hello, Monitor, Receive, Transmit, encode
from protocol.errors import DecodeError

LOGGER = logging.getLogger(__name__)
DEFAULT_RSSI = -45
DEFAULT_LQI = 255
#: Bytes a monitor may leave unread before the air drops it: a stalled capture tool must not
#: make the air (and so the whole HAN) hold an ever-growing backlog.
MONITOR_BACKLOG_LIMIT = 1 << 20

Deliver = Callable[[Receive], object]  # what it returns is ignored
MonitorTap = Callable[[int, bytes], None]


@dataclasses.dataclass
class AirNode:
    eui64: int
    name: str
    deliver: Deliver
    frames_sent: int = 0
    frames_received: int = 0


class AirChannel:
    """Broadcast medium: the in-process core the TCP service and tests share."""

    def __init__(self) -> None:
        self._nodes: list[AirNode] = []
        self._monitors: list[MonitorTap] = []

    def attach(self, eui64: int, name: str, deliver: Deliver) -> AirNode:
        node = AirNode(eui64, name, deliver)
        self._nodes.append(node)
        LOGGER.info("node %s (%016x) attached to the air", name, eui64)
        return node

    def detach(self, node: AirNode) -> None:
        with contextlib.suppress(ValueError):
            self._nodes.remove(node)

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
        for node in list(self._nodes):
            if node is sender:
                continue
            node.frames_received += 1
            node.deliver(Receive(frame.channel, DEFAULT_RSSI, DEFAULT_LQI, frame.psdu))

    @property
    def nodes(self) -> list[AirNode]:
        return list(self._nodes)

    @property
    def monitor_count(self) -> int:
        """How many capture taps are attached (tests wait on it; logs report it)."""
        return len(self._monitors)


class AirServer:
    """Serves an `AirChannel` over TCP to NCPs in other processes."""

    def __init__(self, channel: AirChannel, host: str, port: int) -> None:
        self.channel = channel
        self.host = host
        self.port = port
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = AirLinkDecoder()
        node: AirNode | None = None
        monitor: MonitorTap | None = None

        def deliver(message: Receive) -> None:
            if not writer.is_closing():
                writer.write(encode(message))

        def tap(channel: int, psdu: bytes) -> None:
            if writer.is_closing():
                return
            if writer.transport.get_write_buffer_size() > MONITOR_BACKLOG_LIMIT:
                LOGGER.warning("monitor fell %d bytes behind: dropped", MONITOR_BACKLOG_LIMIT)
                writer.close()
                return
            writer.write(encode(Receive(channel, DEFAULT_RSSI, DEFAULT_LQI, psdu)))

        try:
            while data := await reader.read(4096):
                for message in decoder.feed(data):
                    first = node is None and monitor is None
                    if isinstance(message, Hello) and first:
                        node = self.channel.attach(message.eui64, message.name, deliver)
                    elif isinstance(message, Monitor) and first:
                        monitor = tap
                        self.channel.add_monitor(monitor)
                        LOGGER.info("monitor attached to the air")
                    elif isinstance(message, Transmit) and node is not None:
                        self.channel.transmit(node, message)
                    else:
                        raise DecodeError(
                            "air link message",
                            "hello then transmits, or monitor alone",
                            repr(message),
                        )
        except (ConnectionError, DecodeError) as exc:
            LOGGER.warning("air link closed: %s", exc)
        finally:
            if node is not None:
                self.channel.detach(node)
                LOGGER.info("node %s left the air", node.name)
            if monitor is not None:
                self.channel.remove_monitor(monitor)
                LOGGER.info("monitor left the air")
            writer.close()


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


async def serve(host: str, port: int) -> None:
    server = AirServer(AirChannel(), host, port)
    await server.start()
    LOGGER.info("air listening on %s:%d", host, server.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Virtual 2.4 GHz channel for emulated NCPs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s air %(levelname)s %(message)s")
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()

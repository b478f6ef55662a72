"""The air as a service: an `AirChannel` served over TCP to NCPs in other processes.

Each connection says who it is first: a node (`Hello`, then `Transmit`s, and it is sent the
`Receive`s the channel delivers to it) or a capture monitor (`Monitor`, then it is sent a copy of
every frame). The process entry point that reads a rig file is `tools.air`.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from hal.emulated.air_channel import DEFAULT_LQI, DEFAULT_RSSI, AirChannel, AirNode, MonitorTap
from hal.radio_model import RadioModel
from protocol.air_link import AirLinkDecoder, Hello, Monitor, Receive, Transmit, encode
from protocol.errors import DecodeError

__all__ = ["MONITOR_BACKLOG_LIMIT", "AirServer", "serve"]

LOGGER = logging.getLogger(__name__)
#: Bytes a monitor may leave unread before the air drops it: a stalled capture tool must not
#: make the air (and so the whole HAN) hold an ever-growing backlog.
MONITOR_BACKLOG_LIMIT = 1 << 20


class AirServer:
    """Serves an `AirChannel` over TCP to NCPs in other processes."""

    def __init__(self, channel: AirChannel, host: str, port: int) -> None:
        self.channel = channel
        self.host = host
        self.port = port
        self._server: asyncio.AbstractServer | None = None
        self._links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every node and monitor, as the air process exiting would."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._links):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._links.add(writer)
        try:
            await self._link(reader, writer)
        finally:
            self._links.discard(writer)

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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


async def serve(host: str, port: int, model: RadioModel | None = None) -> None:
    server = AirServer(AirChannel(model), host, port)
    await server.start()
    LOGGER.info("air listening on %s:%d", host, server.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()

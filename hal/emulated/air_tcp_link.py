"""An emulated NCP's radio reaching the air process (`tools.air`) over TCP.

The air is a process of the rig like any other, and may die and come back (a supervisor
restarts it). The link then connects again by itself, with back-off, and says hello again: the
radio was off the air meanwhile, as a real one would be when the channel is unusable. Frames
the NCP transmits while off the air are lost, which the stack's APS retries and the hosts'
reconnects are there for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hal.radio_link import OnReceive
from protocol.air_link import AirLinkDecoder, Hello, Receive, Transmit, encode
from protocol.errors import DecodeError, TransientLinkError

__all__ = ["TcpRadioLink"]

LOGGER = logging.getLogger(__name__)
#: How long `open` waits for the air before it says the radio cannot reach it.
OPEN_WAIT_S = 5.0
RECONNECT_FIRST_S = 0.1
RECONNECT_MAX_S = 2.0


class TcpRadioLink:
    """Connects to an air process at host:port, and again whenever the link is lost."""

    def __init__(self, host: str, port: int, eui64: int, name: str) -> None:
        self._address = (host, port)
        self._hello = Hello(eui64, name)
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self.connections = 0

    @property
    def on_air(self) -> bool:
        return self._up.is_set()

    async def open(self, on_receive: OnReceive) -> None:
        """Connect (TransientLinkError if the air does not answer within OPEN_WAIT_S) and stay
        connected until `close`."""
        self._task = asyncio.create_task(self._run(on_receive), name=f"air-link {self._hello.name}")
        try:
            async with asyncio.timeout(OPEN_WAIT_S):
                await self._up.wait()
        except TimeoutError:
            await self.close()
            host, port = self._address
            raise TransientLinkError(f"cannot reach the air at {host}:{port}") from None

    async def _run(self, on_receive: OnReceive) -> None:
        delay = RECONNECT_FIRST_S
        while True:
            host, port = self._address
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(delay)  # back-off while the air is away, not a wait for it
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            delay = RECONNECT_FIRST_S
            writer.write(encode(self._hello))
            self._writer = writer
            self.connections += 1
            if self.connections > 1:
                LOGGER.info("%s back on the air at %s:%d", self._hello.name, host, port)
            self._up.set()
            try:
                await self._read(reader, on_receive)
            except (ConnectionError, DecodeError) as exc:
                LOGGER.warning("the air link failed (%s)", exc)
            finally:
                self._up.clear()
                self._writer = None
                writer.close()
            LOGGER.warning("%s lost the air; reconnecting", self._hello.name)

    @staticmethod
    async def _read(reader: asyncio.StreamReader, on_receive: OnReceive) -> None:
        decoder = AirLinkDecoder()
        while data := await reader.read(4096):
            for message in decoder.feed(data):
                if isinstance(message, Receive):
                    on_receive(message)

    def transmit(self, channel: int, psdu: bytes) -> None:
        writer = self._writer
        if writer is not None and not writer.is_closing():
            writer.write(encode(Transmit(channel, psdu)))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

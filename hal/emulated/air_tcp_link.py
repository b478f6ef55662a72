"""An emulated NCP's radio reaching the air process (`tools.air`) over TCP."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hal.radio_link import OnReceive
from protocol.air_link import AirLinkDecoder, Hello, Receive, Transmit, encode
from protocol.errors import TransientLinkError

__all__ = ["TcpRadioLink"]

LOGGER = logging.getLogger(__name__)


class TcpRadioLink:
    """Connects to an air process (`tools.air`) at host:port."""

    def __init__(self, host: str, port: int, eui64: int, name: str) -> None:
        self._address = (host, port)
        self._hello = Hello(eui64, name)
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None

    async def open(self, on_receive: OnReceive) -> None:
        host, port = self._address
        for _attempt in range(50):
            try:
                reader, self._writer = await asyncio.open_connection(host, port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise TransientLinkError(f"cannot reach the air at {host}:{port}")
        self._writer.write(encode(self._hello))
        self._reader_task = asyncio.create_task(self._read(reader, on_receive))

    async def _read(self, reader: asyncio.StreamReader, on_receive: OnReceive) -> None:
        decoder = AirLinkDecoder()
        while data := await reader.read(4096):
            for message in decoder.feed(data):
                if isinstance(message, Receive):
                    on_receive(message)
        LOGGER.warning("the air closed the link")

    def transmit(self, channel: int, psdu: bytes) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(encode(Transmit(channel, psdu)))

    async def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        if self._writer is not None:
            self._writer.close()

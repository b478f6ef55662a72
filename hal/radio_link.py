"""How an emulated NCP reaches the air: over TCP to an air process, or in-process for tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from protocol.air_link import AirLinkDecoder, Hello, Receive, Transmit, encode
from protocol.errors import TransientLinkError

LOGGER = logging.getLogger(__name__)
OnReceive = Callable[[Receive], None]


class RadioLink(Protocol):
    """The PHY as the emulated NCP sees it: send a PSDU, get PSDUs with RSSI/LQI back."""

    async def open(self, on_receive: OnReceive) -> None: ...

    def transmit(self, channel: int, psdu: bytes) -> None: ...

    async def close(self) -> None: ...


class TcpRadioLink:
    """Connects to an air process (`hal.emulated.air`) at host:port."""

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

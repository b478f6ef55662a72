"""A bare EZSP host over TCP that sends what a test tells it, byte for byte.

bellows maps status codes back and always sends its own parameter layouts, so it cannot show
what goes over the wire; this host can. It behaves as zigbee-herdsman's ember adapter does at
start-up (its own RST after connecting, DATA frames one at a time, an ACK for every DATA frame),
built on our ASH frame codec (`protocol.ash`), which tests/protocol/test_ash.py checks against
bellows.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

from protocol.ash import (
    AckFrame,
    AshFrame,
    DataFrame,
    Deframer,
    RstAckFrame,
    RstFrame,
    encode_frame,
    parse_frame,
)

TIMEOUT_S = 5.0


class RawEzspHost:
    """One connection to an NCP; `async with RawEzspHost(port) as host`."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self._address = (host, port)
        self._frames: asyncio.Queue[AshFrame] = asyncio.Queue()
        self._reader_task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._frm_num = 0  # next DATA frmNum we send
        self._ack_num = 0  # next DATA frmNum we expect
        self._seq = 0
        #: EZSP frames that came unasked (callbacks) while waiting for a response.
        self.callbacks: list[bytes] = []

    async def __aenter__(self) -> RawEzspHost:
        reader, self._writer = await asyncio.open_connection(*self._address)
        self._reader_task = asyncio.create_task(self._read(reader))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._writer is not None and self._reader_task is not None
        self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()
        self._reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader_task

    async def _read(self, reader: asyncio.StreamReader) -> None:
        deframer = Deframer()
        while data := await reader.read(4096):
            for item in deframer.feed(data):
                if isinstance(item, bytes):
                    await self._frames.put(parse_frame(item))

    def _send(self, frame: AshFrame) -> None:
        assert self._writer is not None
        self._writer.write(encode_frame(frame))

    async def next_frame(self, timeout: float = TIMEOUT_S) -> AshFrame:
        async with asyncio.timeout(timeout):
            return await self._frames.get()

    async def reset(self) -> int:
        """Send RST; return the reset code of the RSTACK that answers it."""
        self._send(RstFrame())
        while True:
            frame = await self.next_frame()
            if isinstance(frame, RstAckFrame):
                self._frm_num = self._ack_num = 0
                return frame.reset_code

    async def command(self, frame_id: int, params: bytes = b"", *, extended: bool = True) -> bytes:
        """Send one EZSP command; return its response's parameters (after the header)."""
        raw = await self.command_raw(self._header(frame_id, extended) + params)
        return raw[5:] if extended else raw[3:]

    def _header(self, frame_id: int, extended: bool) -> bytes:
        self._seq = (self._seq + 1) & 0xFF
        if extended:
            return bytes([self._seq, 0x00, 0x01]) + frame_id.to_bytes(2, "little")
        return bytes([self._seq, 0x00, frame_id])

    async def command_raw(self, ezsp_frame: bytes) -> bytes:
        """Send any bytes as one EZSP frame; return the whole EZSP response frame."""
        self._send(DataFrame(self._frm_num, False, self._ack_num, ezsp_frame))
        self._frm_num = (self._frm_num + 1) % 8
        seq = ezsp_frame[0]
        while True:
            frame = await self.next_frame()
            if not isinstance(frame, DataFrame):
                continue
            self._ack_num = (frame.frm_num + 1) % 8
            self._send(AckFrame(self._ack_num))
            if frame.payload[0] == seq and frame.payload[1] & 0x18 == 0:
                return frame.payload
            self.callbacks.append(frame.payload)

    async def version(self, version: int) -> bytes:
        """The legacy-format `version` command every session starts with."""
        return await self.command(0x00, bytes([version]), extended=False)

    async def callback(self, timeout: float = TIMEOUT_S) -> bytes:
        """The next callback frame (whole EZSP frame), acknowledged."""
        if self.callbacks:
            return self.callbacks.pop(0)
        while True:
            frame = await self.next_frame(timeout)
            if not isinstance(frame, DataFrame):
                continue
            self._ack_num = (frame.frm_num + 1) % 8
            self._send(AckFrame(self._ack_num))
            if frame.payload[1] & 0x18:
                return frame.payload

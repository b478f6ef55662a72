"""Asynchronous byte I/O on a file descriptor: what a serial device and a pseudo-terminal share.

Reads are event-driven (`loop.add_reader`), writes drain through the loop until the kernel has
taken every byte, so callers can wait for data to leave before changing the line speed.
"""

from __future__ import annotations

import asyncio
import os

from protocol.errors import TransientLinkError

__all__ = ["FdStream"]

READ_CHUNK = 4096


class FdStream:
    """Non-blocking reads and writes on `fd`, owned by the running event loop."""

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._fd = fd
        self._loop = asyncio.get_running_loop()
        self._buffer = bytearray()
        self._readable = asyncio.Event()
        self._closed = False
        self._loop.add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = os.read(self._fd, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""  # EIO: the other end of a pty went away; wait for it to come back
        if data:
            self._buffer += data
            self._readable.set()

    async def read(self) -> bytes:
        while not self._buffer:
            if self._closed:
                return b""
            self._readable.clear()
            await self._readable.wait()
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._closed:
                raise TransientLinkError("the serial line is closed")
            try:
                written = os.write(self._fd, view)
            except BlockingIOError:
                written = 0
            view = view[written:]
            if view:
                ready = self._loop.create_future()
                self._loop.add_writer(self._fd, ready.set_result, None)
                try:
                    await ready
                finally:
                    self._loop.remove_writer(self._fd)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._loop.remove_reader(self._fd)
            self._readable.set()

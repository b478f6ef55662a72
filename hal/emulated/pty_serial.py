"""The emulated optical port: a pseudo-terminal whose other end a hand-held terminal opens.

The meter's firmware holds the master side; the slave side is the "optical probe" end, reached
at a stable symlink the rig publishes (`<run_dir>/<name>.optical`) because pty numbers change at
every start. A pty does not enforce baud rates or parity: the firmware still changes its line
settings as IEC 62056-21 says, and they are kept, so a test can see that it did.
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path

from hal.real.fd_serial import FdStream
from hal.serial_line import IEC_62056_21_SIGN_ON, LineSettings
from protocol.errors import TransientLinkError

__all__ = ["PtySerialLine"]


class PtySerialLine:
    """`hal.serial_line.SerialLine` on a pseudo-terminal; `link` is the published path."""

    def __init__(self, link: Path | None = None) -> None:
        self._link = link
        self._settings = IEC_62056_21_SIGN_ON
        self._fds: tuple[int, int] | None = None
        self._stream: FdStream | None = None
        self.history: list[LineSettings] = [self._settings]

    @property
    def path(self) -> str:
        if self._fds is None:
            raise TransientLinkError("the optical port is not open")
        return str(self._link) if self._link is not None else os.ttyname(self._fds[1])

    @property
    def settings(self) -> LineSettings:
        return self._settings

    async def open(self) -> None:
        master, slave = os.openpty()
        # Raw: no echo or line editing between the probe and the meter. We keep the slave open
        # so the master does not read EIO while no terminal has the port open.
        tty.setraw(slave)
        self._fds = (master, slave)
        self._stream = FdStream(master)
        if self._link is not None:
            with contextlib.suppress(FileNotFoundError):
                self._link.unlink()
            self._link.parent.mkdir(parents=True, exist_ok=True)
            self._link.symlink_to(os.ttyname(slave))

    async def read(self) -> bytes:
        return await self._require().read()

    async def write(self, data: bytes) -> None:
        await self._require().write(data)

    def configure(self, settings: LineSettings) -> None:
        self._settings = settings
        self.history.append(settings)

    async def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._fds is not None:
            for fd in self._fds:
                os.close(fd)
            self._fds = None
        if self._link is not None:
            with contextlib.suppress(FileNotFoundError):
                self._link.unlink()

    def _require(self) -> FdStream:
        if self._stream is None:
            raise TransientLinkError("the optical port is not open")
        return self._stream

"""The serial-line port: the optical port of a meter (IEC 62056-21) as its firmware sees it.

Bytes in, bytes out, and the line's speed, which the protocol changes mid-session (sign-on at
300 baud, then the rate agreed in the option select). Backends: an emulated port on a
pseudo-terminal whose other end a hand-held terminal opens (`hal.emulated.pty_serial`), and a
real serial device such as a USB IR probe (`hal.real.serial_device`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["IEC_62056_21_SIGN_ON", "LineSettings", "Parity", "SerialLine"]


class Parity(enum.Enum):
    NONE = "N"
    EVEN = "E"
    ODD = "O"


@dataclass(frozen=True)
class LineSettings:
    baud: int
    data_bits: int = 7
    parity: Parity = Parity.EVEN
    stop_bits: int = 1

    def __str__(self) -> str:
        return f"{self.baud} {self.data_bits}{self.parity.value}{self.stop_bits}"


#: IEC 62056-21 mode C starts every session at 300 baud, 7 data bits, even parity, 1 stop bit.
IEC_62056_21_SIGN_ON = LineSettings(300)


@runtime_checkable
class SerialLine(Protocol):
    """One end of a serial line."""

    @property
    def path(self) -> str:
        """Where the other end plugs in: the pseudo-terminal's stable path, or the device."""
        ...

    @property
    def settings(self) -> LineSettings: ...

    async def open(self) -> None: ...

    async def read(self) -> bytes:
        """Wait for bytes from the other end (at least one); b"" once the line is closed."""
        ...

    async def write(self, data: bytes) -> None:
        """Send `data` and wait until it has left (what a baud-rate change must wait for)."""
        ...

    def configure(self, settings: LineSettings) -> None:
        """Change the line settings, e.g. the baud rate after an option select."""
        ...

    async def close(self) -> None: ...

"""A real serial device as the optical port: a USB IR probe (e.g. `/dev/ttyUSB0`) via pyserial.

pyserial sets the line up (speed, 7E1) with termios; the bytes then move through the same
asynchronous file-descriptor stream as the emulated port's.
"""

from __future__ import annotations

import termios

import serial

from hal.real.fd_serial import FdStream
from hal.serial_line import IEC_62056_21_SIGN_ON, LineSettings, Parity
from protocol.errors import TransientLinkError

__all__ = ["SerialDeviceLine"]

_PARITY = {
    Parity.NONE: serial.PARITY_NONE,
    Parity.EVEN: serial.PARITY_EVEN,
    Parity.ODD: serial.PARITY_ODD,
}
_BYTESIZE = {7: serial.SEVENBITS, 8: serial.EIGHTBITS}


def _pyserial(settings: LineSettings) -> dict[str, object]:
    return {
        "baudrate": settings.baud,
        "bytesize": _BYTESIZE[settings.data_bits],
        "parity": _PARITY[settings.parity],
        "stopbits": settings.stop_bits,
    }


class SerialDeviceLine:
    """`hal.serial_line.SerialLine` on a serial device."""

    def __init__(self, device: str) -> None:
        self._device = device
        self._settings = IEC_62056_21_SIGN_ON
        self._port: serial.Serial | None = None
        self._stream: FdStream | None = None

    @property
    def path(self) -> str:
        return self._device

    @property
    def settings(self) -> LineSettings:
        return self._settings

    async def open(self) -> None:
        try:
            # All settings at once: some drivers refuse 7E1 as a change from 8N1 (EINVAL) but
            # take it whole at open.
            self._port = self._open(self._settings)
        except (serial.SerialException, OSError, ValueError, termios.error) as exc:
            raise TransientLinkError(f"cannot open the optical port {self._device}: {exc}") from exc
        self._stream = FdStream(self._port.fileno())

    def _open(self, settings: LineSettings) -> serial.Serial:
        try:
            return serial.Serial(self._device, timeout=0, **_pyserial(settings))
        except termios.error:
            # A Linux pseudo-terminal keeps no parity or character size (it reports 8N1) and,
            # since Linux 6.x, refuses a change of those alone at an unchanged speed (EINVAL):
            # what reopening the emulated meter's port at 300 baud after a session is. Open at
            # another speed, then change to the one asked for.
            away = LineSettings(9600 if settings.baud != 9600 else 300)
            port = serial.Serial(self._device, timeout=0, **_pyserial(away))
            port.apply_settings(_pyserial(settings))
            return port

    async def read(self) -> bytes:
        return await self._require().read()

    async def write(self, data: bytes) -> None:
        await self._require().write(data)
        if self._port is not None:
            self._port.flush()  # tcdrain: the last byte is on the wire, not in the UART's FIFO

    def configure(self, settings: LineSettings) -> None:
        self._settings = settings
        if self._port is not None:
            self._apply(settings)

    def _apply(self, settings: LineSettings) -> None:
        assert self._port is not None
        self._port.apply_settings(_pyserial(settings))

    async def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._port is not None:
            self._port.close()
            self._port = None

    def _require(self) -> FdStream:
        if self._stream is None:
            raise TransientLinkError(f"the optical port {self._device} is not open")
        return self._stream

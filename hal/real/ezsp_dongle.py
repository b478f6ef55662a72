"""A real EZSP dongle: a Silicon Labs NCP on a serial port or reached over TCP.

bellows opens it itself (`/dev/ttyUSB0`, `/dev/serial/by-id/...` or `socket://host:port`), so
powering it on is only a matter of handing out its path.
"""

from __future__ import annotations

__all__ = ["EzspDongle"]


class EzspDongle:
    """`hal.radio.Ncp` for a dongle bellows reaches at `path`."""

    def __init__(self, path: str) -> None:
        self._path = path

    @property
    def name(self) -> str:
        return self._path

    async def power_on(self) -> str:
        return self._path

    async def power_off(self) -> None:
        """A USB dongle stays powered by its port; nothing to do."""

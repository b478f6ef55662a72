"""The emulated NCP as a `hal.radio.Ncp`: a dongle that appears behind a pseudo-terminal.

Powering it on starts the emulated co-processor on its air link and hands out the pty path
bellows opens, exactly as it would open a USB dongle's `/dev/ttyUSB0`.
"""

from __future__ import annotations

from pathlib import Path

from hal.radio_link import RadioLink

from .runner import EmulatedNcp, HostLink

__all__ = ["EmulatedDongle"]


class EmulatedDongle:
    """`hal.radio.Ncp` backed by an `EmulatedNcp` on the given air link."""

    def __init__(
        self,
        eui64: int,
        link: RadioLink,
        ezsp_version: int,
        name: str,
        *,
        store_path: Path | None = None,
    ) -> None:
        self.ncp = EmulatedNcp(eui64, link, ezsp_version, name, store_path=store_path)
        self._name = name
        self._on = False

    @property
    def name(self) -> str:
        return f"emulated NCP {self._name}"

    async def power_on(self) -> str:
        if not self._on:
            await self.ncp.start(HostLink.PTY)
            self._on = True
        return self.ncp.url

    async def power_off(self) -> None:
        if self._on:
            self._on = False
            await self.ncp.stop()

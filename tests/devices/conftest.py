"""In-process HAN for device tests: an air, a coordinator, and devices running their firmware.

The coordinator is stock bellows' ControllerApplication on an emulated NCP, the devices are the
real ESME/GSME/IHD firmware classes driving their own emulated NCPs through bellows: every frame
crosses ASH, EZSP, the emulated ZigBee stack and the air. Only the process boundary is gone.
Starting the coordinator takes a few seconds, so one serves a whole test module (`han`); the
devices of a test (`premises`) are started and stopped around each test, each with a fresh
EUI-64 and link key, so tests do not see each other's devices.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

import bellows.zigbee.application as bellows_app
import pytest
import pytest_asyncio
import zigpy.config as zc
import zigpy.types as zt
from zigpy.zcl import foundation
from zigpy.zcl.clusters.smartenergy import Metering

from devices.core.firmware import DeviceIdentity, Firmware
from firmware.boards import DeviceBoard
from hal.emulated.air_channel import AirChannel, InProcessRadioLink
from hal.emulated.clock import SimulatedClock
from hal.emulated.ncp.dongle import EmulatedDongle
from hal.emulated.ncp.runner import EmulatedNcp
from hal.ezsp_node import EzspNodeRadio
from hal.ports import Clock
from hal.radio import Ncp
from hal.real.ezsp_dongle import EzspDongle
from hal.real.sqlite_store import SqliteStore
from protocol.ieee802154 import eui64_to_str
from tests.boards import device_board, identity

HUB_EUI64 = 0x000D6F0000000001
CHANNEL = 15
EPOCH = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
_EUI64S = itertools.count(0x000D6F00000A0001)
F = TypeVar("F", bound=Firmware)


@dataclass
class Han:
    air: AirChannel
    app: bellows_app.ControllerApplication

    async def permit(self, eui64: int, link_key: bytes) -> None:
        await self.app.permit_with_link_key(
            zt.EUI64.convert(eui64_to_str(eui64)), zt.KeyData(link_key), 120
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def han() -> AsyncIterator[Han]:
    air = AirChannel()
    ncp = EmulatedNcp(HUB_EUI64, InProcessRadioLink(air, HUB_EUI64, "hub"), 13, "hub")
    await ncp.start()
    config: dict[str, Any] = {
        zc.CONF_DEVICE: {zc.CONF_DEVICE_PATH: ncp.url},
        zc.CONF_DATABASE: None,
        zc.CONF_NWK_BACKUP_ENABLED: False,
        zc.CONF_TOPO_SCAN_ENABLED: False,
        zc.CONF_NWK: {zc.CONF_NWK_CHANNEL: CHANNEL},
        "use_thread": False,
    }
    app = await bellows_app.ControllerApplication.new(config, auto_form=True, start_radio=True)
    try:
        yield Han(air, app)
    finally:
        await app.shutdown()
        await ncp.stop()


@dataclass
class Running:
    firmware: Firmware
    ncp: Ncp
    store: SqliteStore
    stopped: bool = False


class ServedNcp(EzspDongle):
    """A network-attached dongle (`socket://`) whose far end is an emulated NCP in this
    process: powering it off takes the NCP off the air, as pulling its plug would."""

    def __init__(self, served: EmulatedNcp) -> None:
        super().__init__(served.url)
        self.served = served

    async def power_off(self) -> None:
        await self.served.stop()


class Premises:
    """Starts devices on the `han` and stops every one of them at the end of the test."""

    def __init__(self, han: Han, directory: Path) -> None:
        self.han = han
        self.directory = directory
        self._running: list[Running] = []

    async def start(
        self,
        name: str,
        build: Callable[[DeviceIdentity, DeviceBoard], F],
        *,
        scale: float = 1.0,
        radio: str = "socket",
        clock: Clock | None = None,
    ) -> F:
        """Start a device; `radio` is the NCP backend its board gets: "socket" (a dongle at
        socket://, here an emulated NCP served over TCP) or "pty" (the emulated dongle)."""
        eui64 = next(_EUI64S)
        link_key = hashlib.sha256(f"{name}-{eui64}".encode()).digest()[:16]
        await self.han.permit(eui64, link_key)
        link = InProcessRadioLink(self.han.air, eui64, name)
        ncp: Ncp
        if radio == "pty":
            ncp = EmulatedDongle(eui64, link, 13, name)
        else:
            served = EmulatedNcp(eui64, link, 13, name)
            await served.start()
            ncp = ServedNcp(served)
        store = SqliteStore(self.directory / f"{name}-{eui64:x}.sqlite")
        clock = clock or SimulatedClock(EPOCH, time.time(), scale)
        board = device_board(clock, store, EzspNodeRadio(ncp))
        firmware = build(identity(name, eui64, link_key, CHANNEL), board)
        self._running.append(Running(firmware, ncp, store))
        await firmware.start()
        return firmware

    async def stop(self, firmware: Firmware) -> None:
        """Power a device down (its radio goes off the air with it)."""
        for running in self._running:
            if running.firmware is firmware and not running.stopped:
                running.stopped = True
                await running.firmware.stop()
                await running.ncp.power_off()
                running.store.close()

    async def close(self) -> None:
        for running in reversed(self._running):
            await self.stop(running.firmware)


@pytest_asyncio.fixture(loop_scope="module")
async def premises(han: Han, tmp_path: Path) -> AsyncIterator[Premises]:
    premises = Premises(han, tmp_path)
    try:
        yield premises
    finally:
        await premises.close()


def zigpy_parse(payload: bytes) -> tuple[foundation.ZCLHeader, Any]:
    """Parse a ZCL frame with zigpy's own Metering cluster code: the oracle we did not write."""
    endpoint = mock.MagicMock()
    endpoint.device.name = "oracle"
    endpoint.endpoint_id = 1
    return Metering(endpoint).deserialize(payload)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    """A meter's non-volatile store: a real SQLite file of the test's own."""
    with SqliteStore(tmp_path / "meter.sqlite") as opened:
        yield opened


@pytest.fixture
async def started() -> AsyncIterator[Callable[[Firmware], Any]]:
    """Starts firmware for a test (`await started(firmware)`) and stops it afterwards."""
    running: list[Firmware] = []

    async def start(firmware: Firmware) -> Firmware:
        running.append(firmware)
        await firmware.start()
        return firmware

    yield start
    for firmware in running:
        await firmware.stop()

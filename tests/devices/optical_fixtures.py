"""A meter with its optical port on a pseudo-terminal, and an HHT probe on the other end."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio

from devices.esme.firmware import EsmeFirmware
from devices.meter.tariff_setup import TariffSetup
from firmware.boards import ElectricityMeterBoard, Panel
from hal.emulated.aux_load import EmulatedAuxLoadSwitch
from hal.emulated.clock import SimulatedClock
from hal.emulated.metrology import ConstantLoad
from hal.emulated.pty_serial import PtySerialLine
from hal.emulated.supply_switch import EmulatedSupplySwitch
from hal.peripherals import TamperInput
from hal.real.serial_device import SerialDeviceLine
from hal.real.sqlite_store import SqliteStore
from protocol.local_auth import make_verifier
from tests.boards import device_board, identity
from tools.hht.optical_client import OpticalClient

PASSWORD = "Kx7pQm4vRt"
ENGINEER = "ENG0042"
INSTALL_CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")
EUI64 = 0x000D6F0000001001


@dataclass
class OpticalMeter:
    meter: EsmeFirmware
    line: PtySerialLine
    store: SqliteStore

    def probe(self, timeout: float = 5.0) -> OpticalClient:
        return OpticalClient(SerialDeviceLine(self.line.path), reply_timeout=timeout)


def optical_esme(
    directory: Path,
    *,
    password: str | None = PASSWORD,
    load_w: float = 2000,
    tariff: TariffSetup | None = None,
) -> OpticalMeter:
    store = SqliteStore(directory / "esme.sqlite")
    clock = SimulatedClock(datetime(2026, 1, 15, 6, 0, tzinfo=UTC), time.time(), 1.0)
    line = PtySerialLine(directory / "esme.optical")
    device = device_board(clock, store, panel=Panel(tamper=frozenset({TamperInput.SEAL})))
    verifier = make_verifier(password, bytes(range(16)), 1000) if password else None
    board = ElectricityMeterBoard(
        clock=clock,
        store=store,
        radio=device.radio,
        display=device.display,
        buttons=device.buttons,
        buzzer=device.buzzer,
        tamper=device.tamper,
        battery=device.battery,
        supply_switch=EmulatedSupplySwitch(store, clock=clock),
        optical=line,
        metrology=ConstantLoad(load_w),
        aux_load=EmulatedAuxLoadSwitch(clock),
        factory_verifier=verifier,
    )
    ident = dataclasses.replace(identity("esme", EUI64), install_code=INSTALL_CODE)
    return OpticalMeter(EsmeFirmware(ident, board, tariff), line, store)


@pytest_asyncio.fixture
async def optical_meter(tmp_path: Path) -> AsyncIterator[OpticalMeter]:
    meter = optical_esme(tmp_path)
    await meter.line.open()
    await meter.meter.start()
    try:
        yield meter
    finally:
        await meter.meter.stop()
        await meter.line.close()
        meter.store.close()

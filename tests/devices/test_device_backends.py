"""The same firmware on two backends of a port: which backend drives a port is the board's (the
rig file's) business, never the firmware's. Radio: the emulated dongle behind a pty, or a dongle
reached at socket://. Clock: the system clock or the rig's simulated one. And the wiring picks
each backend from the rig file alone."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from devices.esme.firmware import EsmeFirmware
from devices.ihd.firmware import IhdFirmware
from firmware.boards import DeviceBoard
from firmware.rig import ClockKind, RadioConfig, SerialConfig, load_rig
from firmware.wiring import build_clock, build_ncp, build_optical
from hal.emulated.clock import SimulatedClock
from hal.emulated.metrology import ConstantLoad
from hal.emulated.ncp.dongle import EmulatedDongle
from hal.emulated.pty_serial import PtySerialLine
from hal.real.clock import SystemClock
from hal.real.ezsp_dongle import EzspDongle
from hal.real.serial_device import SerialDeviceLine
from tests.boards import as_electricity_meter
from tests.rig_files import demo_rig_copy
from tests.waiting import eventually

from .conftest import Premises

pytestmark = pytest.mark.timeout(90)
on_the_han = pytest.mark.asyncio(loop_scope="module")  # the `han` fixture's loop


def esme(watts: float) -> Any:
    def build(identity: Any, board: DeviceBoard) -> EsmeFirmware:
        return EsmeFirmware(identity, as_electricity_meter(board, ConstantLoad(watts)))

    return build


def shows(firmware: Any, pattern: str) -> bool:
    return any(re.search(pattern, line) for line in firmware.display.lines())


@on_the_han
@pytest.mark.parametrize("radio", ["pty", "socket"])
async def test_the_same_meter_and_ihd_firmware_run_on_either_radio_backend(
    premises: Premises, radio: str
) -> None:
    meter = await premises.start("esme", esme(1500), radio=radio)
    await eventually(lambda: meter.joined, 20, f"ESME joined on a {radio} radio")
    ihd = await premises.start("ihd", IhdFirmware, radio=radio)
    await eventually(lambda: shows(ihd, r"^Electricity 1\.500 kW$"), 20, "IHD reads the ESME")


@on_the_han
@pytest.mark.parametrize("clock", ["system", "simulated"])
async def test_the_same_meter_firmware_runs_on_either_clock_backend(
    premises: Premises, clock: str
) -> None:
    rtc = SystemClock() if clock == "system" else None  # None: the rig's simulated clock
    meter = await premises.start("esme", esme(3600), clock=rtc, scale=60.0)
    assert isinstance(meter.clock, SystemClock if clock == "system" else SimulatedClock)
    await eventually(lambda: meter.register.units > 0, 5, "the register moves")
    assert meter.clock.now().tzinfo is not None


def test_the_rig_file_alone_picks_each_backend(tmp_path: Path) -> None:
    rig = load_rig(demo_rig_copy(tmp_path))
    esme_config = rig.devices["esme"]
    assert isinstance(build_ncp(rig, "esme", esme_config.eui64, None, 13), EmulatedDongle)
    dongle = build_ncp(rig, "esme", esme_config.eui64, "/dev/ttyUSB0", 13)
    assert isinstance(dongle, EzspDongle) and dongle.name == "/dev/ttyUSB0"
    assert isinstance(build_optical(rig, esme_config), PtySerialLine)
    probe = dataclasses.replace(esme_config, optical=SerialConfig("/dev/ttyUSB1"))
    assert isinstance(build_optical(rig, probe), SerialDeviceLine)
    assert isinstance(build_clock(rig), SimulatedClock)  # the demo rig runs simulated time
    assert isinstance(build_clock(dataclasses.replace(rig, clock=ClockKind.SYSTEM)), SystemClock)
    text = (tmp_path / "rigs" / "rig.toml").read_text()
    changed = text.replace('radio = "emulated"', 'radio = "socket://10.0.0.7:6638"', 1)
    (tmp_path / "rigs" / "rig.toml").write_text(changed)
    hub = load_rig(tmp_path / "rigs" / "rig.toml").hub
    assert hub.radio == RadioConfig("socket://10.0.0.7:6638", 13)

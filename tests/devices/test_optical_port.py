"""The meter's optical port, back to back: our HHT client against the ESME firmware over a pty.

Every byte crosses a real pseudo-terminal, through pyserial on the probe's side, at the line
settings IEC 62056-21 asks for; the meter is the real firmware with its emulated board.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devices.meter.local_access import LOCKOUT_S, MAX_WRONG
from devices.meter.readings import Reading
from hal.control_socket import ControlServer
from hal.serial_line import LineSettings
from protocol.event_codes import EventCode
from protocol.iec62056_21.obis import Obis
from tests.devices.optical_fixtures import ENGINEER, PASSWORD, OpticalMeter, optical_meter
from tools.hht.optical_client import MeterRefused

__all__ = ["optical_meter"]


async def bench(meter: OpticalMeter, cmd: str, **fields: Any) -> dict[str, Any]:
    server = ControlServer(Path("unused.sock"), meter.meter.control_handlers())
    return await server.dispatch(json.dumps({"cmd": cmd, **fields}).encode())


def values(data_sets: list[Any]) -> dict[str, str]:
    return {data_set.address: data_set.value for data_set in data_sets}


@pytest.mark.req("19.2.1", "17.2.20")
async def test_readout_lists_the_meters_data_and_no_secret(optical_meter: OpticalMeter) -> None:
    async with optical_meter.probe() as hht:
        data = await hht.readout()
    shown = values(data)
    assert hht.identification is not None
    assert hht.identification.manufacturer == "EMU"
    assert shown["0-0:96.1.0"] == hht.identification.identification == "EM00001001"
    assert shown["0-0:96.1.2"] == "00:0d:6f:00:00:00:10:01"
    assert "1-0:1.8.0" in shown and "1-0:1.7.0" in shown
    assert shown["0-0:96.3.10"] == "connected"
    assert shown["0-0:128.0.0"] == "credit"
    assert int(shown["0-0:96.7.21"]) >= 1
    text = json.dumps(shown).lower()
    assert "83fed3407a939723" not in text and "password" not in text
    # 300 baud 7E1 to sign on, 9600 for the readout, back to 300 for the next session.
    bauds = [settings.baud for settings in optical_meter.line.history]
    assert bauds[-2:] == [9600, 300] and LineSettings(300) in optical_meter.line.history


@pytest.mark.req("19.2.1", "12.1.p", "12.1.w", "12.1.z", "17.2.21.e", "17.2.21.c")
async def test_programming_writes_configuration_and_logs_each_change(
    optical_meter: OpticalMeter,
) -> None:
    async with optical_meter.probe() as hht:
        await hht.login(PASSWORD, ENGINEER)
        assert (await hht.read("96.1.0")).value == "EM00001001"
        await hht.write("0-0:96.1.1", "1012345678901")
        await hht.write("0-0:128.0.0", "prepayment")
        await hht.write("0-0:128.0.2", "Welcome", kind="5")
        with pytest.raises(MeterRefused, match="ERR04"):
            await hht.write("0-0:96.1.1", "12345")
        with pytest.raises(MeterRefused, match="ERR02"):
            await hht.write("0-0:96.1.0", "EM99999999")
        assert (await hht.read("0-0:128.0.0")).value == "prepayment"
    assert optical_meter.meter.display.lines()[-1] == "Welcome"
    log = (await bench(optical_meter, "optical"))["local_access"]["changes"]
    changes = [(c["engineer"], c["item"], c["old"], c["new"]) for c in log]
    assert (ENGINEER, "MPAN/MPRN", "", "1012345678901") in changes
    assert (ENGINEER, "payment mode", "credit", "prepayment") in changes
    assert all(c["utc"].startswith("2026-01-15") for c in log)


@pytest.mark.req("17.2.21.a")
async def test_setting_the_clock_needs_the_seal_broken(optical_meter: OpticalMeter) -> None:
    async with optical_meter.probe() as hht:
        await hht.login(PASSWORD, ENGINEER)
        with pytest.raises(MeterRefused, match="ERR05"):
            await hht.write("0-0:1.0.0", "2026-03-01T12:00:00Z")
        assert (await bench(optical_meter, "seal", broken=True))["seal_broken"] is True
        await hht.write("0-0:1.0.0", "2026-03-01T12:00:00Z")
        assert (await hht.read("0-0:1.0.0")).value.startswith("2026-03-01T12:00")
    codes = [e.code for e in optical_meter.meter.events.recent(10)]
    assert EventCode.CLOCK_ADJUSTED_NEW_TIME in codes


@pytest.mark.req("18.11.d", "17.2.21.b", "D.1.2")
async def test_wrong_passwords_lock_programming_and_raise_the_tamper_event(
    optical_meter: OpticalMeter,
) -> None:
    async with optical_meter.probe() as hht:
        for _attempt in range(MAX_WRONG):
            with pytest.raises(MeterRefused, match=r"ERR0[67]"):
                await hht.login("Wr0ngPassw9rd", ENGINEER)
        with pytest.raises(MeterRefused, match="refused programming"):
            await hht.login(PASSWORD, ENGINEER)  # locked even for the right password
        assert await hht.readout()  # reading stays open
    events = optical_meter.meter.events.recent(20)
    tamper = [e for e in events if e.code is EventCode.WRONG_PASSWORD_N_TIMES]
    assert len(tamper) == 1 and tamper[0].detail["attempts"] == MAX_WRONG
    locked = (await bench(optical_meter, "optical"))["local_access"]["locked_until"]
    assert locked is not None
    clock = optical_meter.meter.clock
    assert (datetime.fromisoformat(locked) - clock.now()).total_seconds() == pytest.approx(
        LOCKOUT_S, abs=5
    )
    clock.adjust(datetime.fromisoformat(locked) + timedelta(seconds=1))
    async with optical_meter.probe() as hht:
        await hht.login(PASSWORD, ENGINEER)  # the lock is over


@pytest.mark.req("17.2.20")
async def test_no_password_crosses_the_port(optical_meter: OpticalMeter) -> None:
    sent = bytearray()
    async with optical_meter.probe() as hht:
        write = hht.line.write

        async def tapped(data: bytes) -> None:
            sent.extend(data)
            await write(data)

        hht.line.write = tapped  # type: ignore[method-assign]
        await hht.login(PASSWORD, ENGINEER)
        await hht.write("0-0:128.0.1", "Supplier A")
    assert PASSWORD.encode() not in sent and b"P2" in sent


@pytest.mark.req("20.5.4.2")
async def test_readout_works_without_han_and_with_a_faulty_register(
    optical_meter: OpticalMeter,
) -> None:
    class Broken:
        def readings(self) -> list[Reading]:
            raise RuntimeError("tariff registers corrupt")

    optical_meter.meter.add_reading_source(Broken())
    assert not optical_meter.meter.joined  # the radio leads nowhere: no HAN at all
    async with optical_meter.probe() as hht:
        shown = values(await hht.readout())
    assert shown["0-0:96.1.0"] == "EM00001001" and "1-0:1.8.0" in shown


async def test_a_register_source_adds_its_registers_to_the_readout(
    optical_meter: OpticalMeter,
) -> None:
    class Rates:
        def readings(self) -> list[Reading]:
            return [Reading(Obis.parse("1-0:1.8.1"), "rate 1", "0.500", "kWh")]

    optical_meter.meter.add_reading_source(Rates())
    async with optical_meter.probe() as hht:
        data = await hht.readout()
    assert values(data)["1-0:1.8.1"] == "0.500"
    assert [d.unit for d in data if d.address == "1-0:1.8.1"] == ["kWh"]

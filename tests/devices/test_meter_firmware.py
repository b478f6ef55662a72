"""ESME and GSME firmware on a manual clock: registers, persistence, display, bench, events.

No network here: the radio URL leads nowhere, so the meters keep trying to join in the
background while the tests drive their clocks and bench ports.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devices.core.firmware import Firmware
from devices.esme.firmware import EsmeFirmware
from devices.gsme.firmware import GsmeFirmware
from devices.meter.meter_firmware import DELIVERED
from devices.meter.register_store import RegisterStore
from hal.control_socket import ControlServer
from hal.emulated.clock import ManualClock
from hal.emulated.metrology import ConstantFlow, ConstantLoad
from hal.radio import IncomingMessage
from hal.real.sqlite_store import SqliteStore
from protocol.event_codes import EventCode
from tests.boards import electricity_meter_board, gas_meter_board, identity

START = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def bench(firmware: Firmware, cmd: str, **fields: Any) -> dict[str, Any]:
    """Through the control server's dispatch, as the bench socket would."""
    server = ControlServer(Path("unused.sock"), firmware.control_handlers())
    return await server.dispatch(json.dumps({"cmd": cmd, **fields}).encode())


def saved(store: SqliteStore) -> tuple[int, int]:
    register = RegisterStore(store).load(DELIVERED)
    return register.units, register.remainder


async def test_esme_integrates_its_load_and_shows_it(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    esme = await started(
        EsmeFirmware(identity("esme"), electricity_meter_board(clock, store, ConstantLoad(10_000)))
    )
    await clock.run_for(360)  # 10 kW for a tenth of an hour
    assert (esme.register.units, esme.register.remainder) == (1_000_000, 0)  # mWh
    assert esme.display.lines() == ["Import 1.000 kWh", "Demand 10.000 kW"]
    reply = await bench(esme, "registers")
    assert reply["ok"] and reply["metering_device_type"] == "electric"
    assert reply["attributes"]["current_summ_delivered"] == 1000  # Wh
    assert reply["attributes"]["instantaneous_demand"] == 10_000  # W
    assert reply["registers"]["CurrentSummationDelivered"]["value"] == "1.000"
    assert reply["registers"]["InstantaneousDemand"] == {
        "raw": 10_000,
        "value": "10.000",
        "unit": "kW",
        "display": "10.000",
    }


async def test_every_value_shown_is_saved_before_it_is_shown(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    esme = await started(
        EsmeFirmware(identity("esme"), electricity_meter_board(clock, store, ConstantLoad(3600)))
    )  # 1 Wh/s: the visible register (Wh) moves at every sample
    for second in range(1, 26):
        await clock.run_for(1)
        shown = esme.display.lines()[0]
        # A crash now (no stop): a meter powering up on this store shows no less.
        assert saved(store)[0] == esme.register.units == second * 1000, shown
        assert shown == f"Import {second / 1000:.3f} kWh"


async def test_a_slow_register_saves_its_remainder_every_10_s(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    esme = await started(
        EsmeFirmware(identity("esme"), electricity_meter_board(clock, store, ConstantLoad(36)))
    )  # 36 W: 10 mWh per second, a visible Wh every 100 s
    await clock.run_for(25)
    assert (esme.register.units, saved(store)) == (250, (200, 0))  # saved at 10 s and 20 s
    again = EsmeFirmware(identity("esme"), electricity_meter_board(clock, store, ConstantLoad(36)))
    assert again.register.units == 200


async def test_a_clean_stop_loses_nothing_and_a_restart_counts_nothing_twice(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    esme = await started(
        EsmeFirmware(identity("esme"), electricity_meter_board(clock, store, ConstantLoad(1)))
    )  # 1 W
    await clock.run_for(25.5)
    await esme.stop()
    state = saved(store)
    assert state == (esme.register.units, esme.register.remainder) == (7, 300_000_000)
    again = await started(
        EsmeFirmware(identity("esme"), electricity_meter_board(clock, store, ConstantLoad(1)))
    )
    assert (again.register.units, again.register.remainder) == state
    await clock.run_for(10.5)
    await again.stop()
    assert saved(store) == (10, 0)  # 36 s in all at 1 W: exactly 10 mWh
    power = {EventCode.POWER_UP, EventCode.POWER_DOWN}
    codes = [record.code for record in again.events.recent(20) if record.code in power]
    assert codes == [EventCode.POWER_DOWN, EventCode.POWER_UP] * 2  # newest first


@pytest.mark.req("1.1.b")
async def test_esme_bench_load_sets_demand_at_once_and_is_validated(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    esme = await started(
        EsmeFirmware(identity("esme"), electricity_meter_board(clock, store, ConstantLoad(100)))
    )
    reply = await bench(esme, "load", watts=512)
    assert reply == {"ok": True, "watts": 512.0, "demand_w": 512}
    assert esme.display.lines()[1] == "Demand 0.512 kW"
    for bad in (-1, 23_000.5, "lots", True, None):
        fields = {} if bad is None else {"watts": bad}
        refused = await bench(esme, "load", **fields)
        assert not refused["ok"] and "watts" in refused["error"], refused
    assert (await bench(esme, "load", watts=None))["demand_w"] == 100  # back to the profile
    assert (await bench(esme, "load", watts=23_000))["ok"]


@pytest.mark.req("1.1.a")
async def test_gsme_counts_litres_and_takes_flow_or_power_from_the_bench(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    gsme = await started(
        GsmeFirmware(identity("gsme"), gas_meter_board(clock, store, ConstantFlow(0.12)))
    )
    assert (await bench(gsme, "flow", m3_per_h=1.2))["demand_l_per_h"] == 1200
    await clock.run_for(3000)  # 1.2 m3/h for 50 min: one cubic metre
    assert gsme.register.units == 1_000_000  # ml
    assert gsme.display.lines() == ["Volume 1.000 m3", "Flow 1.200 m3/h"]
    reply = await bench(gsme, "registers")
    assert reply["metering_device_type"] == "gas"
    assert reply["registers"]["CurrentSummationDelivered"]["unit"] == "m³"
    assert reply["registers"]["EnergyDelivered"]["unit"] == "kWh"
    assert not (await bench(gsme, "flow", m3_per_h=6.5))["ok"]
    by_power = await bench(gsme, "load", watts=11_220)  # about one m3/h at CV 39.5
    assert by_power["ok"] and by_power["demand_l_per_h"] == 1000


async def test_common_bench_commands(store: SqliteStore, clock: ManualClock, started: Any) -> None:
    esme = await started(
        EsmeFirmware(identity("esme"), electricity_meter_board(clock, store, ConstantLoad(0)))
    )
    status = await bench(esme, "status")
    assert status == {
        "ok": True,
        "name": "esme",
        "kind": "esme",
        "joined": False,
        "nwk": None,
        "eui64": "00:0d:6f:00:00:00:10:01",
        "now": START.isoformat(),
        "hub_signal": {"lqi": None, "rssi": None},
    }
    display = await bench(esme, "display")
    assert display["lines"] == ["Import 0.000 kWh", "Demand 0.000 kW"]
    assert display["updated_at"] == START.isoformat()
    events = (await bench(esme, "events", limit=5))["events"]
    assert events[0]["code"] == EventCode.POWER_UP and events[0]["ref"] == "B.1.1"
    assert not (await bench(esme, "flow", m3_per_h=1))["ok"]  # an ESME has no gas flow


@pytest.mark.req("18.11.j")
async def test_malformed_frames_are_logged_and_foreign_frames_ignored(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    esme = await started(
        EsmeFirmware(identity("esme"), electricity_meter_board(clock, store, ConstantLoad(0)))
    )

    def frame(payload: bytes, profile: int = 0x0109, endpoint: int = 1) -> IncomingMessage:
        return IncomingMessage(0x1234, profile, 0x0702, 1, endpoint, payload, 255, -45, False)

    esme.handle_message(frame(b"\x00\x01\x00\x00\x00\x00"))  # odd-length attribute list
    esme.handle_message(frame(b"\x00", profile=0xA1E0))  # Green Power: not ours to judge
    esme.handle_message(frame(b"\x00", endpoint=2))  # another endpoint
    records = [r for r in esme.events.recent(10) if r.code == EventCode.MALFORMED_MESSAGE]
    assert len(records) == 1
    assert records[0].detail["sender"] == "0x1234" and records[0].detail["cluster"] == "0x0702"

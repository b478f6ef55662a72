"""IHD firmware without a network: the screen, meter selection and the no-signal rule."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devices.ihd.firmware import FORMATTING_ATTRIBUTES, IhdFirmware
from devices.ihd.meter_view import LOST_AFTER_FAILURES, Fuel, MeterLink, fuel_of, render
from firmware.rig import CommsLossRules
from hal.emulated.clock import ManualClock
from hal.radio import IncomingMessage
from hal.real.sqlite_store import SqliteStore
from protocol.errors import TransientLinkError
from protocol.event_codes import EventCode
from protocol.zdo import MatchDescRsp, Status
from tests.boards import device_board, identity

SUMMER = datetime(2026, 7, 1, 12, 0, 5, tzinfo=UTC)  # 13:00:05 BST
ELECTRIC = {"unit_of_measure": 0, "multiplier": 1, "divisor": 1000, "summation_formatting": 0xBB,
            "demand_formatting": 0x93, "metering_device_type": 0}  # fmt: skip
GAS = {**ELECTRIC, "unit_of_measure": 1, "demand_formatting": 0x8B, "metering_device_type": 1}


def readings(wh: int, watts: int) -> dict[str, int]:
    return {"current_summ_delivered": wh, "instantaneous_demand": watts, "status": 0}


def test_screen_before_any_meter_is_found() -> None:
    assert render({}, None) == ["Searching for meters..."]


@pytest.mark.req("8.5", "15.6.a")
def test_screen_shows_both_fuels_in_their_units_and_uk_local_time() -> None:
    elec = MeterLink(Fuel.ELECTRICITY, 0x1234, 1, False, ELECTRIC)
    elec.update(readings(1_234_567, 512), SUMMER)
    gas = MeterLink(Fuel.GAS, 0x5678, 1, False, GAS)
    gas.update(readings(56_789, 120), SUMMER)
    assert render({Fuel.GAS: gas, Fuel.ELECTRICITY: elec}, SUMMER) == [
        "Electricity 0.512 kW",
        "Elec total 1234.567 kWh",
        "Gas 0.120 m3/h",
        "Gas total 56.789 m3",
        "Updated 13:00:05",
    ]


def test_a_lost_meter_keeps_its_last_values_marked_no_signal() -> None:
    elec = MeterLink(Fuel.ELECTRICITY, 0x1234, 1, False, ELECTRIC, failures=3)
    assert elec.lines() == ["Electricity -- (no signal)", "Elec total -- (no signal)"]
    elec.update(readings(1000, 2000), SUMMER)
    elec.failures = 3
    assert elec.lines() == ["Electricity 2.000 kW (no signal)", "Elec total 1.000 kWh (no signal)"]


@pytest.mark.parametrize(
    ("device_type", "expected"),
    [(0, (Fuel.ELECTRICITY, False)), (1, (Fuel.GAS, False)), (128, (Fuel.GAS, True)),
     (127, (Fuel.ELECTRICITY, True)), (2, None), (130, None)],
)  # fmt: skip
def test_metering_device_type_tells_the_fuel(device_type: int, expected: Any) -> None:
    assert fuel_of(device_type) == expected


@pytest.fixture
async def ihd(tmp_path: Path) -> AsyncIterator[IhdFirmware]:
    clock = ManualClock(SUMMER)
    with SqliteStore(tmp_path / "ihd.sqlite") as store:
        firmware = IhdFirmware(identity("ihd", 0x000D6F0000003001), device_board(clock, store))
        yield firmware
        await firmware.stop()


class FakeMeters:
    """Stands in for the ZCL client: answers by (nwk) from a table, or fails on demand."""

    def __init__(self) -> None:
        self.formatting: dict[int, dict[int, int]] = {}
        self.values: dict[int, dict[int, int]] = {}
        self.failing: set[int] = set()

    async def read_attributes(self, nwk: int, endpoint: int, cluster: int, ids: Any) -> Any:
        if nwk in self.failing:
            raise TransientLinkError(f"0x{nwk:04x} did not answer")
        table = self.formatting if tuple(ids) == FORMATTING_ATTRIBUTES else self.values
        return dict(table[nwk])


def formatting(device_type: int) -> dict[int, int]:
    return {0x0300: device_type % 127, 0x0301: 1, 0x0302: 1000, 0x0303: 0xBB, 0x0304: 0x93,
            0x0306: device_type}  # fmt: skip


@pytest.mark.req("12.7.3")
async def test_the_contact_message_shows_at_the_very_instant_its_period_runs_out(
    ihd: IhdFirmware,
) -> None:
    """A period whose end `now - heard` misses by an ulp (found by hypothesis): the watch
    still wakes on its timer at heard + period and shows the message, no link changing."""
    heard, after = 462679.0385071974, 9831.8
    clock = ihd.clock
    assert isinstance(clock, ManualClock)
    rules = CommsLossRules(ihd_contact_after_s=after)
    ihd.identity = replace(ihd.identity, comms_loss=rules)
    clock.advance(heard)
    ihd.links[Fuel.ELECTRICITY] = MeterLink(
        Fuel.ELECTRICITY, 0x1234, 1, False, ELECTRIC, failures=LOST_AFTER_FAILURES, heard_s=heard
    )
    ihd.spawn(ihd._comms_watch(), "comms watch")
    await clock.run_for(after - 0.001)
    assert rules.contact_message not in ihd.display.lines()
    await clock.run_for(heard + after - clock.monotonic())
    assert clock.monotonic() == heard + after
    assert rules.contact_message in ihd.display.lines()


@pytest.mark.req("18.9.h")
async def test_three_missed_polls_mean_no_signal_and_the_next_answer_recovers(
    ihd: IhdFirmware, monkeypatch: pytest.MonkeyPatch
) -> None:
    meters = FakeMeters()
    meters.formatting[0x1234] = formatting(0)
    meters.values[0x1234] = {0x0000: 2000, 0x0400: 750, 0x0200: 0}
    monkeypatch.setattr(ihd.zcl_client, "read_attributes", meters.read_attributes)
    ihd.links[Fuel.ELECTRICITY] = MeterLink(Fuel.ELECTRICITY, 0x1234, 1, False, ELECTRIC)
    await ihd.poll(Fuel.ELECTRICITY)
    assert ihd.display.lines()[:2] == ["Electricity 0.750 kW", "Elec total 2.000 kWh"]

    meters.failing.add(0x1234)
    for _ in range(3):
        await ihd.poll(Fuel.ELECTRICITY)
    assert ihd.display.lines()[0] == "Electricity 0.750 kW (no signal)"
    await ihd.poll(Fuel.ELECTRICITY)  # a fourth miss is not logged again
    meters.failing.clear()
    meters.values[0x1234][0x0400] = 100
    await ihd.poll(Fuel.ELECTRICITY)
    assert ihd.display.lines()[0] == "Electricity 0.100 kW"
    codes = [r.code for r in reversed(ihd.events.recent(10))]
    assert codes.count(EventCode.COMMUNICATION_ERROR) == 1
    assert codes.index(EventCode.COMMUNICATION_ERROR) < codes.index(EventCode.COMMUNICATION_OK)


async def test_a_direct_meter_replaces_a_mirror_but_not_the_reverse(
    ihd: IhdFirmware, monkeypatch: pytest.MonkeyPatch
) -> None:
    meters = FakeMeters()
    for nwk, device_type in ((0x0000, 128), (0x2222, 1), (0x3333, 128), (0x4444, 2)):
        meters.formatting[nwk] = formatting(device_type)
        meters.values[nwk] = {0x0000: nwk, 0x0400: 0, 0x0200: 0}
    monkeypatch.setattr(ihd.zcl_client, "read_attributes", meters.read_attributes)
    await ihd.probe(0x0000, 9)  # the hub's gas mirror, while no gas meter answers directly
    assert (ihd.links[Fuel.GAS].nwk, ihd.links[Fuel.GAS].mirrored) == (0x0000, True)
    await ihd.probe(0x2222, 1)  # the gas meter itself
    await ihd.probe(0x3333, 1)  # another mirror: ignored
    await ihd.probe(0x4444, 1)  # a water meter: ignored
    assert ihd.links[Fuel.GAS].nwk == 0x2222 and set(ihd.links) == {Fuel.GAS}
    assert ihd.needs_discovery()  # no electricity meter yet


@pytest.mark.req("18.11.j")
async def test_match_desc_responses_feed_discovery_and_malformed_ones_are_logged(
    ihd: IhdFirmware,
) -> None:
    good = MatchDescRsp(4, Status.SUCCESS, 0x2222, (1,)).build()
    for payload in (good, b"\x04\x00\x22"):
        ihd.handle_message(IncomingMessage(0x2222, 0, 0x8006, 0, 0, payload, 255, -45, False))
    assert ihd._found.get_nowait() == (0x2222, 1)
    assert ihd.events.count(EventCode.MALFORMED_MESSAGE) == 1


async def test_a_lost_meter_found_at_a_new_address_takes_over_its_screen(
    ihd: IhdFirmware, monkeypatch: pytest.MonkeyPatch
) -> None:
    meters = FakeMeters()
    meters.formatting[0x5678] = formatting(0)
    meters.values[0x5678] = {0x0000: 3000, 0x0400: 250, 0x0200: 0}
    monkeypatch.setattr(ihd.zcl_client, "read_attributes", meters.read_attributes)
    old = MeterLink(Fuel.ELECTRICITY, 0x1234, 1, False, ELECTRIC, failures=3)
    old.update(readings(2000, 750), SUMMER)
    old.failures = 3
    ihd.links[Fuel.ELECTRICITY] = old
    meters.failing.add(0x5678)
    await ihd.probe(0x5678, 1)  # rejoined elsewhere, not answering yet: nothing changes
    assert ihd.links[Fuel.ELECTRICITY] is old
    meters.failing.clear()
    monkeypatch.setattr(ihd, "spawn", lambda coro, name: coro.close())  # poll by hand below
    await ihd.probe(0x5678, 1)
    assert ihd.display.lines()[0] == "Electricity 0.750 kW (no signal)"
    await ihd.poll(Fuel.ELECTRICITY)
    assert ihd.display.lines()[:2] == ["Electricity 0.250 kW", "Elec total 3.000 kWh"]
    assert ihd.events.count(EventCode.COMMUNICATION_OK) == 1

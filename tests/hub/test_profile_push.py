"""Scheduled pushes carry the interval data recorded since the last push (hub/profile_push.py,
hub/push_schedule.py; clauses 6.1.3, 12.1.t, 12.1.u, 16.15): each interval once, in order, a
long gap in pages, and nothing lost when the meter cannot be read."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devices.meter.profile_store import MAX_READ, ProfileStore
from firmware.rig import DeviceConfig, load_rig
from hal.emulated.clock import ManualClock
from hal.real.sqlite_store import SqliteStore
from hub.han.commissioning import DeviceUnavailable
from hub.hub_config import HubConfig
from hub.outbox import Outbox
from hub.profile_push import MAX_PAGES, ProfilePush
from hub.push_schedule import PushSchedule
from hub.wan_roles import DeviceRoles
from protocol.json_fields import JsonObject
from tests.hub.loopback_wan import LoopbackWan
from tests.integration.wan_delivery import RAW_REGISTERS
from tests.rig_files import demo_rig_copy

START = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = 3600


class Meter:
    """A meter's profile store (the real one) and its answer to `read_profile`, as the meter's
    tunnel gives it (devices/meter/tariff_commands.py); `away` makes it unreachable."""

    def __init__(self, path: Path, clock: ManualClock) -> None:
        self.store = SqliteStore(path)
        self.profile = ProfileStore(self.store)
        self.clock = clock
        self.away = False

    def consume(self, wh: int) -> None:
        self.profile.add(self.clock.now(), wh, wh * 10)
        with self.store.transaction() as tx:
            self.profile.save(tx)

    async def tunnel(self, device: DeviceConfig, message: JsonObject) -> JsonObject:
        if self.away:
            raise DeviceUnavailable(f"{device.name} has not joined the HAN")
        assert message["command"] == "read_profile"
        args = message["args"]
        found = self.profile.read(
            datetime.fromisoformat(args["from"]), datetime.fromisoformat(args["to"]), MAX_READ + 1
        )
        data = {
            "minutes": 30,
            "unit": "Wh",
            "intervals": [i.to_json() for i in found[:MAX_READ]],
            "more": len(found) > MAX_READ,
        }
        return {"ok": True, "data": data}


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[ManualClock, Meter, SqliteStore, list[DeviceConfig]]]:
    clock = ManualClock(START)
    meter = Meter(tmp_path / "esme.sqlite", clock)
    hub = SqliteStore(tmp_path / "hub.sqlite")
    devices = list(load_rig(demo_rig_copy(tmp_path)).devices.values())
    yield clock, meter, hub, devices
    hub.close()
    meter.store.close()


async def push_hours(
    clock: ManualClock, meter: Meter, hub: SqliteStore, devices: list[DeviceConfig], hours: int
) -> Outbox:
    """Run the hub's schedule (a push of the ESME every 2 h) while the meter consumes 1 Wh a
    minute, for `hours` of the clock."""
    outbox = Outbox(hub, LoopbackWan(hub.path.parent / "headend.sqlite"), clock)
    config = HubConfig(hub, clock, outbox, {d.name for d in devices})
    config.set("push.esme.interval_s", 2 * HOUR, by="local")
    config.set("sync.interval_s", 0, by="local")
    profiles = ProfilePush(hub, clock, meter.tunnel)

    async def read(device: DeviceConfig) -> dict[str, int]:
        return dict(RAW_REGISTERS)

    schedule = PushSchedule(
        config,
        outbox,
        clock,
        hub,
        devices,
        read,
        profile_hook=profiles.since_last_push,
        profile_pushed=profiles.pushed,
    )
    task = asyncio.get_running_loop().create_task(schedule.run())
    for _minute in range(hours * 60):
        await clock.run_for(60, settle_turns=5)
        meter.consume(1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return outbox


def starts(outbox: Outbox) -> list[datetime]:
    return [
        datetime.fromisoformat(i["start"])
        for m in outbox.pending("esme")
        for i in m.body["profile"].get("intervals", [])
    ]


@pytest.mark.req("6.1.3", "12.1.t")
async def test_each_push_carries_the_intervals_since_the_last_once_and_in_order(
    parts: tuple[ManualClock, Meter, SqliteStore, list[DeviceConfig]],
) -> None:
    clock, meter, hub, devices = parts
    outbox = await push_hours(clock, meter, hub, devices, 9)
    pushes = outbox.pending("esme")
    assert len(pushes) == 4
    got = starts(outbox)
    # Every half hour closed before the last push, once, in order, 30 Wh each.
    assert got == [START + timedelta(minutes=30 * n) for n in range(len(got))]
    assert len(got) >= 12
    assert all(
        i["quantity"] == 30 for m in pushes for i in m.body["profile"].get("intervals", [])[1:]
    )
    # Each push starts where the one before ended.
    marks = [(m.body["profile"]["from"], m.body["profile"]["to"]) for m in pushes]
    assert all(marks[n][1] == marks[n + 1][0] for n in range(len(marks) - 1))


@pytest.mark.req("6.1.3")
async def test_a_push_without_the_meter_loses_no_interval(
    parts: tuple[ManualClock, Meter, SqliteStore, list[DeviceConfig]],
) -> None:
    clock, meter, hub, devices = parts
    await push_hours(clock, meter, hub, devices, 3)
    meter.away = True
    away = await push_hours(clock, meter, hub, devices, 2)
    assert "error" in away.pending("esme")[-1].body["profile"]
    meter.away = False
    outbox = await push_hours(clock, meter, hub, devices, 2)
    got = starts(outbox)
    assert got == sorted(set(got)), "an interval pushed twice"
    assert got == [START + timedelta(minutes=30 * n) for n in range(len(got))]
    assert got[-1] >= START + timedelta(hours=5)


def closed_intervals(meter: Meter, count: int) -> None:
    """`count` closed half hours from START, 1 Wh each (and the next one open)."""
    for n in range(count + 1):
        meter.profile.add(START + timedelta(minutes=30 * n, seconds=1), 1, 10)
    with meter.store.transaction() as tx:
        meter.profile.save(tx)


@pytest.mark.req("6.1.3", "12.1.t")
async def test_a_long_gap_goes_in_pages_over_several_pushes(
    parts: tuple[ManualClock, Meter, SqliteStore, list[DeviceConfig]],
) -> None:
    clock, meter, hub, devices = parts
    esme = next(d for d in devices if d.name == "esme")
    total = MAX_PAGES * MAX_READ + 10
    closed_intervals(meter, total)
    clock.advance(30 * 60 * (total + 2))
    profiles = ProfilePush(hub, clock, meter.tunnel)
    with hub.transaction() as tx:  # the last push ended at START
        profiles.pushed(esme, {"to": START.isoformat()}, tx)
    first = await profiles.since_last_push(esme)
    assert len(first["intervals"]) == MAX_PAGES * MAX_READ and first["more"] is True
    with hub.transaction() as tx:
        profiles.pushed(esme, first, tx)
    second = await profiles.since_last_push(esme)
    assert second["from"] == first["to"] and second["more"] is False
    got = [i["start"] for push in (first, second) for i in push["intervals"]]
    assert len(got) == total and got == sorted(set(got))


@pytest.mark.req("6.1.3")
async def test_a_push_whose_transaction_fails_leaves_the_mark_where_it_was(
    parts: tuple[ManualClock, Meter, SqliteStore, list[DeviceConfig]],
) -> None:
    clock, meter, hub, devices = parts
    esme = next(d for d in devices if d.name == "esme")
    closed_intervals(meter, 4)
    clock.advance(3 * HOUR)
    profiles = ProfilePush(hub, clock, meter.tunnel)
    before = await profiles.since_last_push(esme)
    with pytest.raises(OSError), hub.transaction() as tx:
        profiles.pushed(esme, before, tx)
        raise OSError("the outbox's insert failed")
    after = await profiles.since_last_push(esme)
    assert after["from"] == before["from"] and after["intervals"] == before["intervals"]


@pytest.mark.req("6.1.4", "12.6")
async def test_after_a_change_of_supplier_pushes_carry_nothing_from_before_it(
    parts: tuple[ManualClock, Meter, SqliteStore, list[DeviceConfig]],
) -> None:
    clock, meter, hub, devices = parts
    esme = next(d for d in devices if d.name == "esme")
    closed_intervals(meter, 6)
    clock.advance(4 * HOUR)
    profiles = ProfilePush(hub, clock, meter.tunnel)
    change = START + timedelta(hours=2)
    roles = DeviceRoles(load_rig(demo_rig_copy(hub.path.parent / "rig")), hub)
    roles.on_supplier_change.append(profiles.supplier_changed)  # as the hub's firmware wires it
    roles.change_supplier("esme", "other", change)
    pushed = await profiles.since_last_push(esme)
    assert pushed["from"] == change.isoformat()
    assert all(datetime.fromisoformat(i["start"]) >= change for i in pushed["intervals"])
    assert len(pushed["intervals"]) == 2

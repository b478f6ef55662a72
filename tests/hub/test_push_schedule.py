"""Scheduled exchanges (hub/push_schedule.py): readings pushed per device on their schedule,
periodic sync, held messages released at each exchange, and no slot run twice across a restart
(clauses 6.1.3, 12.1.o, 12.1.s, 12.1.t, 12.4, 18.8)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from firmware.rig import DeviceConfig, load_rig
from hal.emulated.clock import ManualClock
from hal.real.sqlite_store import SqliteStore
from hub.hub_config import HubConfig
from hub.outbox import Outbox
from hub.push_schedule import PushSchedule, slot_after
from protocol.wan import UplinkKind
from tests.hub.loopback_wan import LoopbackWan
from tests.integration.wan_delivery import RAW_REGISTERS
from tests.rig_files import demo_rig_copy

START = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = 3600


def test_slots_are_aligned_on_the_epoch_and_shifted_by_the_offset() -> None:
    assert slot_after(0, 3600, 0) == 3600
    assert slot_after(3600, 3600, 0) == 7200
    assert slot_after(100, 3600, 900) == 900
    assert slot_after(900, 3600, 900) == 4500


@pytest.fixture
def devices(tmp_path: Path) -> list[DeviceConfig]:
    rig = load_rig(demo_rig_copy(tmp_path))
    return list(rig.devices.values())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "hub.sqlite") as opened:
        yield opened


async def run_schedule(
    store: SqliteStore, clock: ManualClock, devices: list[DeviceConfig], seconds: float, db: Path
) -> Outbox:
    outbox = Outbox(store, LoopbackWan(db), clock)
    config = HubConfig(store, clock, outbox, {d.name for d in devices})

    async def read(device: DeviceConfig) -> dict[str, int]:
        return dict(RAW_REGISTERS)

    schedule = PushSchedule(config, outbox, clock, store, devices, read)
    task = asyncio.get_running_loop().create_task(schedule.run())
    await clock.run_for(seconds, settle_turns=20)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return outbox


@pytest.mark.req("6.1.3", "12.1.o", "12.1.t", "12.4", "18.8")
async def test_a_day_of_pushes_syncs_and_exchanges(
    store: SqliteStore, devices: list[DeviceConfig], tmp_path: Path
) -> None:
    clock = ManualClock(START)
    outbox = Outbox(store, LoopbackWan(tmp_path / "setup.sqlite"), clock)
    config = HubConfig(store, clock, outbox, {d.name for d in devices})
    config.set("push.esme.interval_s", HOUR, by="local")
    config.set("exchange.interval_s", 6 * HOUR, by="local")
    config.set("config_change.forward", "next_exchange", by="local")
    config.set("sync.interval_s", 12 * HOUR, by="local")  # held: sent at the next exchange
    await run_schedule(store, clock, devices, 24 * HOUR + 1, tmp_path / "headend.sqlite")
    readings = outbox.pending("esme")
    assert len(readings) == 24 and all(m.kind is UplinkKind.READING for m in readings)
    assert readings[0].body["registers"]["CurrentSummationDelivered"]["value"] == "1234.567"
    assert outbox.pending("gsme") == [], "no schedule set for the gsme: suppressed"
    hub = outbox.pending("hub")
    syncs = [m for m in hub if m.kind is UplinkKind.SYNC]
    assert len(syncs) == 2
    assert set(syncs[0].body["registers"]) == {"esme", "gsme"}
    assert syncs[0].body["conversion"]["calorific_value_mj_m3"] == "39.5"
    changes = [m.body["key"] for m in hub if m.kind is UplinkKind.CONFIG_CHANGE]
    # The first two went at once; from the forwarding change on, held for the next exchange.
    assert changes == [
        "push.esme.interval_s",
        "exchange.interval_s",
        "config_change.forward",
        "sync.interval_s",
    ]
    assert outbox.held_count() == 0


@pytest.mark.req("6.1.3")
async def test_a_restart_neither_repeats_nor_skips_a_slot(
    store: SqliteStore, devices: list[DeviceConfig], tmp_path: Path
) -> None:
    clock = ManualClock(START)
    config = HubConfig(store, clock, Outbox(store, LoopbackWan(tmp_path / "a"), clock), {"esme"})
    config.set("push.esme.interval_s", HOUR, by="local")
    await run_schedule(store, clock, devices, 2.5 * HOUR, tmp_path / "b")
    assert len(Outbox(store, LoopbackWan(tmp_path / "c"), clock).pending("esme")) == 2
    clock.advance(HOUR)  # down for an hour: the slot at 3 h fell due meanwhile
    outbox = await run_schedule(store, clock, devices, 0.6 * HOUR, tmp_path / "d")
    assert len(outbox.pending("esme")) == 4, "the missed slot once, then the 4 h one"


@pytest.mark.req("12.1.s", "19.1.10")
async def test_exchanges_start_at_the_configured_time(
    store: SqliteStore, devices: list[DeviceConfig], tmp_path: Path
) -> None:
    """Exchanges every 6 h starting at 01:00: a message held at 00:30 waits until 01:00."""
    clock = ManualClock(START)
    outbox = Outbox(store, LoopbackWan(tmp_path / "a"), clock)
    config = HubConfig(store, clock, outbox, {d.name for d in devices})
    config.set("exchange.interval_s", 6 * HOUR, by="local")
    config.set("exchange.offset_s", HOUR, by="local")
    config.set("sync.interval_s", 0, by="local")
    outbox.hold("hub", UplinkKind.EVENT, {"n": 1})
    first = await run_schedule(store, clock, devices, 0.9 * HOUR, tmp_path / "b")
    assert first.held_count() == 1, "not before 01:00"
    second = await run_schedule(store, clock, devices, 0.2 * HOUR, tmp_path / "c")
    assert second.held_count() == 0 and second.pending("hub")[-1].body == {"n": 1}

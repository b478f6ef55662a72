"""A meter store written before logs had epochs (the previous release, 42f79ec: no epoch, no
uplink cursor; the first meter-events commit, 73c3cdd: a cursor, no epoch) opens with this
code: the log draws its epoch once and keeps it, and what the hub has not taken goes to it
once, in order, while what it took is not queued again (firmware/event_log.py,
devices/meter/event_uplink.py, hub/meter_events.py; 18.2, 19.1.6)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.meter.event_uplink import EventUplink
from firmware.event_log import EventLog
from firmware.zcl.frame import ZclFrame
from hal.emulated.clock import ManualClock
from hal.radio import IncomingMessage
from hal.real.sqlite_store import SqliteStore
from hub.han.event_client import answer_publish_event
from hub.hub_config import HubConfig
from hub.meter_events import MeterEvents
from hub.outbox import Outbox
from protocol.event_codes import EventCode
from protocol.se import Events
from protocol.zigbee_ids import SE_PROFILE
from tests.devices.test_event_uplink import HUB, Air, next_publish
from tests.hub.loopback_wan import LoopbackWan
from tests.old_store import EVENT_LOG_V2, METER_EVENTS_V1, OUTBOX_V1, Row, kv, write_old_store

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def old_meter(path: Path, events: int, extra: list[Row]) -> None:
    insert = "INSERT INTO event_log (utc, code, component, detail, module) VALUES (?, ?, ?, ?, ?)"
    rows: list[Row] = [
        (
            insert,
            (
                NOW.isoformat(),
                int(EventCode.METER_COVER_REMOVED),
                "esme",
                json.dumps({"n": n}),
                "tamper",
            ),
        )
        for n in range(1, events + 1)
    ]
    write_old_store(path, {"event_log": (2, EVENT_LOG_V2)}, rows + extra)


class Hub:
    """The hub's intake on its own store, answering the meter's frames as the hub does."""

    def __init__(self, store: SqliteStore, clock: ManualClock, tmp_path: Path) -> None:
        self.store = store
        self.outbox = Outbox(store, LoopbackWan(tmp_path / "headend.sqlite"), clock)
        self.events = MeterEvents(
            store, clock, self.outbox, HubConfig(store, clock, self.outbox, {"esme"})
        )

    def answer(self, payload: bytes) -> IncomingMessage:
        reply = answer_publish_event(
            ZclFrame.parse(payload),
            "esme",
            self.events.take,
            lambda c, d: None,
            frozenset({"esme"}),
        )
        assert reply is not None
        return IncomingMessage(0x0000, SE_PROFILE, Events.cluster_id, 9, 1, reply, 255, -40, False)


async def publish_all(
    uplink: EventUplink, air: Air, hub: Hub, clock: ManualClock, upto: int
) -> None:
    """Run the meter's uplink, the hub answering each frame, until the cursor reaches `upto`."""
    task = asyncio.get_running_loop().create_task(uplink.run())
    answered = 0
    try:
        while uplink.taken() < upto:
            if len(air.sent) == answered:  # the newest frame is answered: wait for another
                await next_publish(clock, air, answered)
            answered = len(air.sent)
            assert uplink.take_answer(hub.answer(air.sent[-1]))
            await clock.run_for(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.req("18.2", "19.1.6")
async def test_a_log_of_the_previous_release_gains_an_epoch_and_sends_every_event(
    tmp_path: Path,
) -> None:
    """42f79ec's meters sent no events to the hub: after the upgrade all of them go, once."""
    old_meter(tmp_path / "esme.sqlite", 3, [])
    clock = ManualClock(NOW)
    store = SqliteStore(tmp_path / "esme.sqlite")
    log = EventLog(store, clock, "esme")
    assert log.epoch > 0 and [r.seq for r in log.since(0)] == [1, 2, 3], "nothing lost"
    assert EventLog(store, clock, "esme").epoch == log.epoch, "drawn once, kept"
    hub = Hub(SqliteStore(tmp_path / "hub.sqlite"), clock, tmp_path)
    air = Air()
    uplink = EventUplink(log, store, clock, air.send, HUB, lambda: True)
    assert uplink.taken() == 0
    await publish_all(uplink, air, hub, clock, 3)
    assert {air.published(n).epoch for n in range(len(air.sent))} == {log.epoch}
    assert [m.event().detail for m in hub.outbox.pending("esme")] == [{"n": 1}, {"n": 2}, {"n": 3}]
    hub.store.close()
    store.close()


@pytest.mark.req("19.1.6")
async def test_a_cursor_from_before_epochs_goes_on_and_nothing_taken_is_queued_again(
    tmp_path: Path,
) -> None:
    """73c3cdd's stores: the meter's cursor at 2, the hub's mark at 3 (it took event 3 and its
    answer was lost before the upgrade). Event 3 comes again under the new epoch and is
    answered without being queued; event 4 is queued once; 1 and 2 are not sent at all."""
    old_meter(tmp_path / "esme.sqlite", 4, [kv("event_uplink", "taken", "2")])
    write_old_store(
        tmp_path / "hub.sqlite",
        {"outbox": (1, OUTBOX_V1), "meter_events": (1, METER_EVENTS_V1)},
        [("INSERT INTO meter_events_taken (source, seq) VALUES (?, ?)", ("esme", 3))],
    )
    clock = ManualClock(NOW)
    store = SqliteStore(tmp_path / "esme.sqlite")
    log = EventLog(store, clock, "esme")
    hub = Hub(SqliteStore(tmp_path / "hub.sqlite"), clock, tmp_path)
    air = Air()
    uplink = EventUplink(log, store, clock, air.send, HUB, lambda: True)
    await publish_all(uplink, air, hub, clock, 4)
    assert [air.published(n).seq for n in range(len(air.sent))] == [3, 4]
    assert [m.event().detail for m in hub.outbox.pending("esme")] == [{"n": 4}]
    assert hub.events.taken("esme", log.epoch) == 4
    hub.store.close()
    store.close()

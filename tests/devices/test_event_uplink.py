"""A meter's events on their way to the hub (devices/meter/event_uplink.py,
devices/meter/tamper_watch.py): one PublishEvent at a time, oldest first, published again until
the hub answers SUCCESS, the cursor kept in the meter's store across a restart; tamper inputs
logged as Appendix B.6 events with their module (clauses 18.2, 18.3, 18.6, 18.11.a, 19.1.6)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from zigpy.zcl import foundation

from devices.meter.event_uplink import EventUplink
from devices.meter.tamper_watch import TamperWatch
from firmware.event_log import EventLog
from firmware.zcl.frame import ZclFrame, response_header
from hal.emulated.clock import ManualClock
from hal.emulated.tamper import EmulatedTamperSwitches
from hal.peripherals import TamperInput
from hal.radio import IncomingMessage
from hal.real.sqlite_store import SqliteStore
from protocol.errors import TransientLinkError
from protocol.event_codes import EventCode
from protocol.meter_events import PublishedEvent
from protocol.se import Events
from protocol.zigbee_ids import SE_PROFILE

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
HUB = (0x0000, 9)
_PUBLISH = Events.ClientCommandDefs.publish_event


class Air:
    """What the meter puts on the HAN, and the hub's answers; `down` refuses to send."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.down = False

    async def send(self, destination: int, cluster_id: int, endpoint: int, payload: bytes) -> None:
        assert (destination, endpoint, cluster_id) == (*HUB, Events.cluster_id)
        if self.down:
            raise TransientLinkError("not joined to the HAN")
        self.sent.append(payload)

    def published(self, n: int) -> PublishedEvent:
        frame = ZclFrame.parse(self.sent[n])
        fields: Any
        fields, _ = _PUBLISH.schema.deserialize(frame.body)
        return PublishedEvent.parse(
            int(fields.event_id), int(fields.event_time), bytes(fields.event_data)
        )


def answer(
    air: Air, n: int, status: foundation.Status = foundation.Status.SUCCESS
) -> IncomingMessage:
    frame = ZclFrame.parse(air.sent[n])
    head = response_header(frame.header, foundation.GeneralCommand.Default_Response)
    body = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Default_Response].schema(
        command_id=frame.command_id, status=status
    )
    payload = bytes(head.serialize() + body.serialize())
    return IncomingMessage(0x0000, SE_PROFILE, Events.cluster_id, 9, 1, payload, 255, -40, False)


async def next_publish(clock: ManualClock, air: Air, count: int) -> None:
    """Let the clock run until the meter has published more than `count` frames."""
    for _ in range(100):
        if len(air.sent) > count:
            return
        await clock.run_for(0.5)
    raise AssertionError("the meter published nothing more")


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[SqliteStore, ManualClock, EventLog, Air]]:
    store = SqliteStore(tmp_path / "esme.sqlite")
    clock = ManualClock(NOW)
    yield store, clock, EventLog(store, clock, "esme"), Air()
    store.close()


@pytest.mark.req("18.6", "19.1.6", "18.3")
async def test_events_go_one_at_a_time_until_the_hub_takes_each(
    parts: tuple[SqliteStore, ManualClock, EventLog, Air],
) -> None:
    store, clock, log, air = parts
    log.record(EventCode.POWER_UP, {"firmware": "0.1.0"})
    log.record(EventCode.METER_COVER_REMOVED, {"input": "meter_cover"}, module="tamper")
    uplink = EventUplink(log, store, clock, air.send, HUB, lambda: True)
    task = asyncio.get_running_loop().create_task(uplink.run())
    await clock.run_for(0.1)
    assert len(air.sent) == 1 and air.published(0).seq == 1
    assert air.published(0).module == "core"  # Power up: the meter's core
    assert uplink.take_answer(answer(air, 0))
    await clock.run_for(0.1)
    assert uplink.taken() == 1 and air.published(1).seq == 2
    # No answer (lost on the air, or a hub killed before answering): the same event again.
    await clock.run_for(10)
    assert [air.published(n).seq for n in range(len(air.sent))][:3] == [1, 2, 2]
    assert uplink.taken() == 1
    refused = answer(air, 2, foundation.Status.NOT_AUTHORIZED)
    assert uplink.take_answer(refused) and uplink.taken() == 1
    await next_publish(clock, air, len(air.sent))  # published again after the refusal
    assert uplink.take_answer(answer(air, len(air.sent) - 1))
    await clock.run_for(0.1)
    assert uplink.taken() == 2
    published = air.published(len(air.sent) - 1)
    assert (published.module, published.detail) == ("tamper", {"input": "meter_cover"})
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    # A restart carries on from the cursor in the store: nothing taken is published again.
    log.record(EventCode.POWER_UP, {"firmware": "0.1.0"})
    air.sent.clear()
    again = EventUplink(log, store, clock, air.send, HUB, lambda: True)
    task = asyncio.get_running_loop().create_task(again.run())
    await clock.run_for(0.1)
    assert [air.published(n).seq for n in range(len(air.sent))] == [3]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.req("18.11.a", "18.11.c", "18.3")
async def test_tamper_inputs_are_logged_as_they_change(
    parts: tuple[SqliteStore, ManualClock, EventLog, Air],
) -> None:
    _store, _clock, log, _air = parts
    switches = EmulatedTamperSwitches({TamperInput.METER_COVER, TamperInput.MAGNETIC_FIELD})
    watch = TamperWatch(switches, log)
    task = asyncio.get_running_loop().create_task(watch.run())
    bench = watch.handlers()["tamper"]
    assert (await bench({"input": "meter_cover", "active": True}))["changed"] is True
    await bench({"input": "magnetic_field", "active": True})
    await bench({"input": "meter_cover", "active": False})
    for _ in range(5):
        await asyncio.sleep(0)
    logged = list(reversed(log.recent()))
    assert [r.code for r in logged] == [
        EventCode.METER_COVER_REMOVED,
        EventCode.STRONG_DC_FIELD_DETECTED,
        EventCode.METER_COVER_CLOSED,
    ]
    assert {r.module for r in logged} == {"tamper"}
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

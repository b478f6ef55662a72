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
from hub.han.event_client import answer_publish_event
from hub.hub_config import HubConfig
from hub.meter_events import MeterEvents
from hub.outbox import Outbox
from protocol.errors import LocalProtocolError, TransientLinkError
from protocol.event_codes import EventCode
from protocol.meter_events import PublishedEvent
from protocol.se import Events
from protocol.zigbee_ids import SE_PROFILE
from tests.hub.loopback_wan import LoopbackWan
from tests.waiting import eventually

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
    await eventually(lambda: log.count() >= 3, 5.0, "the three tamper changes logged")
    logged = list(reversed(log.recent()))
    assert [r.code for r in logged] == [
        EventCode.METER_COVER_REMOVED,
        EventCode.STRONG_DC_FIELD_DETECTED,
        EventCode.METER_COVER_CLOSED,
    ]
    assert {r.module for r in logged} == {"tamper"}
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def answered(
    clock: ManualClock, air: Air, uplink: EventUplink, status: foundation.Status
) -> PublishedEvent:
    """Wait for the next frame, answer it with `status`; what it published."""
    await next_publish(clock, air, len(air.sent) - 1 if air.sent else 0)
    n = len(air.sent) - 1
    assert uplink.take_answer(answer(air, n, status))
    await clock.run_for(0.1)
    return air.published(n)


def running(uplink: EventUplink) -> asyncio.Task[None]:
    return asyncio.get_running_loop().create_task(uplink.run())


async def stopped(task: asyncio.Task[None]) -> None:
    assert not task.done(), "the uplink task ended"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.req("18.2", "19.1.6")
async def test_an_event_stamped_1970_still_goes_and_so_do_the_ones_behind_it(
    parts: tuple[SqliteStore, ManualClock, EventLog, Air],
) -> None:
    """An RTC reset to 1970: the stamp UTCTime cannot hold travels in the detail, the hub reads
    it back, and the uplink goes on."""
    store, clock, log, air = parts
    reset = datetime(1970, 1, 1, 0, 0, 7, tzinfo=UTC)
    log.record(EventCode.CLOCK_INVALID, {"why": "rtc reset"}, at=reset)
    log.record(EventCode.POWER_UP, {})
    uplink = EventUplink(log, store, clock, air.send, HUB, lambda: True)
    task = running(uplink)
    first = await answered(clock, air, uplink, foundation.Status.SUCCESS)
    assert (first.seq, first.utc, first.detail) == (1, reset, {"why": "rtc reset"})
    assert first.epoch == log.epoch
    second = await answered(clock, air, uplink, foundation.Status.SUCCESS)
    assert second.seq == 2 and uplink.taken() == 2
    await stopped(task)


@pytest.mark.req("19.1.6")
async def test_an_event_refused_for_good_goes_without_its_detail_then_is_skipped(
    parts: tuple[SqliteStore, ManualClock, EventLog, Air],
) -> None:
    store, clock, log, air = parts
    for n in range(3):
        log.record(EventCode.METER_COVER_REMOVED, {"n": n}, module="tamper")
    uplink = EventUplink(log, store, clock, air.send, HUB, lambda: True)
    task = running(uplink)
    malformed = foundation.Status.MALFORMED_COMMAND
    assert (await answered(clock, air, uplink, malformed)).detail == {"n": 0}
    bare = await answered(clock, air, uplink, foundation.Status.SUCCESS)
    assert (bare.seq, bare.detail) == (1, {"dropped": "0x80"})
    assert (await answered(clock, air, uplink, malformed)).seq == 2
    assert (await answered(clock, air, uplink, malformed)).detail == {"dropped": "0x80"}
    # Refused again: skipped, and the next one goes; the whole event stays in the log.
    assert (await answered(clock, air, uplink, foundation.Status.SUCCESS)).seq == 3
    assert uplink.taken() == 3 and log.since(1, 1)[0].detail == {"n": 1}
    await stopped(task)


@pytest.mark.req("19.1.6")
async def test_the_uplink_outlives_a_failure_of_its_own(
    parts: tuple[SqliteStore, ManualClock, EventLog, Air], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, clock, log, air = parts
    log.record(EventCode.POWER_UP, {})
    uplink = EventUplink(log, store, clock, air.send, HUB, lambda: True)
    failures = iter([RuntimeError("a bug of ours")])
    since = log.since

    def flaky(seq: int, limit: int | None = None) -> list[Any]:
        for failure in failures:
            raise failure
        return since(seq, limit)

    monkeypatch.setattr(log, "since", flaky)
    task = running(uplink)
    assert (await answered(clock, air, uplink, foundation.Status.SUCCESS)).seq == 1
    await stopped(task)


@pytest.mark.req("18.2", "19.1.6")
def test_a_detail_that_is_not_strict_json_is_refused_when_recorded(
    parts: tuple[SqliteStore, ManualClock, EventLog, Air],
) -> None:
    _store, _clock, log, _air = parts
    for bad in (float("nan"), float("inf")):
        with pytest.raises(LocalProtocolError, match="strict JSON"):
            log.record(EventCode.POWER_UP, {"x": bad})
    assert log.count() == 0


@pytest.mark.req("18.2", "19.1.6")
def test_clearing_the_log_keeps_what_the_hub_has_not_taken(
    parts: tuple[SqliteStore, ManualClock, EventLog, Air],
) -> None:
    store, clock, log, air = parts
    for _ in range(3):
        log.record(EventCode.POWER_UP, {})
    uplink = EventUplink(log, store, clock, air.send, HUB, lambda: True)
    store.put("event_uplink", "taken", 1)  # the hub has taken event 1 only
    log.clear()
    assert [r.seq for r in log.since(0)] == [2, 3, 4] and uplink.taken() == 1
    assert log.since(3)[0].code is EventCode.EVENT_LOG_CLEARED


@pytest.mark.req("19.1.6")
async def test_a_reply_lost_after_the_hub_stored_the_event_queues_it_once(
    parts: tuple[SqliteStore, ManualClock, EventLog, Air], tmp_path: Path
) -> None:
    """The hub's sink commits, its answer is lost on the air, the meter publishes the event
    again: the hub answers SUCCESS again and the head-end gets the event once."""
    store, clock, log, air = parts
    hub_store = SqliteStore(tmp_path / "hub.sqlite")
    outbox = Outbox(hub_store, LoopbackWan(tmp_path / "headend.sqlite"), clock)
    hub = MeterEvents(hub_store, clock, outbox, HubConfig(hub_store, clock, outbox, {"esme"}))
    log.record(EventCode.METER_COVER_REMOVED, {}, module="tamper")
    uplink = EventUplink(log, store, clock, air.send, HUB, lambda: True)
    task = running(uplink)

    def hub_answers(n: int) -> IncomingMessage | None:
        frame = ZclFrame.parse(air.sent[n])
        reply = answer_publish_event(
            frame, "esme", hub.take, lambda c, d: None, frozenset({"esme"})
        )
        return (
            None
            if reply is None
            else IncomingMessage(
                0x0000, SE_PROFILE, Events.cluster_id, 9, 1, reply, 255, -40, False
            )
        )

    await next_publish(clock, air, 0)
    assert hub_answers(0) is not None  # stored; the answer never reaches the meter
    await next_publish(clock, air, 1)  # published again
    again = hub_answers(1)
    assert again is not None and uplink.take_answer(again)
    await clock.run_for(0.1)
    assert uplink.taken() == 1
    assert [m.event().seq for m in outbox.pending("esme")] == [1]
    await stopped(task)
    hub_store.close()

"""What a meter may push into the hub (hub/meter_events.py): marks per log epoch with a window,
a budget per meter timed on the hub's clock, unknown codes held, a cap on what waits per meter
(clauses 18.11.f, 19.1.6, 18.8). Nothing refused or deferred is lost: the mark stays, so the
meter keeps the event and publishes it again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hal.emulated.clock import ManualClock
from hal.real.sqlite_store import SqliteStore
from hub import meter_events
from hub.han.event_client import Intake
from hub.hub_config import HubConfig
from hub.meter_events import BUDGET, BUDGET_PER_S, SEQ_WINDOW, MeterEvents
from hub.outbox import Outbox
from protocol.event_codes import EventCode
from protocol.meter_events import PublishedEvent
from protocol.wan import UplinkAck
from tests.hub.loopback_wan import LoopbackWan

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
COVER = int(EventCode.METER_COVER_REMOVED)
EPOCH = 0x1234


@dataclass
class Intake_:
    clock: ManualClock
    outbox: Outbox
    events: MeterEvents
    logged: list[tuple[EventCode, dict[str, Any]]] = field(default_factory=list)

    def take(self, seq: int, code: int = COVER, epoch: int = EPOCH) -> Intake:
        return self.events.take("esme", PublishedEvent(seq, code, NOW, "tamper", {}, epoch))

    def codes(self) -> list[EventCode]:
        return [code for code, _ in self.logged]

    def queued(self) -> list[int]:
        return [m.event().seq for m in self.outbox.pending("esme")]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Intake_]:
    store = SqliteStore(tmp_path / "hub.sqlite")
    clock = ManualClock(NOW)
    outbox = Outbox(store, LoopbackWan(tmp_path / "headend.sqlite"), clock)
    config = HubConfig(store, clock, outbox, {"esme", "gsme"})
    logged: list[tuple[EventCode, dict[str, Any]]] = []
    events = MeterEvents(store, clock, outbox, config, lambda c, d: logged.append((c, d)))
    yield Intake_(clock, outbox, events, logged)
    store.close()


@pytest.mark.req("18.11.f", "19.1.6")
def test_a_number_far_ahead_cannot_silence_the_meters_later_events(hub: Intake_) -> None:
    assert hub.take(1) is Intake.TAKEN
    assert hub.take(0xFFFFFFFF) is Intake.REFUSED  # hostile, or a broken store
    assert hub.take(1 + SEQ_WINDOW + 1) is Intake.REFUSED
    assert hub.codes() == [EventCode.UNUSUAL_HAN_TRAFFIC]  # once a minute at most
    assert hub.take(2) is Intake.TAKEN
    assert hub.queued() == [1, 2] and hub.events.taken("esme", EPOCH) == 2


@pytest.mark.req("19.1.6")
def test_a_replaced_meter_log_starts_a_new_count(hub: Intake_) -> None:
    for seq in range(1, 6):
        hub.take(seq)
    # A new store on the meter: a new epoch, numbers from 1 again; none taken for a repeat.
    assert hub.take(1, epoch=EPOCH + 1) is Intake.TAKEN
    assert hub.take(2, epoch=EPOCH + 1) is Intake.TAKEN
    assert hub.queued() == [1, 2, 3, 4, 5, 1, 2]
    # The old log's numbers are still known as such.
    assert hub.take(5) is Intake.AGAIN and hub.events.taken("esme", EPOCH) == 5
    # A new log counts from 1: one far ahead (a forged epoch) is refused, the real log goes on.
    assert hub.take(0xFFFFFFFF, epoch=EPOCH + 2) is Intake.REFUSED
    assert hub.take(6) is Intake.TAKEN


@pytest.mark.req("18.11.f")
def test_a_jump_or_a_step_back_within_a_log_is_reported(hub: Intake_) -> None:
    hub.take(1)
    assert hub.take(4) is Intake.TAKEN
    assert hub.codes() == [EventCode.UNUSUAL_HAN_TRAFFIC]
    assert "2 to 3" in hub.logged[0][1]["reason"]
    hub.clock.advance(meter_events.REPORT_EVERY_S)
    assert hub.take(2) is Intake.AGAIN  # behind the mark: answered, nothing queued
    assert hub.codes() == [EventCode.UNUSUAL_HAN_TRAFFIC] * 2 and hub.queued() == [1, 4]


@pytest.mark.req("18.11.f", "19.1.6")
def test_a_flood_is_held_to_the_meters_budget_and_nothing_is_lost(hub: Intake_) -> None:
    # 2000 forged alerts: the budget takes the first ones, the rest wait (or, far ahead of
    # the mark, are refused); the outbox holds no more than the budget allowed.
    outcomes = [hub.take(seq) for seq in range(1, 2001)]
    assert outcomes[:BUDGET] == [Intake.TAKEN] * BUDGET
    assert set(outcomes[BUDGET:]) == {Intake.DEFERRED, Intake.REFUSED}
    assert hub.outbox.pending_count() == BUDGET and hub.events.taken("esme", EPOCH) == BUDGET
    assert EventCode.UNUSUAL_HAN_TRAFFIC in hub.codes()
    # An honest meter publishes what it still holds again later, and the hub takes it.
    assert hub.take(BUDGET + 1) is Intake.DEFERRED
    hub.clock.advance(10 / BUDGET_PER_S)
    assert [hub.take(seq) for seq in range(BUDGET + 1, BUDGET + 12)].count(Intake.TAKEN) == 10
    assert hub.queued() == list(range(1, BUDGET + 11))


@pytest.mark.req("18.8")
def test_a_code_the_hub_does_not_know_waits_for_the_next_exchange(hub: Intake_) -> None:
    assert hub.take(1, code=0xFFFF) is Intake.TAKEN
    assert hub.queued() == [] and hub.outbox.held_count() == 1


@pytest.mark.req("19.1.6")
def test_what_waits_per_meter_is_capped_and_the_overflow_said(
    hub: Intake_, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(meter_events, "MAX_WAITING", 3)
    hub.take(1, code=0xFFFF)  # held
    hub.take(2)
    hub.take(3)
    assert hub.take(4) is Intake.DEFERRED and hub.events.taken("esme", EPOCH) == 3
    assert hub.codes() == [EventCode.LOG_CAPACITY_REACHED]
    hub.outbox.on_ack(UplinkAck("esme", hub.outbox.pending("esme")[-1].seq))
    assert hub.take(4) is Intake.TAKEN

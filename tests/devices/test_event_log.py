"""Event log: non-volatile, time-stamped from the RTC, atomic with its cause, never reusing seq."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from firmware.event_log import EventLog, EventRecord
from hal.emulated.clock import ManualClock
from hal.emulated.supply_switch import EmulatedSupplySwitch
from hal.ports import SwitchResult, SwitchState, Tx
from hal.real.sqlite_store import SqliteStore
from protocol.event_codes import EventCode

START = datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # BST ends at 01:00 UTC today


class Boom(Exception):
    pass


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "esme.db") as opened:
        yield opened


@pytest.fixture
def log(store: SqliteStore, clock: ManualClock) -> EventLog:
    return EventLog(store, clock, "esme")


class TestEventLog:
    @pytest.mark.req("15.5")
    def test_record_stamps_utc_from_the_rtc(self, log: EventLog, clock: ManualClock) -> None:
        clock.advance(3600)  # across the BST -> GMT change: the stamp does not care
        record = log.record(EventCode.POWER_UP, {"reason": "mains restored"})
        assert record == EventRecord(
            1, START + timedelta(hours=1), EventCode.POWER_UP, "esme", {"reason": "mains restored"}
        )
        assert record.utc.utcoffset() == timedelta(0)
        assert log.recent() == [record]

    def test_recent_is_newest_first_and_since_is_oldest_first(
        self, log: EventLog, clock: ManualClock
    ) -> None:
        codes = [EventCode.POWER_UP, EventCode.TERMINAL_COVER_REMOVED, EventCode.POWER_DOWN]
        for code in codes:
            log.record(code)
            clock.advance(1)
        assert [r.code for r in log.recent(2)] == codes[:0:-1]
        assert [r.code for r in log.since(1)] == codes[1:]
        assert [r.seq for r in log.since(0, limit=2)] == [1, 2]
        assert log.count() == 3
        assert log.count(EventCode.POWER_DOWN) == 1
        assert log.count(EventCode.CLOCK_INVALID) == 0

    @pytest.mark.req("18.2")
    def test_events_survive_restart(self, tmp_path: Path, clock: ManualClock) -> None:
        path = tmp_path / "gsme.db"
        with SqliteStore(path) as store:
            written = EventLog(store, clock, "gsme").record(EventCode.VALVE_ALARM, {"n": 1})
        with SqliteStore(path) as store:
            reopened = EventLog(store, clock, "gsme")
            assert reopened.recent() == [written]
            assert reopened.record(EventCode.POWER_UP).seq == written.seq + 1

    def test_event_commits_with_its_cause_or_not_at_all(
        self, log: EventLog, store: SqliteStore
    ) -> None:
        with pytest.raises(Boom), store.transaction() as tx:
            store.put("limiter", "threshold_w", 3000, tx=tx)
            log.record(EventCode.LIMITER_THRESHOLD_CHANGED, {"to_w": 3000}, tx=tx)
            raise Boom
        assert log.count() == 0
        assert store.get("limiter", "threshold_w") is None
        with store.transaction() as tx:
            store.put("limiter", "threshold_w", 3000, tx=tx)
            log.record(EventCode.LIMITER_THRESHOLD_CHANGED, {"to_w": 3000}, tx=tx)
        assert log.count(EventCode.LIMITER_THRESHOLD_CHANGED) == 1

    @pytest.mark.req("B.1.2")
    def test_clear_leaves_one_entry_and_never_reuses_seq(self, log: EventLog) -> None:
        for _ in range(5):
            log.record(EventCode.COMMUNICATION_ERROR_HAN)
        cleared = log.clear({"by": "engineer 0042"})
        assert cleared.seq == 6
        assert log.recent() == [cleared]
        assert log.record(EventCode.POWER_UP).seq == 7
        assert log.last_seq() == 7

    def test_clock_adjustment_pair(self, log: EventLog, clock: ManualClock) -> None:
        before = clock.now()
        new_time = datetime(2024, 10, 27, 2, 0, tzinfo=UTC)
        step = clock.adjust(new_time)
        detail = {"old": before, "new": new_time, "step_s": step.total_seconds()}
        old = log.record(EventCode.CLOCK_ADJUSTED_OLD_TIME, detail, at=before)
        new = log.record(EventCode.CLOCK_ADJUSTED_NEW_TIME, detail)
        assert (old.utc, new.utc) == (before, new_time)
        assert old.detail["old"] == before.isoformat()
        assert old.detail["new"] == "2024-10-27T02:00:00+00:00"
        assert old.detail["step_s"] == 5400.0
        assert log.recent()[1] == old

    async def test_switch_change_and_its_event_in_one_transaction(
        self, log: EventLog, store: SqliteStore
    ) -> None:
        switch = EmulatedSupplySwitch(store)

        def journal(tx: Tx, result: SwitchResult) -> None:
            log.record(EventCode.REMOTE_DISCONNECTION, {"result": result.state}, tx=tx)

        await switch.operate(SwitchState.DISCONNECTED, journal=journal)
        assert log.recent()[0].detail == {"result": "disconnected"}

    def test_detail_must_be_serialisable(self, log: EventLog) -> None:
        with pytest.raises(TypeError):
            log.record(EventCode.FRAUD_ATTEMPT, {"bad": object()})
        assert log.count() == 0

    def test_naive_override_time_refused(self, log: EventLog) -> None:
        with pytest.raises(ValueError):
            log.record(EventCode.DST_DISABLED, at=datetime(2024, 10, 27, 1, 0))

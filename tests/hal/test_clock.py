"""Clock port: one contract run against every backend, then what each backend adds.

Every `clock.sleep` / `rig.sleep` here is the behaviour under test (a sleep on the clock being
tested), not a test waiting for something; `asyncio.sleep(0)` yields one loop turn."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from hal.emulated.clock import ManualClock, SimulatedClock
from hal.ports import Clock, uk_local
from hal.real.clock import SystemClock

EPOCH = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class ClockRig:
    """A clock under test and how long its 'short' sleep is, in emulated seconds."""

    clock: Clock
    short_s: float
    tolerance_s: float

    async def sleep(self, seconds: float) -> None:
        """Sleep on the clock, driving a ManualClock forward as real time would."""
        if isinstance(self.clock, ManualClock):
            sleeper = asyncio.create_task(self.clock.sleep(seconds))
            await self.clock.run_for(seconds)
            await asyncio.wait_for(sleeper, 1.0)
        else:
            await self.clock.sleep(seconds)


@pytest.fixture(params=["system", "simulated", "simulated-drift", "manual"])
def rig(request: pytest.FixtureRequest) -> Iterator[ClockRig]:
    if request.param == "system":
        yield ClockRig(SystemClock(), short_s=0.05, tolerance_s=0.5)
    elif request.param == "simulated":
        yield ClockRig(SimulatedClock(EPOCH, time.time(), scale=60.0), 3.0, 30.0)
    elif request.param == "simulated-drift":
        yield ClockRig(SimulatedClock(EPOCH, time.time(), 60.0, drift_ppm=-40.0), 3.0, 30.0)
    else:
        yield ClockRig(ManualClock(EPOCH), short_s=60.0, tolerance_s=1e-9)


class TestClockContract:
    def test_is_a_clock(self, rig: ClockRig) -> None:
        assert isinstance(rig.clock, Clock)
        assert rig.clock.scale > 0

    def test_now_is_aware_utc(self, rig: ClockRig) -> None:
        now = rig.clock.now()
        assert now.tzinfo is not None
        assert now.utcoffset() == timedelta(0)

    async def test_monotonic_never_goes_back(self, rig: ClockRig) -> None:
        readings = [rig.clock.monotonic() for _ in range(1000)]
        await rig.sleep(rig.short_s)
        readings.append(rig.clock.monotonic())
        assert readings == sorted(readings)

    async def test_sleep_takes_emulated_seconds(self, rig: ClockRig) -> None:
        mono, now = rig.clock.monotonic(), rig.clock.now()
        await rig.sleep(rig.short_s)
        assert rig.clock.monotonic() - mono >= rig.short_s * 0.999
        elapsed = (rig.clock.now() - now).total_seconds()
        assert rig.short_s * 0.999 <= elapsed <= rig.short_s + rig.tolerance_s

    async def test_sleep_zero_or_negative_returns(self, rig: ClockRig) -> None:
        await asyncio.wait_for(rig.clock.sleep(0), 0.5)
        await asyncio.wait_for(rig.clock.sleep(-5), 0.5)

    def test_adjust_steps_now_but_not_monotonic(self, rig: ClockRig) -> None:
        before_mono = rig.clock.monotonic()
        target = rig.clock.now() + timedelta(days=3, minutes=7)
        step = rig.clock.adjust(target)
        assert abs(step - timedelta(days=3, minutes=7)) <= timedelta(seconds=rig.tolerance_s)
        assert abs(rig.clock.now() - target) <= timedelta(seconds=rig.tolerance_s)
        assert 0 <= rig.clock.monotonic() - before_mono < rig.tolerance_s + 1e-6

    def test_adjust_backwards(self, rig: ClockRig) -> None:
        target = datetime(2020, 2, 29, 8, 30, tzinfo=UTC)
        step = rig.clock.adjust(target)
        assert step < timedelta(0)
        assert abs(rig.clock.now() - target) <= timedelta(seconds=rig.tolerance_s)

    def test_adjust_refuses_naive_time(self, rig: ClockRig) -> None:
        with pytest.raises(ValueError):
            rig.clock.adjust(datetime(2024, 1, 1))


class TestSystemClock:
    def test_follows_host_time(self) -> None:
        assert abs(SystemClock().now() - datetime.now(UTC)) < timedelta(seconds=1)

    def test_adjust_keeps_an_offset_and_leaves_host_alone(self) -> None:
        clock = SystemClock()
        clock.adjust(datetime.now(UTC) + timedelta(hours=5))
        offset = clock.now() - datetime.now(UTC)
        assert abs(offset - timedelta(hours=5)) < timedelta(seconds=1)
        assert SystemClock().now() - datetime.now(UTC) < timedelta(seconds=1)


class TestSimulatedClock:
    def test_time_is_epoch_plus_scaled_wall_time(self) -> None:
        clock = SimulatedClock(EPOCH, time.time() - 10.0, scale=60.0)
        assert abs((clock.now() - EPOCH).total_seconds() - 600.0) < 1.0
        assert clock.scale == 60.0

    def test_processes_of_a_rig_agree(self) -> None:
        start = time.time() - 3.0
        hub, meter = SimulatedClock(EPOCH, start, 120.0), SimulatedClock(EPOCH, start, 120.0)
        assert abs(hub.now() - meter.now()) < timedelta(seconds=1)

    async def test_scale_shortens_real_sleep(self) -> None:
        clock = SimulatedClock(EPOCH, time.time(), scale=3600.0)
        started = time.perf_counter()
        await clock.sleep(72.0)
        assert 0.015 <= time.perf_counter() - started < 0.5

    @pytest.mark.parametrize(
        ("year", "expected"), [(2024, (2, 29)), (2023, (3, 1)), (2100, (3, 1)), (2000, (2, 29))]
    )
    def test_leap_years(self, year: int, expected: tuple[int, int]) -> None:
        epoch = datetime(year, 2, 28, 23, 59, tzinfo=UTC)
        clock = SimulatedClock(epoch, time.time() - 1.0, scale=61.0)
        now = clock.now()
        assert (now.month, now.day) == expected

    @pytest.mark.req("15.4.a")
    def test_drift_model_stays_within_relative_error(self) -> None:
        # A 50 ppm crystal: a 30-minute interval is 0.09 s long, 0.005% < 0.01% (clause 15.4.a).
        clock = SimulatedClock(EPOCH, time.time() - 1800.0, scale=1.0, drift_ppm=50.0)
        measured = (clock.now() - EPOCH).total_seconds()
        assert measured > 1800.0
        assert abs(measured - 1800.0) / 1800.0 < 1e-4

    def test_refuses_bad_configuration(self) -> None:
        with pytest.raises(ValueError):
            SimulatedClock(EPOCH, time.time(), scale=0.0)
        with pytest.raises(ValueError):
            SimulatedClock(datetime(2024, 1, 1), time.time())


class TestManualClock:
    async def test_sleepers_wake_in_deadline_order(self) -> None:
        clock = ManualClock(EPOCH)
        woke: list[str] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woke.append(name)

        tasks = [asyncio.create_task(sleeper(n, s)) for n, s in [("c", 30), ("a", 10), ("b", 20)]]
        await asyncio.sleep(0)  # one turn: the sleepers register on the clock
        assert clock.sleepers == 3
        clock.advance(9.5)
        await asyncio.sleep(0)  # one turn: a sleeper woken too early would append
        assert woke == []
        clock.advance(11)
        await asyncio.gather(*tasks[1:])
        assert woke == ["a", "b"]
        clock.advance(10)
        await tasks[0]
        assert woke == ["a", "b", "c"]
        assert clock.now() == EPOCH + timedelta(seconds=30.5)

    async def test_cancelled_sleeper_is_forgotten(self) -> None:
        clock = ManualClock(EPOCH)
        task = asyncio.create_task(clock.sleep(5))
        await asyncio.sleep(0)  # one turn: the sleeper registers
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert clock.sleepers == 0
        clock.advance(10)

    async def test_run_for_fires_a_periodic_loop_once_per_period(self) -> None:
        clock = ManualClock(EPOCH)
        ticks: list[float] = []

        async def every_minute() -> None:
            while True:
                await clock.sleep(60)
                ticks.append(clock.monotonic())

        task = asyncio.create_task(every_minute())
        await clock.run_for(600)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ticks == [60.0 * n for n in range(1, 11)]

    def test_time_only_moves_forward(self) -> None:
        with pytest.raises(ValueError):
            ManualClock().advance(-1)


class TestUkLocalTime:
    @pytest.mark.parametrize(
        ("utc", "local", "offset_h"),
        [
            (datetime(2024, 1, 15, 12, 0, tzinfo=UTC), "2024-01-15T12:00:00", 0),
            (datetime(2024, 7, 15, 12, 0, tzinfo=UTC), "2024-07-15T13:00:00", 1),
            # Spring forward, last Sunday of March, 01:00 UTC.
            (datetime(2024, 3, 31, 0, 59, 59, tzinfo=UTC), "2024-03-31T00:59:59", 0),
            (datetime(2024, 3, 31, 1, 0, 0, tzinfo=UTC), "2024-03-31T02:00:00", 1),
            # Fall back, last Sunday of October, 01:00 UTC: 01:xx local happens twice.
            (datetime(2024, 10, 27, 0, 30, tzinfo=UTC), "2024-10-27T01:30:00", 1),
            (datetime(2024, 10, 27, 1, 30, tzinfo=UTC), "2024-10-27T01:30:00", 0),
        ],
    )
    def test_gmt_and_bst(self, utc: datetime, local: str, offset_h: int) -> None:
        shown = uk_local(utc)
        assert shown.replace(tzinfo=None).isoformat() == local
        assert shown.utcoffset() == timedelta(hours=offset_h)
        # Not `shown == utc`: PEP 495 makes times in a fold unequal to every other zone's times.
        assert shown.astimezone(UTC) == utc

    def test_refuses_naive_time(self) -> None:
        with pytest.raises(ValueError):
            uk_local(datetime(2024, 1, 1))

"""Emulated real-time clocks: a scaled simulated RTC for rigs and a manual clock for unit tests.

`SimulatedClock` lets a rig run a month of tariffs in minutes (DESIGN.md §6). Every process of a
rig is given the same `epoch` and `start_wall` by the launcher, and computes emulated time from the
shared host wall clock, so the hub, meters and head-end agree on the time without talking. An
optional oscillator drift models clause 15.4.a (relative error) so that the head-end's
resynchronisation (clauses 15.1, 15.4.b) has something to correct.

`ManualClock` moves only when a test says so; coroutines sleeping on it wake, in deadline order,
when the test advances time past their deadline.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime, timedelta

from hal.ports import require_utc, uk_local

__all__ = ["ManualClock", "SimulatedClock", "uk_local"]

DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)


class SimulatedClock:
    """`hal.ports.Clock` whose time is `epoch + (time.time() - start_wall) * scale`.

    `drift_ppm` makes this RTC run fast (positive) or slow (negative) by that many parts per
    million, like a real crystal; with drift the clocks of a rig no longer agree exactly, which is
    the point.
    """

    def __init__(
        self, epoch: datetime, start_wall: float, scale: float = 1.0, drift_ppm: float = 0.0
    ) -> None:
        if scale <= 0:
            raise ValueError(f"clock scale must be positive, got {scale}")
        self._epoch = require_utc(epoch)
        self._start_wall = start_wall
        self._scale = scale
        self._rate = scale * (1.0 + drift_ppm * 1e-6)
        self._offset = timedelta(0)
        # monotonic() is anchored to the rig's shared start once, then follows the host's
        # monotonic clock, so an NTP step of the host wall clock never makes it go back.
        self._mono_base = (time.time() - start_wall) * self._rate
        self._mono_ref = time.monotonic()
        self._mono_last = self._mono_base

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> datetime:
        elapsed = (time.time() - self._start_wall) * self._rate
        return self._epoch + timedelta(seconds=elapsed) + self._offset

    def monotonic(self) -> float:
        value = self._mono_base + (time.monotonic() - self._mono_ref) * self._rate
        self._mono_last = max(self._mono_last, value)
        return self._mono_last

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._rate)

    def adjust(self, new_now: datetime) -> timedelta:
        step = require_utc(new_now) - self.now()
        self._offset += step
        return step


class ManualClock:
    """`hal.ports.Clock` for unit tests: time stands still until `advance` or `run_for`.

    `advance(s)` moves time and wakes the sleepers whose deadline has passed; they run at the
    event loop's next turn. `await run_for(s)` steps from deadline to deadline and lets woken
    coroutines run in between, so a firmware loop that sleeps again after each wake-up fires once
    per period, as it would in real time.
    """

    def __init__(self, start: datetime = DEFAULT_START, scale: float = 1.0) -> None:
        self._start = require_utc(start)
        self._scale = scale
        self._mono = 0.0
        self._offset = timedelta(0)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def scale(self) -> float:
        return self._scale

    @property
    def sleepers(self) -> int:
        """Coroutines currently sleeping on this clock."""
        return sum(1 for _, _, fut in self._sleepers if not fut.done())

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._mono) + self._offset

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._order), fut))
        try:
            await fut
        finally:
            # A cancelled sleeper stays in the heap as a done future and is skipped later.
            if not fut.done():
                fut.cancel()

    def adjust(self, new_now: datetime) -> timedelta:
        step = require_utc(new_now) - self.now()
        self._offset += step
        return step

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline is now due."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._mono += seconds
        self._wake_due()

    async def run_for(self, seconds: float, settle_turns: int = 5) -> None:
        """Advance by `seconds`, stopping at each sleeper's deadline to let it run."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        target = self._mono + seconds
        await _turns(settle_turns)
        while (deadline := self._next_deadline()) is not None and deadline <= target:
            self._mono = max(self._mono, deadline)
            self._wake_due()
            await _turns(settle_turns)
        self._mono = target
        self._wake_due()
        await _turns(settle_turns)

    def _next_deadline(self) -> float | None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    def _wake_due(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._mono:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)


async def _turns(count: int) -> None:
    """Give the event loop `count` turns so woken coroutines reach their next await."""
    for _ in range(count):
        await asyncio.sleep(0)

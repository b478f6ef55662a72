"""A `timer.Timer` whose clock moves only when it is told to: deterministic stack tests.

`advance(seconds)` runs every callback that falls due within those seconds, in deadline order
(callbacks due at the same instant in the order they were scheduled), with the clock reading each
callback's own deadline while it runs; callbacks they schedule within the span run too. The clock
then rests at the end of the span.

Frames between emulated stacks travel through the event loop (the in-process air delivers on a
later loop iteration), so a test that wants replies to land between two timer events steps from
one deadline to the next with `next_deadline()` and `advance_to()`, letting the loop run in
between: see `tests/hal/ncp_harness.py`.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections.abc import Callable
from typing import TypeVarTuple

Ts = TypeVarTuple("Ts")


@dataclasses.dataclass(eq=False)
class ManualTimerHandle:
    """One scheduled callback of a `ManualTimer`."""

    when: float
    run: Callable[[], object]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualTimer:
    """A clock and scheduler driven by the test, starting at `start` seconds."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._queue: list[tuple[float, int, ManualTimerHandle]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def call_later(
        self, delay_s: float, callback: Callable[[*Ts], object], *args: *Ts
    ) -> ManualTimerHandle:
        handle = ManualTimerHandle(self._now + max(0.0, delay_s), lambda: callback(*args))
        heapq.heappush(self._queue, (handle.when, next(self._order), handle))
        return handle

    def next_deadline(self) -> float | None:
        """When the earliest callback still scheduled falls due; None if there is none."""
        while self._queue and self._queue[0][2].cancelled:
            heapq.heappop(self._queue)
        return self._queue[0][0] if self._queue else None

    @property
    def pending(self) -> int:
        """How many callbacks are scheduled and not cancelled."""
        return sum(1 for _when, _order, handle in self._queue if not handle.cancelled)

    def advance(self, seconds: float) -> int:
        """Move the clock `seconds` forward, running what falls due; returns how many ran."""
        if seconds < 0:
            raise ValueError(f"time does not go back ({seconds} s)")
        return self.advance_to(self._now + seconds)

    def advance_to(self, instant: float) -> int:
        """Move the clock to `instant` (not before now), running what falls due on the way."""
        if instant < self._now:
            raise ValueError(f"time does not go back ({instant} is before {self._now})")
        ran = 0
        while (deadline := self.next_deadline()) is not None and deadline <= instant:
            _when, _order, handle = heapq.heappop(self._queue)
            self._now = deadline
            ran += 1
            handle.run()
        self._now = instant
        return ran

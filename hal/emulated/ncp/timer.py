"""The timer port of the emulated ZigBee stack, and its asyncio backend.

Every timing decision of the stack (APS ack timeouts and retries, the duplicate-rejection window,
the joiner's scan and join timeouts, permit-join expiry, waits for an application link key) goes
through one injected `Timer`: `call_later` to be called back, `monotonic` to read the clock. In a
running NCP it is `AsyncioTimer`, the event loop's own clock and scheduler, which is what the
stack used directly before; tests inject `manual_timer.ManualTimer` and move time themselves, so
a 6-second join timeout takes no time at all and happens exactly when it should.

The ASH host link (`runner.py`) keeps the loop's clock: its peer, bellows, runs in real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol, TypeVarTuple

Ts = TypeVarTuple("Ts")


class TimerHandle(Protocol):
    """A scheduled callback; cancelling it after it ran (or twice) does nothing."""

    def cancel(self) -> None: ...


class Timer(Protocol):
    """Where the stack gets its time from."""

    def call_later(
        self, delay_s: float, callback: Callable[[*Ts], object], *args: *Ts
    ) -> TimerHandle:
        """Call `callback(*args)` once, `delay_s` seconds from now (0: after the current work,
        e.g. a callback to the host after the EZSP response that caused it has gone out)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...


class AsyncioTimer:
    """The running event loop as the stack's timer (a running NCP).

    The loop is looked up on each call, not when the timer is made: an `EmulatedNcp` (and so its
    stack) may be built before the loop that will run it starts.
    """

    def call_later(
        self, delay_s: float, callback: Callable[[*Ts], object], *args: *Ts
    ) -> TimerHandle:
        return asyncio.get_running_loop().call_later(delay_s, callback, *args)

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()


class BootTimer:
    """A `Timer` whose callbacks die with the boot that scheduled them.

    When the chip reboots (`reboot`), every callback the previous boot scheduled (an APS retry, a
    join timeout, a scan step) is dropped when it falls due, as a real reset clears the stack's
    event queue; the clock itself runs on. Wraps the stack's own timer, so a test's
    `manual_timer.ManualTimer` still decides when things fall due.
    """

    def __init__(self, inner: Timer) -> None:
        self.inner = inner
        self._boot = 0

    def call_later(
        self, delay_s: float, callback: Callable[[*Ts], object], *args: *Ts
    ) -> TimerHandle:
        boot = self._boot

        def fire() -> None:
            if boot == self._boot:
                callback(*args)

        return self.inner.call_later(delay_s, fire)

    def monotonic(self) -> float:
        return self.inner.monotonic()

    def reboot(self) -> None:
        self._boot += 1

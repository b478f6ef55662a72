"""The emulated stack's timer port: the manual timer tests inject, the asyncio one an NCP runs on,
and the NCP handing its timer down to its stack."""

from __future__ import annotations

import asyncio

import pytest

from hal.emulated.air_channel import AirChannel, InProcessRadioLink
from hal.emulated.ncp.manual_timer import ManualTimer
from hal.emulated.ncp.runner import EmulatedNcp
from hal.emulated.ncp.timer import AsyncioTimer, BootTimer, Timer

EUI64 = 0x000D6F0000001001


def test_callbacks_run_in_deadline_order_with_the_clock_at_their_deadline() -> None:
    timer = ManualTimer()
    ran: list[tuple[str, float]] = []
    timer.call_later(2.0, lambda name: ran.append((name, timer.monotonic())), "b")
    timer.call_later(1.0, lambda name: ran.append((name, timer.monotonic())), "a")
    timer.call_later(2.0, lambda name: ran.append((name, timer.monotonic())), "c")
    assert timer.advance(1.5) == 1
    assert ran == [("a", 1.0)]
    assert timer.monotonic() == 1.5
    timer.advance(10.0)
    assert ran == [("a", 1.0), ("b", 2.0), ("c", 2.0)]  # same deadline: the order they came
    assert timer.monotonic() == 11.5


def test_callbacks_scheduled_by_callbacks_run_if_they_fall_due_within_the_span() -> None:
    timer = ManualTimer()
    ran: list[float] = []

    def first() -> None:
        ran.append(timer.monotonic())
        timer.call_later(0, lambda: ran.append(timer.monotonic()))
        timer.call_later(5.0, lambda: ran.append(timer.monotonic()))

    timer.call_later(1.0, first)
    timer.advance(2.0)
    assert ran == [1.0, 1.0]
    assert timer.next_deadline() == 6.0
    timer.advance_to(6.0)
    assert ran == [1.0, 1.0, 6.0]


def test_a_cancelled_callback_never_runs_and_nothing_runs_early() -> None:
    timer = ManualTimer(start=100.0)
    ran: list[str] = []
    handle = timer.call_later(1.0, ran.append, "cancelled")
    timer.call_later(1.0, ran.append, "kept")
    handle.cancel()
    assert timer.pending == 1
    timer.advance(0.999)
    assert ran == []
    timer.advance(0.001)
    assert ran == ["kept"]
    assert timer.next_deadline() is None
    handle.cancel()  # after the fact: harmless


def test_time_does_not_go_back() -> None:
    timer = ManualTimer(start=5.0)
    with pytest.raises(ValueError):
        timer.advance(-1.0)
    with pytest.raises(ValueError):
        timer.advance_to(4.0)


async def test_the_asyncio_timer_is_the_running_loop() -> None:
    timer: Timer = AsyncioTimer()
    loop = asyncio.get_running_loop()
    fired = loop.create_future()
    before = loop.time()
    timer.call_later(0, fired.set_result, "fired")
    assert await fired == "fired"
    assert before <= timer.monotonic() <= loop.time()
    cancelled = timer.call_later(0, fired.set_result, "again")  # would raise if it ran
    cancelled.cancel()
    await asyncio.sleep(0)  # one turn: a cancelled callback that still ran would raise


def test_an_ncp_hands_its_timer_to_its_stack_and_defaults_to_the_loop() -> None:
    air = AirChannel()
    manual = ManualTimer()
    ncp = EmulatedNcp(EUI64, InProcessRadioLink(air, EUI64, "esme"), 13, "esme", timer=manual)
    assert isinstance(ncp.stack.timer, BootTimer) and ncp.stack.timer.inner is manual
    default = EmulatedNcp(EUI64, InProcessRadioLink(air, EUI64, "esme"), 13, "esme")
    assert isinstance(default.stack.timer, BootTimer)
    assert isinstance(default.stack.timer.inner, AsyncioTimer)

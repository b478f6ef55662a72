"""Waiting on the clock port, never on the host's clock (firmware discipline, DESIGN.md §6).

Radio timeouts are radio matters: the radio is real hardware, or an emulation running in real
time, even when the firmware's clock runs scaled. So they are stated in real seconds and waited
on the clock port as `seconds * clock.scale` emulated seconds (`sleep_real`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from hal.ports import Clock

__all__ = ["sleep_real", "wait_on_clock"]

_T = TypeVar("_T")


async def sleep_real(clock: Clock, seconds: float) -> None:
    """Sleep `seconds` of real time, on the clock port."""
    await clock.sleep(seconds * clock.scale)


async def wait_on_clock(clock: Clock, awaitable: Awaitable[_T], seconds: float) -> _T:
    """Await `awaitable` for at most `seconds` of the clock's time; TimeoutError after that."""
    task = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Whoever lost the race, or both if we are cancelled ourselves, must not outlive us.
        timed_out = not task.done()
        task.cancel()
        timer.cancel()
        await asyncio.gather(task, timer, return_exceptions=True)
    if timed_out:
        raise TimeoutError(f"no answer within {seconds:g} s")
    return task.result()

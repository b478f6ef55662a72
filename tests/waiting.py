"""Waiting for a condition with a deadline: the one way tests synchronise (no fixed sleeps)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["eventually", "eventually_sync"]


async def eventually(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> float:
    """Wait until `predicate()` holds; returns the seconds it took, fails after `timeout`."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(interval)  # the polling interval of the wait itself
    return time.monotonic() - started


def eventually_sync(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> float:
    """`eventually` for tests without an event loop (processes, sockets)."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(interval)  # the polling interval of the wait itself
    return time.monotonic() - started

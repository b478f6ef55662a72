"""Waiting for a condition with a deadline: the one way tests synchronise with what they drive.

A fixed sleep is either too short on a loaded machine (a flaky test) or too long everywhere (a
slow one). `eventually` (in a coroutine) and `wait_until` (in plain code) poll a predicate until
it holds and fail, naming what was awaited, when the deadline passes. Both return the
predicate's (truthy) value, so a loop that waits for a status can use the status it got.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast, overload

T = TypeVar("T")

#: How often the predicate is polled, in seconds: short next to every deadline used here.
INTERVAL_S = 0.05


class _Poll:
    """One wait: its deadline, the last value and the last exception the predicate gave."""

    def __init__(
        self,
        timeout: float,
        what: str,
        ignore: tuple[type[BaseException], ...],
        detail: Callable[[], str] | None,
    ):
        self.deadline = time.monotonic() + timeout
        self.timeout, self.what, self.ignore, self.detail = timeout, what, ignore, detail
        self.last: object = None
        self.error: BaseException | None = None

    def check(self, predicate: Callable[[], T | None]) -> T | None:
        try:
            return self.seen(predicate())
        except self.ignore as exc:  # e.g. a control socket that is not up yet
            self.error = exc
            return None

    def seen(self, value: T | None) -> T | None:
        self.last = value
        return value or None

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def failure(self) -> AssertionError:
        last = f"last error: {self.error!r}" if self.error is not None else f"last: {self.last!r}"
        extra = f"\n{self.detail()}" if self.detail is not None else ""
        return AssertionError(f"{self.what}: not within {self.timeout:g} s ({last}){extra}")


@overload
async def eventually(
    predicate: Callable[[], Awaitable[T | None]],
    timeout: float,
    what: str,
    *,
    interval: float = ...,
    ignore: tuple[type[BaseException], ...] = ...,
    detail: Callable[[], str] | None = ...,
) -> T: ...


@overload
async def eventually(
    predicate: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    interval: float = ...,
    ignore: tuple[type[BaseException], ...] = ...,
    detail: Callable[[], str] | None = ...,
) -> T: ...


async def eventually(
    predicate: Callable[[], T | Awaitable[T | None] | None],
    timeout: float,
    what: str,
    *,
    interval: float = INTERVAL_S,
    ignore: tuple[type[BaseException], ...] = (),
    detail: Callable[[], str] | None = None,
) -> T:
    """Await until `predicate()` is truthy and return it; fail naming `what` after `timeout` s.

    `predicate` may be a coroutine function (e.g. a request to a control socket). Exceptions of
    the `ignore` types count as "not yet". The event loop runs between polls, so the code under
    test makes progress on this loop while the test waits. On failure the message ends with
    `detail()` if given (e.g. the log of the process that was awaited).
    """
    poll = _Poll(timeout, what, ignore, detail)
    while True:
        try:
            result = predicate()
            got = await result if inspect.isawaitable(result) else result
            value = poll.seen(cast("T | None", got))  # the overloads tie T to `predicate`
        except ignore as exc:
            poll.error, value = exc, None
        if value is not None:
            return value
        if poll.expired():
            raise poll.failure()
        await asyncio.sleep(interval)  # the polling interval, not a synchronisation sleep


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    interval: float = INTERVAL_S,
    ignore: tuple[type[BaseException], ...] = (),
    detail: Callable[[], str] | None = None,
) -> T:
    """`eventually` for code without an event loop (processes, sockets, files)."""
    poll = _Poll(timeout, what, ignore, detail)
    while (value := poll.check(predicate)) is None:
        if poll.expired():
            raise poll.failure()
        time.sleep(interval)  # the polling interval, not a synchronisation sleep
    return value

"""The waiting helpers (tests/waiting.py) every test synchronises with."""

from __future__ import annotations

import itertools

import pytest

from tests.waiting import eventually, wait_until


def test_wait_until_returns_the_first_truthy_value() -> None:
    counter = itertools.count()
    assert wait_until(lambda: next(counter) >= 3 and "ready", 5, "three polls", interval=0) == (
        "ready"
    )


def test_wait_until_fails_naming_what_and_the_last_value() -> None:
    with pytest.raises(AssertionError, match=r"the door opening: not within 0.05 s \(last: 0\)"):
        wait_until(lambda: 0, 0.05, "the door opening", interval=0.01)


def test_ignored_errors_count_as_not_yet_and_are_reported() -> None:
    def not_up() -> bool:
        raise ConnectionRefusedError("nobody home")

    with pytest.raises(AssertionError, match="last error: ConnectionRefusedError"):
        wait_until(not_up, 0.05, "the socket", interval=0.01, ignore=(ConnectionRefusedError,))
    with pytest.raises(ConnectionRefusedError):
        wait_until(not_up, 0.05, "the socket")  # an error nobody expected is not swallowed


async def test_eventually_awaits_coroutine_predicates_and_adds_the_detail() -> None:
    polls = itertools.count()

    async def third_poll() -> int:
        return next(polls) >= 2 and 42

    assert await eventually(third_poll, 5, "the third poll", interval=0) == 42
    with pytest.raises(AssertionError, match=r"(?s)never: not within .*\nlog tail"):
        await eventually(lambda: False, 0.05, "never", interval=0.01, detail=lambda: "log tail")

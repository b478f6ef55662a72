"""Display and buttons ports: contracts for every backend, then the emulated extras."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hal.emulated.buttons import EmulatedButtons
from hal.emulated.clock import ManualClock
from hal.emulated.display import EmulatedDisplay
from hal.ports import Buttons, Display, PortError

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(params=["emulated", "emulated-lcd"])
def display(request: pytest.FixtureRequest, clock: ManualClock) -> Display:
    if request.param == "emulated-lcd":
        return EmulatedDisplay(clock, rows=4, columns=20)
    return EmulatedDisplay(clock)


class TestDisplayContract:
    def test_blank_until_first_show(self, display: Display) -> None:
        assert display.lines() == []
        assert display.updated_at is None

    def test_shows_lines_and_stamps_change(self, display: Display, clock: ManualClock) -> None:
        display.show(["Credit", "GBP 12.34"])
        assert display.lines() == ["Credit", "GBP 12.34"]
        assert display.updated_at == START

    def test_same_content_keeps_stamp(self, display: Display, clock: ManualClock) -> None:
        display.show(["Supply OFF"])
        clock.advance(30)
        display.show(("Supply OFF",))
        assert display.updated_at == START
        display.show(["Supply ARMED", "Press A to restore"])
        assert display.updated_at == clock.now() != START

    def test_lines_is_a_copy(self, display: Display) -> None:
        display.show(["a"])
        display.lines().append("b")
        assert display.lines() == ["a"]


class TestEmulatedDisplay:
    def test_geometry_cuts_text_off(self, clock: ManualClock) -> None:
        lcd = EmulatedDisplay(clock, rows=2, columns=8)
        lcd.show(["Balance GBP 12.34", "Debt", "hidden"])
        assert lcd.lines() == ["Balance ", "Debt"]

    def test_a_bare_string_is_one_line(self, clock: ManualClock) -> None:
        lcd = EmulatedDisplay(clock)
        lcd.show("Hello")
        assert lcd.lines() == ["Hello"]

    def test_history_keeps_brief_messages(self, clock: ManualClock) -> None:
        lcd = EmulatedDisplay(clock, history_size=2)
        for n in range(3):
            lcd.show([f"screen {n}"])
            clock.advance(1)
        assert [lines for _, lines in lcd.history] == [["screen 1"], ["screen 2"]]
        assert lcd.history[-1][0] == datetime(2024, 3, 1, 9, 0, 2, tzinfo=UTC)


@pytest.fixture(params=["emulated", "emulated-named"])
def buttons(request: pytest.FixtureRequest) -> Buttons:
    if request.param == "emulated-named":
        return EmulatedButtons(["A", "B"])
    return EmulatedButtons()


class TestButtonsContract:
    async def test_presses_come_out_in_order(self, buttons: Buttons) -> None:
        for name in ["A", "B", "A"]:
            buttons.press(name)
        assert [await buttons.next_press() for _ in range(3)] == ["A", "B", "A"]

    async def test_next_press_waits_for_a_press(self, buttons: Buttons) -> None:
        waiting = asyncio.create_task(buttons.next_press())
        await asyncio.sleep(0)  # one turn: the waiter blocks
        assert not waiting.done()
        buttons.press("B")
        assert await asyncio.wait_for(waiting, 1.0) == "B"

    async def test_two_waiters_each_get_one_press(self, buttons: Buttons) -> None:
        first = asyncio.create_task(buttons.next_press())
        second = asyncio.create_task(buttons.next_press())
        await asyncio.sleep(0)  # one turn: both waiters block
        buttons.press("A")
        buttons.press("B")
        got = await asyncio.wait_for(asyncio.gather(first, second), 1.0)
        assert sorted(got) == ["A", "B"]


class TestEmulatedButtons:
    def test_unknown_button_refused_by_name(self) -> None:
        keys = EmulatedButtons(["A", "B"])
        with pytest.raises(PortError, match="'C'"):
            keys.press("C")
        assert keys.pending == 0

    async def test_overrun_drops_oldest(self) -> None:
        keys = EmulatedButtons(max_pending=2)
        for name in ["1", "2", "3"]:
            keys.press(name)
        assert keys.presses == 3
        assert [await keys.next_press(), await keys.next_press()] == ["2", "3"]

"""Emulated auxiliary load switch output: a relay in memory, with its changes and when, for the
bench port and tests (16.12.1.d)."""

from __future__ import annotations

from collections import deque
from datetime import datetime

from hal.ports import Clock

__all__ = ["EmulatedAuxLoadSwitch"]


class EmulatedAuxLoadSwitch:
    """`hal.peripherals.AuxLoadSwitch` in memory. Off at power-up, as a monostable relay is:
    the firmware drives it from its tariff once it starts."""

    def __init__(self, clock: Clock, *, history_size: int = 32) -> None:
        self._clock = clock
        self._on = False
        self._count = 0
        self._history: deque[tuple[datetime, bool]] = deque(maxlen=history_size)

    @property
    def on(self) -> bool:
        return self._on

    @property
    def operation_count(self) -> int:
        return self._count

    def set(self, on: bool) -> bool:
        if on is self._on:
            return False
        self._on = on
        self._count += 1
        self._history.append((self._clock.now(), on))
        return True

    @property
    def history(self) -> list[tuple[datetime, bool]]:
        """Changes of state, oldest first, with the clock time of each."""
        return list(self._history)

"""Emulated buzzer: remembers what it sounded, for the bench port and tests (clause 8.3)."""

from __future__ import annotations

from collections import deque
from datetime import datetime

from hal.peripherals import Tone
from hal.ports import Clock

__all__ = ["EmulatedBuzzer"]


class EmulatedBuzzer:
    """`hal.peripherals.Buzzer` in memory, with the last tones sounded and when."""

    def __init__(self, clock: Clock, *, history_size: int = 32) -> None:
        self._clock = clock
        self._sounding: Tone | None = None
        self._history: deque[tuple[datetime, Tone]] = deque(maxlen=history_size)
        self.beeps = 0

    def sound(self, tone: Tone) -> None:
        self._history.append((self._clock.now(), tone))
        self.beeps += 1
        # A confirmation beep is over before anyone could ask; the others sound until silenced.
        self._sounding = None if tone is Tone.CONFIRM else tone

    def silence(self) -> None:
        self._sounding = None

    @property
    def sounding(self) -> Tone | None:
        return self._sounding

    @property
    def history(self) -> list[tuple[datetime, Tone]]:
        """Tones sounded, oldest first, with the clock time of each."""
        return list(self._history)

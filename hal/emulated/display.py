"""Emulated display: the text a meter or IHD shows, kept in memory for the bench port to read.

Firmware calls `show`; the bench-control port and tests read `lines()`, `updated_at` and the short
`history` (so a test can see a message that was on screen only for a moment). `updated_at` is the
component's clock time, not the host's, so it is meaningful on a scaled rig. Clauses served: 8.5
(messages in English text), 11.3 (display keeps working with the supply off: it has no link to the
switch at all).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime

from hal.ports import Clock

__all__ = ["EmulatedDisplay"]


class EmulatedDisplay:
    """`hal.ports.Display` in memory, optionally with the geometry of a character LCD.

    Text beyond `rows` lines or `columns` characters is cut off, as a real panel would show it.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        rows: int | None = None,
        columns: int | None = None,
        history_size: int = 32,
    ) -> None:
        self._clock = clock
        self._rows = rows
        self._columns = columns
        self._lines: list[str] = []
        self._updated_at: datetime | None = None
        self._history: deque[tuple[datetime, list[str]]] = deque(maxlen=history_size)

    def show(self, lines: Sequence[str]) -> None:
        if isinstance(lines, str):
            # A bare string is a sequence of characters; one line was meant.
            lines = [lines]
        shown = [str(line)[: self._columns] for line in lines[: self._rows]]
        if shown == self._lines and self._updated_at is not None:
            return
        self._lines = shown
        self._updated_at = self._clock.now()
        self._history.append((self._updated_at, list(shown)))

    def lines(self) -> list[str]:
        return list(self._lines)

    @property
    def updated_at(self) -> datetime | None:
        return self._updated_at

    @property
    def history(self) -> list[tuple[datetime, list[str]]]:
        """The last screens shown, oldest first, each with the clock time it appeared."""
        return [(at, list(lines)) for at, lines in self._history]

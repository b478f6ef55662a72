"""The CPP events a meter holds, expanded into windows of integer instants (16.11).

A recurring event (16.11.4) repeats at the same local wall-clock time, so across a clock change
its occurrences stay at 17:00 local, not at 17:00 UTC. Of overlapping events the one with the
highest id is in force (a later event supersedes an earlier one); a rejected event never is.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import timedelta, tzinfo
from typing import Any

from devices.meter.tariff.calendar import from_us, to_us
from devices.meter.tariff.currency import convert_event
from protocol.tariff import ConversionRate, CppEvent, decode_cpp_event, encode_cpp_event

__all__ = ["CppSchedule", "Window"]

Window = tuple[int, int, int, int]
"""(start us, end us, event id, occurrence number)."""


class CppSchedule:
    def __init__(self, tz: tzinfo, documents: list[dict[str, Any]]) -> None:
        self._tz = tz
        self.events: dict[int, CppEvent] = {}
        for doc in documents:
            event = decode_cpp_event(doc, from_us(0), "cpp event")
            self.events[event.event_id] = event
        self._windows: list[Window] = []
        self._starts: list[int] = []
        self._edges: list[int] = []
        self._longest = 0
        self._build()

    def documents(self) -> list[dict[str, Any]]:
        return [encode_cpp_event(self.events[i]) for i in sorted(self.events)]

    def expand(self, event: CppEvent) -> list[Window]:
        """The occurrences of an event, in time order."""
        duration = to_us(event.end) - to_us(event.start)
        local = event.start.astimezone(self._tz).replace(tzinfo=None)
        repeat = event.recurrence
        windows = []
        for k in range(1 if repeat is None else repeat.count):
            days = 0 if repeat is None else k * repeat.every_days
            start = to_us((local + timedelta(days=days)).replace(tzinfo=self._tz))
            windows.append((start, start + duration, event.event_id, k))
        return windows

    def add(self, event: CppEvent) -> None:
        self.events[event.event_id] = event
        self._build()

    def prune(self, before_us: int) -> list[int]:
        """Forget events whose every occurrence ended by `before_us`; their ids."""
        gone = [i for i, e in self.events.items() if self.expand(e)[-1][1] <= before_us]
        for event_id in gone:
            del self.events[event_id]
        if gone:
            self._build()
        return gone

    def convert(self, rate: ConversionRate) -> None:
        """Prices into another currency (12.1.q)."""
        self.events = {i: convert_event(e, rate) for i, e in self.events.items()}

    def _build(self) -> None:
        windows = sorted(w for e in self.events.values() for w in self.expand(e))
        self._windows = windows
        self._starts = [w[0] for w in windows]
        self._longest = max((w[1] - w[0] for w in windows), default=0)
        self._edges = sorted({w[0] for w in windows} | {w[1] for w in windows})

    def window_at(self, at: int, rejected: list[int]) -> Window | None:
        """The occurrence in force at `at`, if any."""
        if not self._windows:
            return None
        best = None
        # Only windows starting after at - longest can still be in force.
        first = bisect_right(self._starts, at - self._longest)
        for window in self._windows[first : bisect_right(self._starts, at)]:
            in_force = at < window[1] and window[2] not in rejected
            if in_force and (best is None or window[2] > best[2]):
                best = window
        return best

    def next_edge(self, after: int) -> int | None:
        """The first start or end of an occurrence strictly after `after`."""
        index = bisect_right(self._edges, after)
        return self._edges[index] if index < len(self._edges) else None

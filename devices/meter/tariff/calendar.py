"""Local time for the tariff engine: instants as integer microseconds, local days, switch tables.

Instants are integer microseconds since 1970-01-01 UTC (never `datetime.timestamp()`, a float).
Switch entries name local wall-clock times (UK: Europe/London), so a local day lasts 23, 24 or
25 hours and a switch time may not exist (01:30 on the March change) or happen twice (01:30 on
the October change). A time that does not exist switches at the instant the clock jumps over
it; a time that happens twice switches at its first occurrence.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from protocol.errors import LocalProtocolError
from protocol.tariff import Switch

__all__ = [
    "EPOCH",
    "DayTable",
    "SwitchTables",
    "from_us",
    "local_date",
    "local_midnight_us",
    "to_us",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_LOOK_BACK_DAYS = 400  # a switch repeats at least yearly; further back finds nothing new
_CACHE_DAYS = 16
_MINUTE_US = 60 * 10**6
_DAY_US = 24 * 60 * _MINUTE_US


def to_us(when: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch."""
    if when.utcoffset() is None:
        raise LocalProtocolError(f"the tariff engine takes aware times, got naive {when!r}")
    return (when - EPOCH) // _US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def local_date(us: int, tz: tzinfo) -> date:
    return from_us(us).astimezone(tz).date()


def local_instant_us(day: date, minute: int, tz: tzinfo) -> int:
    """The first instant at which the local clock reads `day` `minute` or later."""
    naive = datetime.combine(day, time(minute // 60, minute % 60))
    first = naive.replace(tzinfo=tz, fold=0)
    us = to_us(first)
    if from_us(us).astimezone(tz).replace(tzinfo=None) == naive:
        # Exists; when it happens twice fold=0 is the first occurrence, unless the zone's
        # offsets say otherwise, so take the earlier of the two.
        return min(us, to_us(naive.replace(tzinfo=tz, fold=1)))
    # In a gap: the local clock jumps from before `naive` to after it between these bounds.
    low, high = sorted((us, to_us(naive.replace(tzinfo=tz, fold=1))))
    while low < high:
        middle = (low + high) // 2
        if from_us(middle).astimezone(tz).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle + 1
    return low


def local_midnight_us(day: date, tz: tzinfo) -> int:
    return local_instant_us(day, 0, tz)


@dataclass(frozen=True, slots=True)
class DayTable:
    """One local day: its span and the instants at which the register in force changes.

    `starts[0]` is the day's start with the register carried over from earlier days; each
    later entry is a switch that applies on this day."""

    day: date
    start_us: int
    end_us: int
    starts: tuple[int, ...]
    registers: tuple[int, ...]
    aux_load: tuple[bool, ...]

    def index_at(self, us: int) -> int:
        return bisect_right(self.starts, us) - 1

    def next_after(self, us: int) -> int:
        """The next switch instant after `us` within the day, else the day's end."""
        index = bisect_right(self.starts, us)
        return self.starts[index] if index < len(self.starts) else self.end_us


class SwitchTables:
    """Day tables of a list of switch entries, built on demand and cached.

    Before the first switch of a day, the register of the last switch that applied on an
    earlier day stays in force; before any switch at all, `default` (the lowest register)."""

    def __init__(self, switches: tuple[Switch, ...], default: int, tz: tzinfo) -> None:
        # Stable sort by start: of two entries starting at the same minute, the later one in
        # the document wins (it is applied last).
        self._switches = sorted(switches, key=lambda s: s.start_minute)
        self._default = default
        self._tz = tz
        self._cache: dict[date, DayTable] = {}
        self._last: dict[date, tuple[int, bool] | None] = {}

    def _last_of(self, day: date) -> tuple[int, bool] | None:
        if day not in self._last:
            applying = [s for s in self._switches if s.applies(day)]
            self._last[day] = (applying[-1].register, applying[-1].aux_load) if applying else None
            if len(self._last) > 4 * _LOOK_BACK_DAYS:
                self._last.clear()
        return self._last[day]

    def _carried(self, day: date) -> tuple[int, bool]:
        for back in range(1, _LOOK_BACK_DAYS + 1):
            found = self._last_of(day - timedelta(days=back))
            if found is not None:
                return found
        return self._default, False

    def day(self, day: date) -> DayTable:
        table = self._cache.get(day)
        if table is not None:
            return table
        register, aux = self._carried(day)
        start = local_midnight_us(day, self._tz)
        end = local_midnight_us(day + timedelta(days=1), self._tz)
        # A day of 24 hours has no clock change: its local minutes are evenly spaced.
        plain = end - start == _DAY_US
        starts, registers, auxes = [start], [register], [aux]
        for switch in self._switches:
            if not switch.applies(day):
                continue
            at = (
                start + switch.start_minute * _MINUTE_US
                if plain
                else local_instant_us(day, switch.start_minute, self._tz)
            )
            if at == starts[-1]:  # same instant (or midnight): the later entry replaces
                registers[-1], auxes[-1] = switch.register, switch.aux_load
            else:
                starts.append(at)
                registers.append(switch.register)
                auxes.append(switch.aux_load)
        table = DayTable(
            day=day,
            start_us=start,
            end_us=end,
            starts=tuple(starts),
            registers=tuple(registers),
            aux_load=tuple(auxes),
        )
        if len(self._cache) >= _CACHE_DAYS:
            self._cache.clear()
        self._cache[day] = table
        return table

"""The meter's registers as the optical port reads them: a small interface, not their internals.

Each part of the meter that keeps registers (the cumulative register and demand here; the
time-of-use and block registers of a tariff) offers them as a `ReadingSource`: a list of
`Reading`s, each named by its OBIS identifier (IEC 62056-61) and formatted as the meter shows
it. The optical port's data readout (IEC 62056-21) lists every reading of every source the
meter registered (`MeterFirmware.add_reading_source`), so a new register appears on the port
without the port knowing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from protocol.iec62056_21.obis import Obis

__all__ = ["Reading", "ReadingSource", "readings_of"]


@dataclass(frozen=True)
class Reading:
    """One register: its OBIS identifier, a short name, its value as shown and its unit."""

    obis: Obis
    name: str
    value: str
    unit: str = ""


class ReadingSource(Protocol):
    def readings(self) -> list[Reading]: ...


class _Function:
    def __init__(self, read: Callable[[], list[Reading]]) -> None:
        self._read = read

    def readings(self) -> list[Reading]:
        return self._read()


def readings_of(read: Callable[[], list[Reading]]) -> ReadingSource:
    """A source from a function (for a register kept by the meter itself)."""
    return _Function(read)

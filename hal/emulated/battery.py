"""Emulated battery: present or removed, with a charge level set from the bench (8.9, 18.11.b)."""

from __future__ import annotations

from hal.ports import PortError

__all__ = ["LOW_LEVEL_PERCENT", "EmulatedBattery"]

#: Below this a battery-powered meter warns that its battery needs replacing.
LOW_LEVEL_PERCENT = 10


class EmulatedBattery:
    """`hal.peripherals.Battery` in memory."""

    def __init__(self, level_percent: int = 100, *, present: bool = True) -> None:
        self._level = 0
        self._present = present
        self.set_level(level_percent)

    @property
    def present(self) -> bool:
        return self._present

    @property
    def level_percent(self) -> int:
        return self._level if self._present else 0

    @property
    def low(self) -> bool:
        return self.level_percent < LOW_LEVEL_PERCENT

    def set_level(self, percent: int) -> None:
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise PortError(f"battery level must be 0..100 %, not {percent!r}")
        self._level = percent

    def set_present(self, present: bool) -> None:
        """Fit (True) or remove (False) the battery."""
        self._present = present

"""Emulated tamper switches, opened and closed from the bench port (clauses 18.11.a-c).

A change is queued for the firmware, so one that is opened and closed again between two looks
of the firmware is still seen twice, as a latched tamper input on a real meter would be.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

from hal.peripherals import TamperInput
from hal.ports import PortError

__all__ = ["EmulatedTamperSwitches"]


class EmulatedTamperSwitches:
    """`hal.peripherals.TamperSwitches` in memory; `set` is the bench's hand on the cover."""

    def __init__(self, inputs: Iterable[TamperInput], *, max_pending: int = 64) -> None:
        self._inputs = frozenset(inputs)
        self._active: set[TamperInput] = set()
        self._changes: deque[tuple[TamperInput, bool]] = deque(maxlen=max_pending)
        self._ready = asyncio.Event()

    @property
    def inputs(self) -> frozenset[TamperInput]:
        return self._inputs

    def active(self, tamper: TamperInput) -> bool:
        return tamper in self._active

    def set(self, tamper: TamperInput, active: bool) -> bool:
        """Open (active) or close an input; True if that changed it."""
        if tamper not in self._inputs:
            names = sorted(i.value for i in self._inputs)
            raise PortError(f"no tamper input {tamper.value!r}; this device has {names}")
        if (tamper in self._active) == active:
            return False
        if active:
            self._active.add(tamper)
        else:
            self._active.discard(tamper)
        self._changes.append((tamper, active))
        self._ready.set()
        return True

    async def next_change(self) -> tuple[TamperInput, bool]:
        while not self._changes:
            self._ready.clear()
            await self._ready.wait()
        return self._changes.popleft()

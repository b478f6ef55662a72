"""Emulated push buttons, pressed from the bench-control port or a test.

Presses queue in order and firmware takes them one at a time with `await next_press()`. A device
declares the buttons it has; pressing any other is refused with the names it does have, so a
typo at the bench is an error, not a silently ignored press. Clauses served: 8.6.b (operations
need single presses only, so a press is one name), 19.1.11.b (a button wakes the gas meter).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

from hal.ports import PortError

__all__ = ["EmulatedButtons"]


class EmulatedButtons:
    """`hal.ports.Buttons` in memory. Use from the event loop's thread.

    At most `max_pending` presses wait; beyond that the oldest is dropped, as a real key buffer
    would overrun, so a bench script hammering a button cannot grow memory without bound.
    """

    def __init__(self, names: Iterable[str] | None = None, *, max_pending: int = 32) -> None:
        self.names: frozenset[str] | None = None if names is None else frozenset(names)
        self._pending: deque[str] = deque(maxlen=max_pending)
        self._ready = asyncio.Event()
        self.presses = 0

    def press(self, name: str) -> None:
        if self.names is not None and name not in self.names:
            raise PortError(f"no button {name!r}; this device has {sorted(self.names)}")
        self._pending.append(name)
        self.presses += 1
        self._ready.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def next_press(self) -> str:
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        return self._pending.popleft()

"""Real-time clock backend on real hardware: the host's system clock.

We never set the host clock (a rig shares it with other software, and setting it needs root), so
`adjust` keeps an offset that `now()` adds: the component sees the time the head-end set (clause
15.1) while the host keeps NTP time. Scale is 1.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from hal.ports import require_utc, uk_local

__all__ = ["SystemClock", "uk_local"]


class SystemClock:
    """`hal.ports.Clock` over the host clock (real RTC backend)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    @property
    def scale(self) -> float:
        return 1.0

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def adjust(self, new_now: datetime) -> timedelta:
        step = require_utc(new_now) - self.now()
        self._offset += step
        return step

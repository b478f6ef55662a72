"""Budgets timed on the clock port: how often something may happen, per key.

`TokenBuckets` is a token bucket per key (a meter, a sender): `capacity` at once, refilled at
`per_s` tokens a second of the component's clock (`Clock.monotonic`, so an accelerated rig
refills as fast as its time runs). `OncePer` lets one thing through per key per period: what
keeps a flood of refused frames from turning into a flood of security events.
Not persisted: a restart starts with full buckets, which only ever lets a little more through.
"""

from __future__ import annotations

from collections.abc import Hashable

from hal.ports import Clock

__all__ = ["OncePer", "TokenBuckets"]


class TokenBuckets:
    """A token bucket per key (see the module docstring)."""

    def __init__(self, clock: Clock, capacity: float, per_s: float) -> None:
        self._clock, self._capacity, self._per_s = clock, capacity, per_s
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def take(self, key: Hashable) -> bool:
        """Spend one token of `key`'s bucket; False (nothing spent) when it is empty."""
        now = self._clock.monotonic()
        tokens, since = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - since) * self._per_s)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True


class OncePer:
    """True for the first call per key in every `period_s` seconds of the clock."""

    def __init__(self, clock: Clock, period_s: float) -> None:
        self._clock, self._period_s = clock, period_s
        self._last: dict[Hashable, float] = {}

    def __call__(self, key: Hashable) -> bool:
        now = self._clock.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._period_s:
            return False
        self._last[key] = now
        return True

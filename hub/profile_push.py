"""Interval data for the scheduled pushes: what each meter recorded since its last push (6.1.3,
12.1.s-u, 16.15).

The meters keep their half-hour profile (`devices.meter.profile_store`) and answer the tunnelled
`read_profile` command with the closed intervals that start in a time range. At each of a
meter's scheduled pushes (`hub.push_schedule`) the hub reads the intervals from the end of what
it last pushed up to now (a few pages if the meter says there are more) and the push carries
them, through the durable outbox, in the meter's stream. The end of what was pushed moves in
the same SQLite transaction as the push enters the outbox, so a hub killed at any instant pushes
each interval once; a meter that cannot be read leaves the mark where it was and the next push
carries those intervals too.

A change of supplier (12.6, 6.1.4) moves the mark to the instant of the change, in the change's
transaction (`supplier_changed`): the new supplier's pushes carry nothing recorded before it.
Intervals the old supplier had not been pushed yet are not pushed to anyone: they stay in the
meter's profile (18.5), where the old supplier's pushes already in the outbox leave off.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from firmware.rig import DeviceConfig
from hal.ports import Clock, NonVolatileStore, Tx
from protocol.errors import SmartMeterError
from protocol.json_fields import JsonObject

__all__ = ["FIRST_WINDOW", "ProfilePush"]

LOGGER = logging.getLogger(__name__)
_NAMESPACE = "profile_push"
#: What the first push of a meter carries: the day before it.
FIRST_WINDOW = timedelta(days=1)
#: Pages of `read_profile` (96 intervals each) one push reads at most; the rest goes next time.
MAX_PAGES = 4
#: tunnel(meter, {"command", "args"}) -> the meter's answer {"ok", "data" | "error"}
Tunnel = Callable[[DeviceConfig, JsonObject], Awaitable[JsonObject]]


class ProfilePush:
    """Supplies `hub.push_schedule.PushSchedule` with each meter's new interval data."""

    def __init__(self, store: NonVolatileStore, clock: Clock, tunnel: Tunnel) -> None:
        self._store, self._clock, self._tunnel = store, clock, tunnel

    def _mark(self, device: DeviceConfig) -> datetime:
        saved = self._store.get(_NAMESPACE, device.name)
        if isinstance(saved, str):
            return datetime.fromisoformat(saved)
        return self._clock.now() - FIRST_WINDOW

    async def since_last_push(self, device: DeviceConfig) -> JsonObject:
        """The intervals recorded since the last push (`from`, `to`: what they cover; `more`
        when some are left for the next push), or `error` when the meter could not be read."""
        start, now = self._mark(device), self._clock.now()
        intervals: list[JsonObject] = []
        answer: JsonObject = {}
        end = start
        for _page in range(MAX_PAGES):
            try:
                answer = await self._read(device, end, now)
            except SmartMeterError as exc:
                LOGGER.info("profile of %s not read: %s", device.name, exc)
                return {"from": start.isoformat(), "error": str(exc)}
            page = answer.get("intervals")
            if not isinstance(page, list) or not page:
                break
            try:
                last = page[-1]
                end = datetime.fromisoformat(str(last["start"])) + timedelta(
                    minutes=int(last["minutes"])
                )
            except (KeyError, TypeError, ValueError):
                LOGGER.warning("%s answered read_profile with %r", device.name, page[-1])
                return {"from": start.isoformat(), "error": "malformed interval data"}
            intervals += page
            if answer.get("more") is not True:
                break
        return {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "minutes": answer.get("minutes"),
            "unit": answer.get("unit"),
            "intervals": intervals,
            "more": answer.get("more") is True,
        }

    async def _read(self, device: DeviceConfig, start: datetime, end: datetime) -> JsonObject:
        command = {"from": start.isoformat(), "to": end.isoformat()}
        answer = await self._tunnel(device, {"command": "read_profile", "args": command})
        data = answer.get("data")
        if answer.get("ok") is not True or not isinstance(data, dict):
            raise SmartMeterError(f"{device.name}: {answer.get('error', 'no answer')}")
        return data

    def supplier_changed(self, device: str, at: datetime, tx: Tx) -> None:
        """`device` changed supplier at `at` (in `tx`): later pushes start no earlier."""
        saved = self._store.get(_NAMESPACE, device, tx=tx)
        if not isinstance(saved, str) or datetime.fromisoformat(saved) < at:
            self._store.put(_NAMESPACE, device, at.isoformat(), tx=tx)

    def pushed(self, device: DeviceConfig, profile: JsonObject, tx: Tx) -> None:
        """The push carrying `profile` entered the outbox (in `tx`): the next starts after it."""
        end = profile.get("to")
        if isinstance(end, str) and "error" not in profile:
            self._store.put(_NAMESPACE, device.name, end, tx=tx)

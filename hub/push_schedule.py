"""Scheduled exchanges with the head-end: pushed readings, periodic sync, held messages
(clauses 6.1.3 push, 12.1.o, 12.1.s-u, 12.4, 18.8, 19.1.10).

Each task runs in the slots of its interval, aligned on the epoch and shifted by
`exchange.offset_s` (the data transmission time, 12.1.s): every `exchange.interval_s` the
messages held for the next exchange join the outbox and rested streams try again; every
`push.<device>.interval_s` (0: suppressed) the device's registers are read over the HAN and
pushed as a reading in the device's own stream, with the HAN signal quality (12.1.r); every `sync.interval_s` a sync message carries
the hub's clock, its settings, every meter's registers and the gas conversion factors (12.4). The last slot run of each task is kept in the store, so a hub
that restarts neither repeats a slot nor skips the one that fell due while it was down.

Interval (profile) data is the meter's profile store's to hand over: this module calls
`profile_hook(device)` when one is given (`hub.profile_push`: the intervals since the last push)
and pushes what it returns with the reading, calling `profile_pushed` in the transaction that
puts the push in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from firmware.clock_waits import wait_on_clock
from firmware.rig import DeviceConfig, DeviceKind
from hal.ports import Clock, NonVolatileStore, Tx
from protocol.errors import SmartMeterError
from protocol.json_fields import JsonObject
from protocol.metering_units import (
    DEFAULT_CALORIFIC_VALUE,
    GAS_CORRECTION_FACTOR,
    metering_registers,
)
from protocol.wan import UplinkKind

from .hub_config import HubConfig
from .outbox import Outbox

__all__ = ["PushSchedule", "slot_after"]

LOGGER = logging.getLogger(__name__)
_NAMESPACE = "push_schedule"
#: Longest wait between two looks at the settings (they may change remotely).
RECHECK_S = 300.0

ReadRegisters = Callable[[DeviceConfig], Awaitable[dict[str, int]]]
ProfileHook = Callable[[DeviceConfig], Awaitable[JsonObject]]
#: profile_pushed(device, the profile pushed, the outbox's transaction)
ProfilePushed = Callable[[DeviceConfig, JsonObject, Tx], None]
#: The HAN link quality of a device as the hub hears it (12.1.r: short-range signal quality).
SignalOf = Callable[[DeviceConfig], dict[str, int | None]]


def slot_after(when: float, interval_s: float, offset_s: float) -> float:
    """The first slot (epoch seconds) strictly after `when` of a schedule."""
    return offset_s + (math.floor((when - offset_s) / interval_s) + 1) * interval_s


class PushSchedule:
    def __init__(
        self,
        config: HubConfig,
        outbox: Outbox,
        clock: Clock,
        store: NonVolatileStore,
        devices: list[DeviceConfig],
        read: ReadRegisters,
        profile_hook: ProfileHook | None = None,
        signal: SignalOf | None = None,
        profile_pushed: ProfilePushed | None = None,
    ) -> None:
        self._config, self._outbox, self._clock, self._store = config, outbox, clock, store
        self._meters = [d for d in devices if d.kind is not DeviceKind.IHD]
        self._read, self._profile_hook, self._signal = read, profile_hook, signal
        self._profile_pushed = profile_pushed
        self._changed = asyncio.Event()

    def settings_changed(self) -> None:
        self._changed.set()

    def _tasks(self) -> dict[str, tuple[float, Callable[[], Awaitable[None]]]]:
        """task name -> (interval in seconds, what it does); interval 0 means off."""
        tasks: dict[str, tuple[float, Callable[[], Awaitable[None]]]] = {
            "exchange": (float(self._config.get("exchange.interval_s")), self._exchange),
            "sync": (float(self._config.get("sync.interval_s")), self._sync),
        }
        for device in self._meters:
            tasks[f"push.{device.name}"] = (
                self._config.push_interval_s(device.name),
                lambda device=device: self._push(device),  # type: ignore[misc]
            )
        return tasks

    async def run(self) -> None:
        """Run each task in its slots; runs until cancelled."""
        while True:
            self._changed.clear()
            now = self._clock.now().timestamp()
            offset = float(self._config.get("exchange.offset_s"))
            wait = RECHECK_S
            for name, (interval, action) in self._tasks().items():
                if interval <= 0:
                    continue
                last = self._store.get(_NAMESPACE, name)
                if last is None:  # first start: the schedule begins now
                    self._store.put(_NAMESPACE, name, now)
                    last = now
                due = slot_after(float(last), interval, offset)
                if due <= now:
                    await self._run_task(name, action, now)
                    due = slot_after(now, interval, offset)
                wait = min(wait, due - now)
            with contextlib.suppress(TimeoutError):
                await wait_on_clock(self._clock, self._changed.wait(), max(wait, 0.0))

    async def _run_task(self, name: str, action: Callable[[], Awaitable[None]], now: float) -> None:
        try:
            await action()
        except SmartMeterError as exc:  # a meter away from the HAN: the next slot tries again
            LOGGER.info("scheduled %s not done: %s", name, exc)
        self._store.put(_NAMESPACE, name, now)

    async def _exchange(self) -> None:
        released = self._outbox.release()
        LOGGER.debug("scheduled exchange: %d held messages released", released)

    async def reading(self, device: DeviceConfig, *, profile: bool = True) -> JsonObject:
        """The registers of `device`, read now over the HAN, as a reading's body, with the
        interval data since the last push when `profile`."""
        attributes = await self._read(device)
        body: JsonObject = {
            "device": device.name,
            "read_at": self._clock.now().astimezone(UTC).isoformat(),
            "attributes": dict(attributes),
            **metering_registers(attributes),
        }
        if self._signal is not None:
            body["signal"] = dict(self._signal(device))
        if profile and self._profile_hook is not None:
            body["profile"] = await self._profile_hook(device)
        return body

    async def _push(self, device: DeviceConfig) -> None:
        body = await self.reading(device)
        with self._store.transaction() as tx:
            self._outbox.enqueue(device.name, UplinkKind.READING, body, tx)
            profile = body.get("profile")
            if self._profile_pushed is not None and isinstance(profile, dict):
                self._profile_pushed(device, profile, tx)

    async def _sync(self) -> None:
        registers: dict[str, Any] = {}
        for device in self._meters:
            try:
                registers[device.name] = await self.reading(device, profile=False)
            except SmartMeterError as exc:
                registers[device.name] = {"error": str(exc)}
        body: JsonObject = {
            "clock": datetime.fromtimestamp(self._clock.now().timestamp(), UTC).isoformat(),
            "config": self._config.snapshot(),
            "registers": registers,
            # The gas conversion the registers' kWh use (12.4: PTZ and CV), as exact decimals.
            "conversion": {
                "correction_factor": str(GAS_CORRECTION_FACTOR),
                "calorific_value_mj_m3": str(DEFAULT_CALORIFIC_VALUE),
            },
        }
        self._outbox.enqueue("hub", UplinkKind.SYNC, body)

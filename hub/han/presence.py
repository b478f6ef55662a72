"""Who is really on the HAN: when the hub last heard each device, and whether it answers.

zigpy keeps a device it has interviewed for ever; a meter that was switched off or killed stays
"joined" to it. The hub notes the time (from its clock port) of every frame it receives from a
device, and asks a device it has not heard for `QUIET_S` whether it is there (a ZDO NWK_addr_req,
which the device's stack answers). A device that does not answer is shown as not joined, with the
time it was last heard, and the HAN communication error (B.7.1) is logged for it; when it is heard
again it is joined again and B.7.2 is logged. Probes of an absent device come every `AWAY_PROBE_S`
so its return is noticed soon.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import zigpy.device

from firmware.clock_waits import sleep_real
from firmware.rig import DeviceConfig, Rig
from hal.ports import Clock
from protocol.event_codes import EventCode
from protocol.ieee802154 import eui64_to_str

from .commissioning import RecordEvent

__all__ = ["AWAY_PROBE_S", "PROBE_TIMEOUT_S", "QUIET_S", "Presence", "Seen"]

LOGGER = logging.getLogger(__name__)
#: Real seconds a device may stay silent before the hub asks whether it is there.
QUIET_S = 15.0
#: Real seconds between probes of a device that did not answer.
AWAY_PROBE_S = 2.0
PROBE_TIMEOUT_S = 3.0
#: A device needs this many probes unanswered in a row to be taken as gone.
MISSED_PROBES = 2


@dataclass
class Seen:
    """What the hub knows of one device's presence."""

    heard_utc: datetime | None = None
    heard_s: float | None = None  # clock-monotonic
    missed: int = 0

    @property
    def away(self) -> bool:
        return self.missed >= MISSED_PROBES


class Presence:
    """Last heard times and probes of the rig's devices."""

    def __init__(
        self,
        rig: Rig,
        clock: Clock,
        record: RecordEvent,
        device_of: Callable[[DeviceConfig], zigpy.device.Device | None],
    ) -> None:
        self._rig = rig
        self._clock = clock
        self._record = record
        self._device_of = device_of
        self.seen: dict[str, Seen] = {name: Seen() for name in rig.devices}
        self._by_eui = {eui64_to_str(d.eui64): d.name for d in rig.devices.values()}

    def heard(self, eui64: str) -> None:
        """A frame came from the device with this EUI-64."""
        name = self._by_eui.get(eui64)
        if name is None:
            return
        seen = self.seen[name]
        was_away = seen.away
        seen.heard_utc, seen.heard_s, seen.missed = self._clock.now(), self._clock.monotonic(), 0
        if was_away:
            LOGGER.info("%s is back on the HAN", name)
            self._record(EventCode.COMMUNICATION_OK_HAN, {"device": name, "detail": "heard again"})

    def present(self, name: str) -> bool:
        return not self.seen[name].away

    def describe(self, name: str) -> dict[str, Any]:
        seen = self.seen[name]
        heard = None if seen.heard_utc is None else seen.heard_utc.isoformat()
        return {"answering": not seen.away, "last_heard": heard}

    async def watch(self) -> None:
        """Probe devices that have been quiet; runs until cancelled."""
        while True:
            for name, config in self._rig.devices.items():
                device = self._device_of(config)
                if device is not None and self._quiet(name):
                    await self._probe(name, device)
            await sleep_real(self._clock, AWAY_PROBE_S)

    def _quiet(self, name: str) -> bool:
        seen = self.seen[name]
        if seen.away:
            return True
        if seen.heard_s is None:
            return False  # not heard yet: the interview is under way
        return (self._clock.monotonic() - seen.heard_s) / self._clock.scale >= QUIET_S

    async def _probe(self, name: str, device: zigpy.device.Device) -> None:
        seen = self.seen[name]
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await device.zdo.NWK_addr_req(device.ieee, 0x00, 0)
        except Exception as exc:  # no answer, a delivery failure, a radio being reconnected
            seen.missed += 1
            if seen.missed == MISSED_PROBES:
                LOGGER.warning("%s does not answer on the HAN (%r)", name, exc)
                detail = {"device": name, "detail": "does not answer"}
                self._record(EventCode.COMMUNICATION_ERROR_HAN, {**detail, **self.describe(name)})

"""Who may join the HAN: the trust centre's commissioning window, removal and re-commissioning.

The hub admits exactly the devices of its rig, each with its own install-code link key (clause
17.2.15, DESIGN.md §3): it gives the NCP's trust centre each device's key and opens joining for
it, and renews that before bellows' permit (at most 254 s) runs out. A device can be removed
(clause 17.2.6): it is asked to leave, the trust centre erases its keys, and its key is no
longer offered until it is commissioned again. Who is removed survives a restart of the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import zigpy.types as t

from firmware.clock_waits import sleep_real
from firmware.rig import DeviceConfig, Rig
from hal.ports import Clock
from protocol.errors import SmartMeterError
from protocol.event_codes import EventCode
from protocol.ieee802154 import eui64_to_str

from .known_devices import KnownDevices
from .se_controller import SmartEnergyController

__all__ = ["PERMIT_S", "Commissioning", "DeviceUnavailable", "ieee_of"]

LOGGER = logging.getLogger(__name__)
#: bellows accepts at most 254 s per permit; the hub re-opens the window before it closes.
PERMIT_S = 254
PERMIT_RENEW_S = PERMIT_S - 30
#: How long a removal waits for the device to answer Mgmt_Leave_req before the trust centre
#: removes it anyway (zigpy gives a router 7 s).
LEAVE_WAIT_S = 8.0
LEAVE_POLL_S = 0.05
RecordEvent = Callable[[EventCode, dict[str, Any]], None]


class DeviceUnavailable(SmartMeterError):
    """The device named in a request is not on the HAN or did not answer."""


def ieee_of(config: DeviceConfig) -> t.EUI64:
    return t.EUI64.convert(eui64_to_str(config.eui64))


class Commissioning:
    """The commissioning window and the removed devices of one hub."""

    def __init__(
        self,
        rig: Rig,
        known: KnownDevices,
        clock: Clock,
        record: RecordEvent,
        app: Callable[[], SmartEnergyController | None],
    ) -> None:
        self._rig = rig
        self._known = known
        self._clock = clock
        self._record = record
        self._app = app
        # Held while a device's key is given to or taken from the trust centre, so that the
        # periodic re-permit cannot hand back the key of a device being removed.
        self._keys_lock = asyncio.Lock()

    async def keep_permitting(self) -> None:
        """Hold the commissioning window open for the rig's devices, and only for them."""
        while True:
            await self.permit_all()
            await sleep_real(self._clock, PERMIT_RENEW_S)

    async def permit_all(self) -> None:
        for device in self._rig.devices.values():
            async with self._keys_lock:
                if not self._known.decommissioned(device.name):
                    await self._permit(device)

    async def _permit(self, config: DeviceConfig) -> None:
        app = self._app()
        if app is None:
            return  # the radio is being reconnected; the window reopens once it is back
        with contextlib.suppress(Exception):  # a radio that fails here is reconnected elsewhere
            await app.permit_with_link_key(ieee_of(config), t.KeyData(config.link_key), PERMIT_S)

    async def remove(self, config: DeviceConfig) -> dict[str, Any]:
        """Remove (disassociate) a device from the HAN (clause 17.2.6).

        On the air: a ZDO Mgmt_Leave_req (no rejoin) to the device, which answers and leaves
        with a NWK Leave indication; then EZSP removeDevice, for which the trust centre sends a
        NWK Leave request (the backstop for a device that did not answer) and erases the
        device's link key and transient key. From then on the hub no longer offers the device's
        install-code key, so it cannot join again until `commission`.
        """
        app = self._app()
        if app is None:
            raise DeviceUnavailable("the HAN is not formed yet")
        ieee = ieee_of(config)
        started = self._clock.monotonic()
        async with self._keys_lock:
            self._known.set_decommissioned(config.name, True)
            self._known.forget(str(ieee))
            device = app.devices.get(ieee)
            answered = False
            if device is not None:
                # zigpy sends Mgmt_Leave_req and forgets the device once it answers.
                await app.remove(ieee, remove_children=False, rejoin=False)
                waited = 0.0
                while ieee in app.devices and waited < LEAVE_WAIT_S:
                    await sleep_real(self._clock, LEAVE_POLL_S)
                    waited += LEAVE_POLL_S
                answered = ieee not in app.devices
                await app.force_remove(device)
                app.devices.pop(ieee, None)
            else:
                # Not on the network now: the trust centre still forgets its keys.
                await app.remove_device_keys(ieee)
        elapsed = (self._clock.monotonic() - started) / self._clock.scale
        LOGGER.info("removed %s from the HAN in %.3f s", config.name, elapsed)
        self._record(
            EventCode.DEVICE_LEFT,
            {
                "device": config.name,
                "eui64": str(ieee),
                "reason": "removed by the hub",
                "answered_leave": answered,
            },
        )
        return {"device": config.name, "removed": True, "answered_leave": answered}

    async def commission(self, config: DeviceConfig) -> dict[str, Any]:
        """Commission a device (again): give the trust centre its install-code key and open
        joining, so the device — which keeps trying — joins on its next attempt."""
        if self._app() is None:
            raise DeviceUnavailable("the HAN is not formed yet")
        async with self._keys_lock:
            self._known.set_decommissioned(config.name, False)
            await self._permit(config)
        LOGGER.info("commissioned %s: its install-code key is with the trust centre", config.name)
        return {"device": config.name, "commissioned": True}

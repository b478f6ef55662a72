"""Who may join the HAN: the trust centre's commissioning window, removal and re-commissioning.

The hub admits only devices of its rig, each with its own install-code link key (clause
17.2.15, DESIGN.md §3): it gives the NCP's trust centre each device's key and opens joining for
it, and renews that before bellows' permit (at most 254 s) runs out. Whose keys it takes is the
rig's `[hub] admit`: every device's, from the rig file (RIG, a premises that joins by itself),
or only those whose install code was handed to the hub out of band through the head-end during
an installation (HANDED, clauses 17.2.9, 20.4.2.b): the window opens for a device when its code
arrives and closes when the last device waiting for it has joined. A device can be removed
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
from firmware.rig import AdmitPolicy, DeviceConfig, Rig
from hal.ports import Clock
from protocol.errors import SmartMeterError
from protocol.event_codes import EventCode
from protocol.ieee802154 import eui64_to_str
from protocol.zigbee_security import link_key_from_install_code

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
        self._handed = rig.hub.admit is AdmitPolicy.HANDED
        #: Devices whose code was handed over and that have not joined yet (HANDED only).
        on_han = known.addresses()
        self.waiting: set[str] = {
            name
            for name in known.handed()
            if name in rig.devices
            and not known.decommissioned(name)
            and eui64_to_str(rig.devices[name].eui64) not in on_han
        }

    async def keep_permitting(self) -> None:
        """Hold the commissioning window open for the rig's devices, and only for them."""
        while True:
            await self.permit_all()
            await sleep_real(self._clock, PERMIT_RENEW_S)

    async def permit_all(self) -> None:
        for device in self._rig.devices.values():
            if self._handed and device.name not in self.waiting:
                continue  # no code handed over, or joined already: the window stays shut
            async with self._keys_lock:
                if not self._known.decommissioned(device.name):
                    await self._permit(device)

    def link_key(self, config: DeviceConfig) -> bytes | None:
        """The link key the trust centre takes for a device: from the rig file, or (HANDED)
        from the install code handed over; None when no code was."""
        if not self._handed:
            return config.link_key
        code = self._known.handed().get(config.name)
        return None if code is None else link_key_from_install_code(bytes.fromhex(code))

    async def _permit(self, config: DeviceConfig) -> None:
        app = self._app()
        key = self.link_key(config)
        if app is None or key is None:
            return  # the radio is being reconnected; the window reopens once it is back
        with contextlib.suppress(Exception):  # a radio that fails here is reconnected elsewhere
            await app.permit_with_link_key(ieee_of(config), t.KeyData(key), PERMIT_S)

    async def hand_install_code(self, config: DeviceConfig, install_code: bytes) -> dict[str, Any]:
        """An install code handed over out of band (17.2.9, 20.4.2.b): keep it, give the trust
        centre its key and open the window for this device (DecodeError: a bad code)."""
        link_key_from_install_code(install_code)  # its length and CRC, or DecodeError
        if self._app() is None:
            raise DeviceUnavailable("the HAN is not formed yet")
        async with self._keys_lock:
            self._known.hand(config.name, install_code)
            self._known.set_decommissioned(config.name, False)
            self.waiting.add(config.name)
            await self._permit(config)
        LOGGER.info("install code of %s handed over: joining open for it", config.name)
        return {"device": config.name, "window_s": PERMIT_S, "admit": self._rig.hub.admit.value}

    async def joined(self, config: DeviceConfig) -> None:
        """A device came up: once nobody else waits for the window, close it (HANDED)."""
        if not self._handed or config.name not in self.waiting:
            return
        self.waiting.discard(config.name)
        app = self._app()
        if not self.waiting and app is not None:
            with contextlib.suppress(Exception):
                await app.permit(0)
            LOGGER.info("every handed-over device has joined: commissioning window closed")

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
        if self.link_key(config) is None:
            raise DeviceUnavailable(
                f"no install code of {config.name} was handed to the hub: install it first"
            )
        async with self._keys_lock:
            self._known.set_decommissioned(config.name, False)
            if self._handed:
                self.waiting.add(config.name)
            await self._permit(config)
        LOGGER.info("commissioned %s: its install-code key is with the trust centre", config.name)
        return {"device": config.name, "commissioned": True}
